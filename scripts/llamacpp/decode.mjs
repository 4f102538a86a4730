#!/usr/bin/env node
// Times llama.cpp (prebuilt through node-llama-cpp, CPU only) on a GGUF from export-gguf.mjs: prompt evaluation of a
// fixed prompt of token ids, then greedy decoding one token at a time, as FlexiServe's `bench` decode_batch1 counts it
// (tokens after the first generated one are decode steps; decode tokens/s = (tokens - 1) / (last - first)).
//
//   node decode.mjs --gguf <file> [--threads 2] [--prompt-tokens 8] [--tokens 32] [--rounds 2] [--batch 512]
//                   [--flash-attention auto|on|off] [--verbose] [--confidence]
//
// Prints one JSON object on stdout. Never downloads or builds: prebuilt binaries only (build "never", skipDownload).
process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= "true";

import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "./args.mjs";

const USAGE = "usage: node decode.mjs --gguf <file> [--threads 2] [--prompt-tokens 8] [--tokens 32] [--rounds 2] "
    + "[--batch 512] [--flash-attention auto|on|off] [--verbose] [--confidence]";

const GGML_FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 7: "q8_0"};

/** general.file_type of a GGUF, read from its header (no llama.cpp needed). */
function ggufFileType(file) {
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.alloc(1 << 16);
        fs.readSync(fd, buf, 0, buf.length, 0);
        if (buf.toString("ascii", 0, 4) !== "GGUF") return null;
        const nKv = Number(buf.readBigUInt64LE(16));
        let p = 24;
        for (let i = 0; i < nKv && p < buf.length - 64; i++) {
            const kl = Number(buf.readBigUInt64LE(p));
            const key = buf.toString("utf8", p + 8, p + 8 + kl);
            p += 8 + kl;
            const vt = buf.readUInt32LE(p);
            p += 4;
            if (key === "general.file_type" && vt === 4) return buf.readUInt32LE(p);
            if (vt === 8) p += 8 + Number(buf.readBigUInt64LE(p));
            else if ([4, 5, 6].includes(vt)) p += 4;
            else if (vt === 7) p += 1;
            else if (vt === 10) p += 8;
            else return null; // arrays come after the general.* keys in export-gguf's files
        }
        return null;
    } finally {
        fs.closeSync(fd);
    }
}

const round3 = x => Math.round(x * 1000) / 1000;

async function main() {
    const args = parseArgs(process.argv.slice(2), ["help", "verbose", "confidence"]);
    if (args.help || typeof args.gguf !== "string") {
        console.error(USAGE);
        process.exit(args.help ? 0 : 2);
    }
    const threads = Number(args.threads ?? 2);
    const promptTokens = Number(args["prompt-tokens"] ?? 8);
    const tokens = Number(args.tokens ?? 32);
    const rounds = Number(args.rounds ?? 2);
    const batch = Number(args.batch ?? 512);
    const fa = String(args["flash-attention"] ?? "auto");
    const verbose = args.verbose === true;
    const withConfidence = args.confidence === true; // first round only; for compare-greedy.mjs, not for timing
    if (!(threads >= 1 && promptTokens >= 1 && tokens >= 2 && rounds >= 1 && batch >= 1)) {
        throw new Error("--threads, --prompt-tokens, --rounds, --batch must be >= 1 and --tokens >= 2");
    }
    const file = path.resolve(args.gguf);
    const fileType = ggufFileType(file);

    const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");
    const logs = [];
    const llama = await getLlama({
        gpu: false,
        build: "never",
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        maxThreads: 0, // no cap: the context's threads are used as given
        logLevel: LlamaLogLevel.debug,
        logger(level, message) {
            const line = String(message).trimEnd();
            if (line === "" || /^\.+$/.test(line)) return;
            logs.push(line);
            if (verbose || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
                console.error(`[llama.cpp ${level}] ${line}`);
            }
        },
    });

    const loadStart = performance.now();
    const model = await llama.loadModel({modelPath: file, gpuLayers: 0});
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const vocab = Number(model.fileInfo?.metadata?.llama?.vocab_size ?? 128256);

    const contextSize = Math.max(512, promptTokens + tokens + 16);
    const context = await model.createContext({
        contextSize,
        batchSize: Math.min(batch, Math.max(promptTokens, 1)),
        threads: {ideal: threads, min: threads},
        flashAttention: fa === "auto" ? "auto" : fa === "on" || fa === "true",
        sequences: 1,
    });
    const sequence = context.getSequence();

    const prompt = Array.from({length: promptTokens}, (_, i) => (1000 + i * 37) % vocab);
    const greedy = {temperature: 0};
    const ask = r => ({generateNext: {token: true, confidence: withConfidence && r === 0, options: greedy}});

    const perRound = [];
    let firstIds = null;
    let firstLogprobs;
    for (let r = 0; r < rounds; r++) {
        await sequence.clearHistory();
        const ids = [];
        const confidences = [];
        // prompt: every token evaluated, only the last one asks for a next token
        const input = prompt.map((t, i) => i === prompt.length - 1 ? [t, ask(r)] : t);
        const p0 = performance.now();
        const out = await sequence.controlledEvaluate(input);
        const p1 = performance.now();
        let next = out[prompt.length - 1]?.next?.token;
        if (next == null) throw new Error("prompt evaluation gave no token");
        ids.push(next);
        confidences.push(out[prompt.length - 1].next.confidence);
        const tFirst = p1;
        let tLast = p1;
        const steps = [];
        while (ids.length < tokens) {
            const s0 = performance.now();
            const o = await sequence.controlledEvaluate([[next, ask(r)]]);
            const s1 = performance.now();
            next = o[0]?.next?.token;
            if (next == null) throw new Error("decode step gave no token");
            ids.push(next);
            confidences.push(o[0].next.confidence);
            steps.push(s1 - s0);
            tLast = s1;
        }
        const decodeSeconds = (tLast - tFirst) / 1000;
        const sortedSteps = [...steps].sort((a, b) => a - b);
        perRound.push({
            prompt_seconds: round3((p1 - p0) / 1000),
            prompt_tokens_s: round3(promptTokens / ((p1 - p0) / 1000)),
            decode_tokens_s: round3((tokens - 1) / decodeSeconds),
            decode_step_ms_p50: round3(sortedSteps[Math.floor(sortedSteps.length / 2)]),
            decode_step_ms_min: round3(sortedSteps[0]),
            decode_step_ms_max: round3(sortedSteps[sortedSteps.length - 1]),
        });
        if (r === 0) {
            firstIds = ids;
            if (withConfidence) firstLogprobs = confidences.map(c => Math.log(c));
        }
        console.error(`round ${r + 1}/${rounds}: prompt ${perRound[r].prompt_tokens_s} tokens/s, `
            + `decode ${perRound[r].decode_tokens_s} tokens/s`);
    }

    // which CPU variant ggml loaded (zen4, icelake, ...), what got repacked for it, what flash attention resolved to
    const backendLines = logs.filter(l => /load_backend|CPU_REPACK|Flash Attention|model buffer size|KV buffer size/i.test(l)
        && !/repack tensor/.test(l)).slice(0, 20);
    const repacked = logs.filter(l => /repack tensor/.test(l));
    const report = {
        engine: "llama.cpp via node-llama-cpp",
        llama_cpp_release: llama.llamaCppRelease?.release,
        build_type: llama.buildType,
        gpu: llama.gpu,
        model_file: file,
        model_bytes: fs.statSync(file).size,
        model_description: model.typeDescription,
        type: GGML_FILE_TYPES[fileType] ?? (fileType == null ? null : `file_type_${fileType}`),
        threads,
        context_threads: context.currentThreads,
        context_size: context.contextSize,
        batch_size: context.batchSize,
        flash_attention: context.flashAttention,
        load_seconds: round3(loadSeconds),
        prompt_tokens: promptTokens,
        generated_tokens: tokens,
        prompt: promptTokens <= 16 ? prompt : `${promptTokens} ids: (1000 + i*37) mod vocab`,
        prompt_tokens_s: perRound.map(r => r.prompt_tokens_s),
        prompt_tokens_s_best: Math.max(...perRound.map(r => r.prompt_tokens_s)),
        decode_tokens_s: perRound.map(r => r.decode_tokens_s),
        decode_tokens_s_best: Math.max(...perRound.map(r => r.decode_tokens_s)),
        rounds: perRound,
        greedy_token_ids: firstIds,
        greedy_logprobs: firstLogprobs,
        system_info: llama.systemInfo,
        backend_log: backendLines,
        repacked_tensors: repacked.length,
        repacked_as: [...new Set(repacked.map(l => l.replace(/.* with /, "")))],
    };
    console.log(JSON.stringify(report, null, 2));
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch(err => {
    console.error(`decode: ${err?.stack ?? err}`);
    process.exit(1);
});
