#!/usr/bin/env node
// Exports a Hugging Face Llama checkpoint directory (FlexiServe's input) to a GGUF v3 file that llama.cpp loads as
// architecture "llama", so that llama.cpp can be timed on exactly the same weights (BENCHMARKS.md's comparison).
//
//   node export-gguf.mjs --model <checkpoint dir> --out <file.gguf> --type f16|q8_0|q4_0 --tokenizer <tokenizer.json>
//
// Only the base Llama tensors are written; FlexiDepth's routers and adapters (and anything else) are skipped and
// counted. Tensors are read one at a time, in chunks of rows, with fs.readSync, and the file is written as it goes
// (under a temporary name renamed at the end), so an 8B checkpoint needs well under 1 GB of memory. No Python: the
// safetensors parsing, the Q/K permutation of convert_hf_to_gguf.py, f32 -> f16 (round to nearest even) and the
// Q8_0 / Q4_0 block quantization (as ggml's reference quantize_row_q8_0_ref / quantize_row_q4_0_ref) are here.
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "./args.mjs";

// ---------------------------------------------------------------- arguments

const USAGE = "usage: node export-gguf.mjs --model <checkpoint dir> --out <file.gguf> --type f16|q8_0|q4_0 "
    + "--tokenizer <tokenizer.json> [--name <general.name>] [--chunk-mb 64]";

// ---------------------------------------------------------------- GGML / GGUF constants

const GGML_TYPE = {F32: 0, F16: 1, Q4_0: 2, Q8_0: 8};
const GGML_BLOCK = {
    [GGML_TYPE.F32]: {elems: 1, bytes: 4},
    [GGML_TYPE.F16]: {elems: 1, bytes: 2},
    [GGML_TYPE.Q4_0]: {elems: 32, bytes: 18},
    [GGML_TYPE.Q8_0]: {elems: 32, bytes: 34},
};
const TYPE_NAMES = {0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0"};
const OUT_TYPES = {
    f16: {ggml: GGML_TYPE.F16, fileType: 1},  // LLAMA_FTYPE_MOSTLY_F16
    q8_0: {ggml: GGML_TYPE.Q8_0, fileType: 7}, // LLAMA_FTYPE_MOSTLY_Q8_0
    q4_0: {ggml: GGML_TYPE.Q4_0, fileType: 2}, // LLAMA_FTYPE_MOSTLY_Q4_0
};
const GGUF_VT = {UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10};
// llama.cpp's llama_token_type / gguf-py TokenType
const TOKEN_TYPE = {NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5};
const ALIGNMENT = 32;

// ---------------------------------------------------------------- number conversions

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary32 bits -> binary16 bits, round to nearest even; overflow to +-inf, subnormals kept, NaN kept NaN. */
export function f32BitsToF16(x) {
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
    const e = exp - 112; // rebias 127 -> 15
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign; // below half the smallest subnormal (2^-25): +-0
        const m = mant | 0x800000;
        const shift = 14 - e; // 14..24
        let h = m >>> shift;
        const rem = m & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && (h & 1) !== 0)) h++; // a carry into the exponent is still right
        return sign | h;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // may carry up to 0x7c00 = inf: right
    return sign | h;
}

export function f32ToF16(v) {
    f32[0] = v;
    return f32BitsToF16(u32[0]);
}

/** binary16 bits -> number (exact). */
export function f16ToF32(h) {
    const sign = (h & 0x8000) ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 0x1f) return mant ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const F16_TABLE = (() => {
    const t = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16ToF32(h);
    return t;
})();

// ---------------------------------------------------------------- safetensors

const ST_DTYPES = {F32: 4, F16: 2, BF16: 2};

function readSafetensorsHeader(file) {
    const fd = fs.openSync(file, "r");
    try {
        const lenBuf = Buffer.alloc(8);
        if (fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new Error(`${file}: too short for a safetensors header`);
        const len = lenBuf.readBigUInt64LE(0);
        if (len > 100_000_000n) throw new Error(`${file}: header of ${len} bytes is implausible`);
        const n = Number(len);
        const hdr = Buffer.alloc(n);
        if (fs.readSync(fd, hdr, 0, n, 8) !== n) throw new Error(`${file}: truncated header`);
        const json = JSON.parse(hdr.toString("utf8"));
        const tensors = new Map();
        for (const [name, info] of Object.entries(json)) {
            if (name === "__metadata__") continue;
            tensors.set(name, {file, dtype: info.dtype, shape: info.shape,
                begin: 8 + n + info.data_offsets[0], end: 8 + n + info.data_offsets[1]});
        }
        return tensors;
    } finally {
        fs.closeSync(fd);
    }
}

function readCheckpointTensors(dir) {
    const single = path.join(dir, "model.safetensors");
    const index = path.join(dir, "model.safetensors.index.json");
    const all = new Map();
    let files;
    if (fs.existsSync(index)) {
        const map = JSON.parse(fs.readFileSync(index, "utf8")).weight_map;
        files = [...new Set(Object.values(map))].map(f => path.join(dir, f));
    } else if (fs.existsSync(single)) {
        files = [single];
    } else {
        throw new Error(`${dir}: neither model.safetensors nor model.safetensors.index.json`);
    }
    for (const f of files) {
        for (const [name, t] of readSafetensorsHeader(f)) {
            if (all.has(name)) throw new Error(`tensor ${name} in two shards`);
            all.set(name, t);
        }
    }
    return all;
}

/** Reads elements [start, start+count) of a safetensors tensor as f32 into dst (a Float32Array of >= count). */
function readElementsF32(fds, t, start, count, scratch, dst) {
    const es = ST_DTYPES[t.dtype];
    if (!es) throw new Error(`unsupported dtype ${t.dtype}`);
    const bytes = count * es;
    const pos = t.begin + start * es;
    if (pos + bytes > t.end) throw new Error("read past the tensor's data");
    let fd = fds.get(t.file);
    if (fd === undefined) {
        fd = fs.openSync(t.file, "r");
        fds.set(t.file, fd);
    }
    let done = 0;
    while (done < bytes) {
        const r = fs.readSync(fd, scratch, done, bytes - done, pos + done);
        if (r <= 0) throw new Error(`${t.file}: short read`);
        done += r;
    }
    if (t.dtype === "F32") {
        dst.set(new Float32Array(scratch.buffer, scratch.byteOffset, count));
    } else if (t.dtype === "F16") {
        const src = new Uint16Array(scratch.buffer, scratch.byteOffset, count);
        for (let i = 0; i < count; i++) dst[i] = F16_TABLE[src[i]];
    } else { // BF16
        const src = new Uint16Array(scratch.buffer, scratch.byteOffset, count);
        const dstBits = new Uint32Array(dst.buffer, dst.byteOffset, count);
        for (let i = 0; i < count; i++) dstBits[i] = src[i] << 16;
    }
}

// ---------------------------------------------------------------- encoders (f32 rows -> GGML bytes)

function encodeF32(src, n, out) {
    new Float32Array(out.buffer, out.byteOffset, n).set(src.subarray(0, n));
    return n * 4;
}

function encodeF16(src, n, out) {
    const o = new Uint16Array(out.buffer, out.byteOffset, n);
    const bits = new Uint32Array(src.buffer, src.byteOffset, n);
    for (let i = 0; i < n; i++) o[i] = f32BitsToF16(bits[i]);
    return n * 2;
}

const fr = Math.fround;

/** As ggml's quantize_row_q8_0_ref: d = amax/127 (f32), q = roundf(x * (1/d)), d stored as f16. */
function encodeQ8_0(src, n, out) {
    let o = 0;
    for (let b = 0; b < n; b += 32) {
        let amax = 0;
        for (let j = 0; j < 32; j++) {
            const a = Math.abs(src[b + j]);
            if (a > amax) amax = a;
        }
        const d = fr(amax / 127);
        const id = d !== 0 ? fr(1 / d) : 0;
        const h = f32ToF16(d);
        out[o] = h & 0xff;
        out[o + 1] = h >>> 8;
        for (let j = 0; j < 32; j++) {
            const x = fr(src[b + j] * id);
            // roundf: half away from zero
            const q = x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
            out[o + 2 + j] = q & 0xff;
        }
        o += 34;
    }
    return o;
}

/** As ggml's quantize_row_q4_0_ref: d = (signed value of largest |x|) / -8, q = min(15, (int8)(x/d + 8.5)). */
function encodeQ4_0(src, n, out) {
    let o = 0;
    for (let b = 0; b < n; b += 32) {
        let amax = 0;
        let max = 0;
        for (let j = 0; j < 32; j++) {
            const v = src[b + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        const d = fr(max / -8);
        const id = d !== 0 ? fr(1 / d) : 0;
        const h = f32ToF16(d);
        out[o] = h & 0xff;
        out[o + 1] = h >>> 8;
        for (let j = 0; j < 16; j++) {
            const x0 = fr(fr(src[b + j] * id) + 8.5);
            const x1 = fr(fr(src[b + 16 + j] * id) + 8.5);
            const q0 = Math.min(15, Math.trunc(x0));
            const q1 = Math.min(15, Math.trunc(x1));
            out[o + 2 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
        }
        o += 18;
    }
    return o;
}

const ENCODERS = {
    [GGML_TYPE.F32]: encodeF32,
    [GGML_TYPE.F16]: encodeF16,
    [GGML_TYPE.Q8_0]: encodeQ8_0,
    [GGML_TYPE.Q4_0]: encodeQ4_0,
};

function tensorBytes(type, ne) {
    const {elems, bytes} = GGML_BLOCK[type];
    const n = ne.reduce((a, b) => a * b, 1);
    if (ne[0] % elems !== 0) throw new Error(`ne0 ${ne[0]} not a multiple of the ${TYPE_NAMES[type]} block`);
    return (n / elems) * bytes;
}

const alignUp = (x, a) => Math.ceil(x / a) * a;

// ---------------------------------------------------------------- GGUF writer pieces

class ByteSink {
    constructor() {
        this.parts = [];
        this.length = 0;
    }

    push(buf) {
        this.parts.push(buf);
        this.length += buf.length;
    }

    u32(v) {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(v >>> 0);
        this.push(b);
    }

    i32(v) {
        const b = Buffer.alloc(4);
        b.writeInt32LE(v | 0);
        this.push(b);
    }

    u64(v) {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(v));
        this.push(b);
    }

    f32(v) {
        const b = Buffer.alloc(4);
        b.writeFloatLE(v);
        this.push(b);
    }

    str(s) {
        const b = Buffer.from(s, "utf8");
        this.u64(b.length);
        this.push(b);
    }

    buffer() {
        return Buffer.concat(this.parts, this.length);
    }
}

function writeKv(sink, key, type, value) {
    sink.str(key);
    sink.u32(type);
    switch (type) {
        case GGUF_VT.UINT32: sink.u32(value); break;
        case GGUF_VT.INT32: sink.i32(value); break;
        case GGUF_VT.FLOAT32: sink.f32(value); break;
        case GGUF_VT.UINT64: sink.u64(value); break;
        case GGUF_VT.BOOL: sink.push(Buffer.from([value ? 1 : 0])); break;
        case GGUF_VT.STRING: sink.str(value); break;
        default: throw new Error(`writeKv: type ${type}`);
    }
}

function writeArrayKv(sink, key, elemType, values) {
    sink.str(key);
    sink.u32(GGUF_VT.ARRAY);
    sink.u32(elemType);
    sink.u64(values.length);
    if (elemType === GGUF_VT.STRING) {
        for (const v of values) sink.str(v);
    } else if (elemType === GGUF_VT.INT32) {
        const b = Buffer.alloc(values.length * 4);
        for (let i = 0; i < values.length; i++) b.writeInt32LE(values[i], i * 4);
        sink.push(b);
    } else if (elemType === GGUF_VT.FLOAT32) {
        const b = Buffer.alloc(values.length * 4);
        for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i], i * 4);
        sink.push(b);
    } else {
        throw new Error(`writeArrayKv: type ${elemType}`);
    }
}

// ---------------------------------------------------------------- tokenizer

function loadTokenizer(file, vocabSize) {
    const tj = JSON.parse(fs.readFileSync(file, "utf8"));
    const model = tj.model;
    if (!model || model.type !== "BPE" || typeof model.vocab !== "object") {
        throw new Error(`${file}: expected a BPE tokenizer.json (model.type BPE with model.vocab)`);
    }
    const tokens = [];
    const types = [];
    for (const [tok, id] of Object.entries(model.vocab)) {
        if (tokens[id] !== undefined) throw new Error(`${file}: id ${id} twice in model.vocab`);
        tokens[id] = tok;
        types[id] = TOKEN_TYPE.NORMAL;
    }
    for (const at of tj.added_tokens ?? []) {
        if (tokens[at.id] !== undefined && tokens[at.id] !== at.content) {
            throw new Error(`${file}: added token ${at.id} ${at.content} clashes with ${tokens[at.id]}`);
        }
        tokens[at.id] = at.content;
        types[at.id] = at.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
    }
    const count = tokens.length;
    if (count > vocabSize) throw new Error(`${file}: ${count} tokens but the model's vocab_size is ${vocabSize}`);
    let padded = 0;
    for (let id = 0; id < vocabSize; id++) {
        if (tokens[id] === undefined) {
            tokens[id] = `[PAD${id}]`;
            types[id] = TOKEN_TYPE.UNUSED;
            padded++;
        }
    }
    let merges = model.merges ?? [];
    if (merges.length > 0 && Array.isArray(merges[0])) {
        // transformers >= 4.45 form [a, b]; as gguf-py, a space inside a part is written as chr(32 + 256) (U+0120)
        merges = merges.map(pair => pair.map(part => part.replaceAll(" ", String.fromCharCode(32 + 256))).join(" "));
    }
    return {tokens, types, merges, padded, fromFile: count};
}

// ---------------------------------------------------------------- plan

function llama3RopeFactors(cfg, headDim) {
    const rs = cfg.rope_scaling;
    if (!rs || String(rs.rope_type ?? rs.type ?? "").toLowerCase() !== "llama3") return null;
    // as convert_hf_to_gguf.py LlamaModel.generate_extra_tensors (rope_freqs.weight)
    const base = cfg.rope_theta ?? 10000;
    const factor = rs.factor ?? 8;
    const lowFreqFactor = rs.low_freq_factor ?? 1;
    const highFreqFactor = rs.high_freq_factor ?? 4;
    const oldContextLen = rs.original_max_position_embeddings ?? 8192;
    const lowFreqWavelen = oldContextLen / lowFreqFactor;
    const highFreqWavelen = oldContextLen / highFreqFactor;
    const out = [];
    for (let i = 0; i < headDim; i += 2) {
        const freq = fr(1 / fr(base ** fr(i / headDim)));
        const wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) out.push(1);
        else if (wavelen > lowFreqWavelen) out.push(factor);
        else {
            const smooth = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            out.push(1 / ((1 - smooth) / factor + smooth));
        }
    }
    return out;
}

function main() {
    const args = parseArgs(process.argv.slice(2), ["help"]);
    if (args.help !== undefined || !args.model || !args.out || !args.type || !args.tokenizer) {
        console.error(USAGE);
        process.exit(args.help !== undefined ? 0 : 2);
    }
    const outType = OUT_TYPES[args.type.toLowerCase()];
    if (!outType) throw new Error(`--type must be f16, q8_0 or q4_0, not ${args.type}`);
    const chunkElems = Math.max(1, Number(args["chunk-mb"] ?? 64)) * 1024 * 1024 / 4;
    const t0 = process.hrtime.bigint();

    const cfg = JSON.parse(fs.readFileSync(path.join(args.model, "config.json"), "utf8"));
    const hidden = cfg.hidden_size;
    const nHead = cfg.num_attention_heads;
    const nHeadKv = cfg.num_key_value_heads ?? nHead;
    const headDim = cfg.head_dim ?? hidden / nHead;
    const nLayers = cfg.num_hidden_layers;
    const vocabSize = cfg.vocab_size;
    if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`head_dim ${headDim} must be an even integer`);

    const st = readCheckpointTensors(args.model);
    const tok = loadTokenizer(args.tokenizer, vocabSize);

    // what to write, in llama.cpp's order
    const plan = [];
    const used = new Set();
    const take = (hf, gguf, kind, permuteHeads = 0) => {
        const t = st.get(hf);
        if (!t) throw new Error(`checkpoint lacks ${hf}`);
        used.add(hf);
        const shape = t.shape;
        const ne = [...shape].reverse(); // ne0 = innermost (input features)
        let type;
        if (kind === "norm") {
            type = GGML_TYPE.F32;
        } else {
            type = outType.ggml;
            if (GGML_BLOCK[type].elems > 1 && ne[0] % GGML_BLOCK[type].elems !== 0) {
                console.error(`${hf}: ${ne[0]} columns not a multiple of 32, written as F16`);
                type = GGML_TYPE.F16;
            }
        }
        if (permuteHeads && shape[0] !== permuteHeads * headDim) {
            throw new Error(`${hf}: ${shape[0]} rows, expected ${permuteHeads} heads x ${headDim}`);
        }
        plan.push({hf, name: gguf, t, ne, type, permuteHeads});
    };
    take("model.embed_tokens.weight", "token_embd.weight", "matrix");
    const ropeFactors = llama3RopeFactors(cfg, headDim);
    for (let i = 0; i < nLayers; i++) {
        const p = `model.layers.${i}.`;
        take(p + "input_layernorm.weight", `blk.${i}.attn_norm.weight`, "norm");
        take(p + "self_attn.q_proj.weight", `blk.${i}.attn_q.weight`, "matrix", nHead);
        take(p + "self_attn.k_proj.weight", `blk.${i}.attn_k.weight`, "matrix", nHeadKv);
        take(p + "self_attn.v_proj.weight", `blk.${i}.attn_v.weight`, "matrix");
        take(p + "self_attn.o_proj.weight", `blk.${i}.attn_output.weight`, "matrix");
        take(p + "post_attention_layernorm.weight", `blk.${i}.ffn_norm.weight`, "norm");
        take(p + "mlp.gate_proj.weight", `blk.${i}.ffn_gate.weight`, "matrix");
        take(p + "mlp.up_proj.weight", `blk.${i}.ffn_up.weight`, "matrix");
        take(p + "mlp.down_proj.weight", `blk.${i}.ffn_down.weight`, "matrix");
    }
    take("model.norm.weight", "output_norm.weight", "norm");
    if (st.has("lm_head.weight")) {
        take("lm_head.weight", "output.weight", "matrix");
    } else if (!cfg.tie_word_embeddings) {
        throw new Error("checkpoint lacks lm_head.weight and does not tie word embeddings");
    } // tied: llama.cpp falls back to token_embd.weight
    if (ropeFactors) {
        plan.push({name: "rope_freqs.weight", ne: [ropeFactors.length], type: GGML_TYPE.F32, values: ropeFactors});
    }
    const skipped = [...st.keys()].filter(k => !used.has(k));
    const skippedRouter = skipped.filter(k => /router|adapter/.test(k)).length;
    console.error(`export: ${plan.length} tensors to write; skipped ${skipped.length} other tensors `
        + `(${skippedRouter} router/adapter${skipped.length > skippedRouter
            ? `, others: ${skipped.filter(k => !/router|adapter/.test(k)).slice(0, 8).join(", ")}` : ""})`);
    if (plan[0].ne[1] !== vocabSize) throw new Error(`embed_tokens has ${plan[0].ne[1]} rows, vocab_size ${vocabSize}`);

    // ---- header
    const kv = new ByteSink();
    let nKv = 0;
    const put = (k, type, v) => {
        writeKv(kv, k, type, v);
        nKv++;
    };
    const putArr = (k, et, vs) => {
        writeArrayKv(kv, k, et, vs);
        nKv++;
    };
    const name = args.name ?? path.basename(path.resolve(args.model));
    put("general.architecture", GGUF_VT.STRING, "llama");
    put("general.name", GGUF_VT.STRING, name);
    put("general.alignment", GGUF_VT.UINT32, ALIGNMENT);
    put("general.file_type", GGUF_VT.UINT32, outType.fileType);
    put("general.quantization_version", GGUF_VT.UINT32, 2);
    put("llama.context_length", GGUF_VT.UINT32, cfg.max_position_embeddings ?? 8192);
    put("llama.embedding_length", GGUF_VT.UINT32, hidden);
    put("llama.block_count", GGUF_VT.UINT32, nLayers);
    put("llama.feed_forward_length", GGUF_VT.UINT32, cfg.intermediate_size);
    put("llama.rope.dimension_count", GGUF_VT.UINT32, headDim);
    put("llama.attention.head_count", GGUF_VT.UINT32, nHead);
    put("llama.attention.head_count_kv", GGUF_VT.UINT32, nHeadKv);
    put("llama.attention.key_length", GGUF_VT.UINT32, headDim);
    put("llama.attention.value_length", GGUF_VT.UINT32, headDim);
    put("llama.attention.layer_norm_rms_epsilon", GGUF_VT.FLOAT32, cfg.rms_norm_eps ?? 1e-5);
    put("llama.rope.freq_base", GGUF_VT.FLOAT32, cfg.rope_theta ?? 10000);
    put("llama.vocab_size", GGUF_VT.UINT32, vocabSize);
    put("tokenizer.ggml.model", GGUF_VT.STRING, "gpt2");
    put("tokenizer.ggml.pre", GGUF_VT.STRING, "llama-bpe");
    putArr("tokenizer.ggml.tokens", GGUF_VT.STRING, tok.tokens);
    putArr("tokenizer.ggml.token_type", GGUF_VT.INT32, tok.types);
    putArr("tokenizer.ggml.merges", GGUF_VT.STRING, tok.merges);
    put("tokenizer.ggml.bos_token_id", GGUF_VT.UINT32, 128000);
    put("tokenizer.ggml.eos_token_id", GGUF_VT.UINT32, 128009);

    const infos = new ByteSink();
    let offset = 0;
    for (const e of plan) {
        e.bytes = tensorBytes(e.type, e.ne);
        e.offset = offset;
        infos.str(e.name);
        infos.u32(e.ne.length);
        for (const d of e.ne) infos.u64(d);
        infos.u32(e.type);
        infos.u64(offset);
        offset = alignUp(offset + e.bytes, ALIGNMENT);
    }
    const head = new ByteSink();
    head.push(Buffer.from("GGUF", "ascii"));
    head.u32(3);
    head.u64(plan.length);
    head.u64(nKv);
    const headerLen = head.length + kv.length + infos.length;
    const header = Buffer.concat([head.buffer(), kv.buffer(), infos.buffer(),
        Buffer.alloc(alignUp(headerLen, ALIGNMENT) - headerLen)]);

    // ---- data, tensor by tensor, chunk of rows by chunk of rows
    const outPath = path.resolve(args.out);
    const tmpPath = `${outPath}.tmp-${process.pid}`;
    const fd = fs.openSync(tmpPath, "w");
    const fds = new Map();
    try {
        let pos = 0;
        const write = (buf, n = buf.length) => {
            let done = 0;
            while (done < n) done += fs.writeSync(fd, buf, done, n - done, pos + done);
            pos += n;
        };
        write(header);
        const dataStart = pos;
        let scratch = null;
        let rowsF32 = null;
        let permF32 = null;
        let encoded = null;
        const ensure = (elems) => {
            if (!rowsF32 || rowsF32.length < elems) {
                scratch = new Uint8Array(new ArrayBuffer(elems * 4));
                rowsF32 = new Float32Array(elems);
                permF32 = new Float32Array(elems);
                encoded = new Uint8Array(new ArrayBuffer(elems * 4));
            }
        };
        let done = 0;
        for (const e of plan) {
            if (pos - dataStart !== e.offset) write(Buffer.alloc(dataStart + e.offset - pos));
            if (e.values) {
                const b = Buffer.alloc(e.bytes);
                e.values.forEach((v, i) => b.writeFloatLE(v, i * 4));
                write(b);
                continue;
            }
            const cols = e.ne[0];
            const rows = e.ne.length > 1 ? e.ne[1] : 1;
            // rows per chunk: whole heads for the permuted projections
            const unit = e.permuteHeads ? headDim : 1;
            const chunkRows = Math.max(unit, Math.floor(chunkElems / cols / unit) * unit);
            ensure(Math.min(rows, chunkRows) * cols);
            const encode = ENCODERS[e.type];
            let written = 0;
            for (let r = 0; r < rows; r += chunkRows) {
                const nr = Math.min(chunkRows, rows - r);
                const n = nr * cols;
                readElementsF32(fds, e.t, r * cols, n, scratch, rowsF32);
                let src = rowsF32;
                if (e.permuteHeads) {
                    // HF rotate-half layout -> GGML's interleaved pairs, per head (convert_hf_to_gguf.py's permute):
                    // new row h*hd + 2*j + i = old row h*hd + i*(hd/2) + j
                    const half = headDim / 2;
                    for (let h = 0; h < nr / headDim; h++) {
                        for (let i = 0; i < 2; i++) {
                            for (let j = 0; j < half; j++) {
                                const from = (h * headDim + i * half + j) * cols;
                                const to = (h * headDim + 2 * j + i) * cols;
                                permF32.set(rowsF32.subarray(from, from + cols), to);
                            }
                        }
                    }
                    src = permF32;
                }
                const nb = encode(src, n, encoded);
                write(encoded, nb);
                written += nb;
            }
            if (written !== e.bytes) throw new Error(`${e.name}: wrote ${written} bytes, planned ${e.bytes}`);
            done++;
            if (done % 20 === 0) console.error(`export: ${done}/${plan.length} tensors`);
        }
        const end = dataStart + offset;
        if (pos < end) write(Buffer.alloc(end - pos));
        fs.fsyncSync(fd);
    } catch (err) {
        fs.closeSync(fd);
        fs.rmSync(tmpPath, {force: true});
        throw err;
    } finally {
        for (const f of fds.values()) fs.closeSync(f);
    }
    fs.closeSync(fd);
    fs.renameSync(tmpPath, outPath);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const size = fs.statSync(outPath).size;
    console.error(`export: wrote ${outPath} (${args.type}, ${(size / 1e6).toFixed(1)} MB, ${plan.length} tensors, `
        + `${tok.fromFile} tokenizer tokens + ${tok.padded} padding, ${tok.merges.length} merges) in ${secs.toFixed(1)} s`);
    console.log(JSON.stringify({out: outPath, type: args.type, bytes: size, tensors: plan.length,
        skipped_tensors: skipped.length, skipped_router_adapter: skippedRouter, seconds: Number(secs.toFixed(2))}));
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("export-gguf.mjs")) {
    try {
        main();
    } catch (err) {
        console.error(`export-gguf: ${err.message}`);
        process.exit(1);
    }
}
