#!/usr/bin/env node
// Correctness check of an export: llama.cpp's greedy tokens on a GGUF (decode.mjs, one round) against a running
// FlexiServe's greedy tokens on the checkpoint it came from, for the same prompt of token ids.
//
//   node compare-greedy.mjs --gguf <file> --tokenizer <tokenizer.json> [--url http://localhost:8123]
//                           [--model <served id>] [--prompt-tokens 8] [--tokens 16] [--threads 2]
//
// FlexiServe's /v1/completions gives its tokens as text (logprobs.tokens: each token's bytes as UTF-8), so llama.cpp's
// ids are turned into the same text through tokenizer.json (byte-level BPE) and compared position by position; a
// token that is not valid UTF-8 on its own matches any token that is not either (both show U+FFFD).
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {parseArgs} from "./args.mjs";

/** GPT-2's bytes_to_unicode, inverted: the char a byte-level BPE token uses -> the byte it stands for. */
function unicodeToBytes() {
    const bs = [];
    for (let b = 33; b <= 126; b++) bs.push(b);
    for (let b = 161; b <= 172; b++) bs.push(b);
    for (let b = 174; b <= 255; b++) bs.push(b);
    const cs = [...bs];
    let n = 0;
    for (let b = 0; b < 256; b++) {
        if (!bs.includes(b)) {
            bs.push(b);
            cs.push(256 + n++);
        }
    }
    const m = new Map();
    bs.forEach((b, i) => m.set(String.fromCodePoint(cs[i]), b));
    return m;
}

const args = parseArgs(process.argv.slice(2));
if (!args.gguf || !args.tokenizer) {
    console.error("usage: node compare-greedy.mjs --gguf <file> --tokenizer <tokenizer.json> [--url http://localhost:8123] "
        + "[--model <id>] [--prompt-tokens 8] [--tokens 16] [--threads 2]");
    process.exit(2);
}
const url = (args.url ?? "http://localhost:8123").replace(/\/$/, "");
const promptTokens = Number(args["prompt-tokens"] ?? 8);
const tokens = Number(args.tokens ?? 16);
const threads = Number(args.threads ?? 2);

const tj = JSON.parse(fs.readFileSync(args.tokenizer, "utf8"));
const idToToken = new Map();
for (const [t, id] of Object.entries(tj.model.vocab)) idToToken.set(id, {text: t, special: false});
for (const at of tj.added_tokens ?? []) idToToken.set(at.id, {text: at.content, special: true});
const u2b = unicodeToBytes();
const utf8 = new TextDecoder("utf-8", {fatal: false});
function tokenText(id) {
    const t = idToToken.get(id);
    if (!t) return `[PAD${id}]`;
    if (t.special) return t.text;
    return utf8.decode(Uint8Array.from([...t.text].map(c => u2b.get(c) ?? 0x3f)));
}

// llama.cpp
const here = path.dirname(fileURLToPath(import.meta.url));
const out = execFileSync(process.execPath, [path.join(here, "decode.mjs"), "--gguf", args.gguf, "--threads", String(threads),
    "--prompt-tokens", String(promptTokens), "--tokens", String(tokens), "--rounds", "1", "--confidence"],
{encoding: "utf8", stdio: ["ignore", "pipe", "inherit"]});
const lc = JSON.parse(out);
const prompt = Array.from({length: promptTokens}, (_, i) => (1000 + i * 37) % 128256); // as decode.mjs
if (Array.isArray(lc.prompt) && lc.prompt.join() !== prompt.join()) throw new Error("decode.mjs used another prompt");

// FlexiServe
let model = args.model;
if (!model) {
    const models = await (await fetch(`${url}/v1/models`)).json();
    model = models.data[0].id;
}
const res = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({model, prompt, max_tokens: tokens, temperature: 0, logprobs: 1, ignore_eos: true}),
});
const body = await res.json();
if (!res.ok) throw new Error(`FlexiServe: ${res.status} ${JSON.stringify(body)}`);
const fsTokens = body.choices[0].logprobs.tokens;
const fsLogprobs = body.choices[0].logprobs.token_logprobs;

const lcTexts = lc.greedy_token_ids.map(tokenText);
let leading = 0;
let matches = 0;
const rows = [];
let maxLogprobDiff = 0;
for (let i = 0; i < Math.min(lcTexts.length, fsTokens.length); i++) {
    const a = lcTexts[i];
    const b = fsTokens[i];
    const same = a === b || (a.includes("\uFFFD") && b.includes("\uFFFD"));
    if (same) matches++;
    if (same && leading === i) leading++;
    if (same && lc.greedy_logprobs) maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(lc.greedy_logprobs[i] - fsLogprobs[i]));
    rows.push({i, llama_cpp_id: lc.greedy_token_ids[i], llama_cpp: a, flexiserve: b, same,
        llama_cpp_logprob: lc.greedy_logprobs?.[i], flexiserve_logprob: fsLogprobs[i]});
}
console.log(JSON.stringify({
    gguf: lc.model_file, type: lc.type, served_model: model, prompt,
    compared: rows.length, leading_agree: leading, agree_total: matches,
    max_abs_logprob_diff_where_same: Number(maxLogprobDiff.toFixed(5)), tokens: rows,
}, null, 2));
