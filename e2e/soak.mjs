// Soak: CLIENTS concurrent clients for DURATION_S seconds against a running FlexiServe on loopback, with
// random lengths, streams abandoned mid-way and malformed requests. Then checks: every well-formed request
// got a well-formed answer, no 5xx, running/waiting/KV back to zero, heap and RSS flat after warm-up.
// Env: FLEXISERVE_URL, SERVICE_PID (for RSS), DURATION_S (60), CLIENTS (32), MODEL. Bounded in time and count.
import { readFileSync } from "node:fs";

const url = process.env.FLEXISERVE_URL ?? "http://127.0.0.1:8080";
const model = process.env.MODEL ?? "flexidepth-demo";
const duration = Number(process.env.DURATION_S ?? 60) * 1000;
const clients = Number(process.env.CLIENTS ?? 32);
const maxRequests = Number(process.env.MAX_REQUESTS ?? 100000);
const pid = process.env.SERVICE_PID;
const stats = { ok: 0, streams: 0, abandoned: 0, malformed: 0, refused429: 0, server5xx: 0, bad: 0, requests: 0 };
const problems = [];
const rand = (n) => Math.floor(Math.random() * n);
const post = (path, body, signal) => fetch(url + path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body), signal,
});

const malformed = [
  "{not json", "[]", JSON.stringify({ model, messages: [] }), JSON.stringify({ model, messages: [{ role: "user", content: "x" }], n: 0 }),
  JSON.stringify({ model, messages: [{ role: "user", content: "x" }], temperature: 9 }), JSON.stringify({ model: "nope", prompt: "x" }),
  JSON.stringify({ model, prompt: [1, 2, 99999999] }), JSON.stringify({ model, messages: [{ role: "user", content: "x" }], tools: [{}] }),
];

function note(kind, detail) {
  if (problems.length < 20) problems.push(`${kind}: ${detail}`);
  stats.bad++;
}

async function chatStream() {
  const maxTokens = 1 + rand(64);
  const abandonAfter = Math.random() < 0.2 ? 1 + rand(8) : Infinity;
  const controller = new AbortController();
  const r = await post("/v1/chat/completions", {
    model, messages: [{ role: "user", content: "soak ".repeat(1 + rand(40)) }], max_tokens: maxTokens, stream: true,
    stream_options: { include_usage: true }, ignore_eos: true, flexidepth: { threshold: Math.random(), return_layers: Math.random() < 0.5 },
  }, controller.signal);
  if (r.status === 429) { stats.refused429++; await r.text(); return; }
  if (r.status >= 500) { stats.server5xx++; note("5xx", await r.text()); return; }
  if (r.status !== 200) { note("status", r.status); return; }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let events = 0;
  let usage = null;
  let done = false;
  try {
    while (!done) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) { note("framing", event.slice(0, 80)); continue; }
        const data = event.slice(6);
        if (data === "[DONE]") { done = true; break; }
        const chunk = JSON.parse(data);
        if (chunk.error) { note("stream error", data); done = true; break; }
        if (chunk.usage) usage = chunk.usage;
        if (++events >= abandonAfter) { controller.abort(); stats.abandoned++; return; }
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return;
    throw e;
  }
  if (!done) note("stream", "ended without [DONE]");
  else if (!usage || usage.completion_tokens !== maxTokens) note("usage", JSON.stringify(usage));
  else { stats.ok++; stats.streams++; }
}

async function completion() {
  const maxTokens = 1 + rand(32);
  const r = await post("/v1/completions", { model, prompt: "abc ".repeat(1 + rand(20)), max_tokens: maxTokens, ignore_eos: true, n: 1 + rand(2) });
  const text = await r.text();
  if (r.status === 429) { stats.refused429++; return; }
  if (r.status >= 500) { stats.server5xx++; note("5xx", text); return; }
  const body = JSON.parse(text);
  if (r.status !== 200 || body.usage?.completion_tokens !== maxTokens * body.choices.length) note("completion", text.slice(0, 200));
  else stats.ok++;
}

async function bad() {
  const r = await post(Math.random() < 0.5 ? "/v1/chat/completions" : "/v1/completions", malformed[rand(malformed.length)]);
  const body = await r.text();
  if (r.status >= 500) { stats.server5xx++; note("5xx", body); return; }
  if (r.status < 400 || !JSON.parse(body).error?.message) note("malformed accepted", `${r.status} ${body.slice(0, 100)}`);
  else stats.malformed++;
}

async function client(deadline) {
  while (Date.now() < deadline && stats.requests < maxRequests) {
    stats.requests++;
    const roll = Math.random();
    try {
      if (roll < 0.65) await chatStream();
      else if (roll < 0.9) await completion();
      else await bad();
    } catch (e) {
      note("client", e.message);
    }
  }
}

/** Sum of the samples whose series starts with `prefix` (a name, or a name and its first labels). */
async function metric(prefix) {
  const text = await (await fetch(url + "/q/metrics")).text();
  const lines = text.split("\n").filter((l) => l.startsWith(prefix) && /[ {,}]/.test(l.charAt(prefix.length)));
  return lines.length ? lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0) : NaN;
}

function rssMb() {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const samples = [];
async function sample(t0) {
  samples.push({ t: Math.round((Date.now() - t0) / 1000), rss_mb: Math.round(rssMb()),
    heap_mb: Math.round((await metric('jvm_memory_used_bytes{area="heap"')) / 1e6), running: await metric("flexiserve_requests_running") });
}

const t0 = Date.now();
const deadline = t0 + duration;
const sampler = setInterval(() => sample(t0).catch(() => {}), Math.max(2000, duration / 12));
await Promise.all(Array.from({ length: clients }, () => client(deadline)));
clearInterval(sampler);
await sample(t0);

let idle = false;
let blocks = {};
for (let i = 0; i < 300 && !idle; i++) {
  const [running, waiting, kv, used] = await Promise.all(["flexiserve_requests_running", "flexiserve_requests_waiting",
    "flexiserve_kv_cache_usage_ratio", 'flexiserve_kv_cache_blocks{model="' + model + '",state="used"'].map(metric));
  idle = running === 0 && waiting === 0 && kv === 0 && used === 0;
  if (!idle) await new Promise((r) => setTimeout(r, 100));
}
for (const state of ["used", "cached", "free"]) {
  blocks[state] = await metric('flexiserve_kv_cache_blocks{model="' + model + '",state="' + state + '"');
}
const prefix = { queried: await metric("flexiserve_prefix_cache_query_tokens_total"), hit: await metric("flexiserve_prefix_cache_hit_tokens_total") };

console.log(JSON.stringify({ seconds: Math.round((Date.now() - t0) / 1000), clients, ...stats }));
console.log("memory samples:", JSON.stringify(samples));
console.log("KV blocks at the end:", JSON.stringify(blocks), "prefix cache tokens:", JSON.stringify(prefix));
const checks = [
  ["no 5xx", stats.server5xx === 0],
  ["every well-formed request got a well-formed answer", stats.bad === 0],
  ["work was done", stats.ok > clients],
  ["running, waiting and KV usage back to zero, every block free or cached", idle],
  ["the prefix cache was on and found prompts", prefix.queried > 0 && prefix.hit > 0],
];
const warm = samples.filter((s) => s.t >= duration / 3000);
if (pid && warm.length >= 2) {
  const first = warm[0].rss_mb;
  const last = warm[warm.length - 1].rss_mb;
  checks.push([`RSS flat after warm-up (${first} -> ${last} MB)`, last <= first * 1.25 + 64]);
}
problems.forEach((p) => console.log(`  problem: ${p}`));
let failed = 0;
for (const [name, ok] of checks) {
  console.log(`${ok ? "ok" : "not ok"} - ${name}`);
  if (!ok) failed++;
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
