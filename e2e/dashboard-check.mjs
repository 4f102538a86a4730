// Drives traffic at a running FlexiServe while a real Prometheus scrapes it, then runs every PromQL
// expression of dashboards/flexiserve.json (variables substituted) and checks each returns a non-empty,
// non-NaN result. A small fine-tuning job runs through the admin API (the official SDK's files and jobs calls)
// so that the fine-tuning panels have data. Env: FLEXISERVE_URL, PROM_URL, MODEL, ADMIN_TOKEN.
// Prints "N passed, N failed".
import { readFileSync } from "node:fs";
import OpenAI, { toFile } from "openai";

const serviceUrl = process.env.FLEXISERVE_URL ?? "http://localhost:8080";
const promUrl = process.env.PROM_URL ?? "http://localhost:9090";
const model = process.env.MODEL ?? "flexidepth-demo";
const dashboard = JSON.parse(readFileSync(new URL("../dashboards/flexiserve.json", import.meta.url)));
const client = new OpenAI({ baseURL: serviceUrl + "/v1", apiKey: "not-needed", maxRetries: 0 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const admin = new OpenAI({ baseURL: serviceUrl + "/admin/v1", apiKey: process.env.ADMIN_TOKEN ?? "", maxRetries: 0 });

/** Uploads 16 conversations and trains routers on them for 3 epochs; resolves when the job has ended. */
async function fineTune() {
  const lines = Array.from({ length: 16 }, (_, i) => JSON.stringify({ messages: [
    { role: "user", content: `What is ${i} plus 2?` }, { role: "assistant", content: `${i} plus 2 is ${i + 2}.` }] }));
  const file = await admin.files.create({ file: await toFile(Buffer.from(lines.join("\n") + "\n"), "train.jsonl"),
    purpose: "fine-tune" });
  let job = await admin.fineTuning.jobs.create({ model, training_file: file.id,
    hyperparameters: { n_epochs: 3, batch_size: 4, preset: "custom", alpha: 0.01, gradient_accumulation_steps: 1 } });
  const jobDeadline = Date.now() + 300_000;
  while (!["succeeded", "failed", "cancelled"].includes(job.status)) {
    if (Date.now() > jobDeadline) throw new Error(`fine-tuning job ${job.id} still ${job.status} after 300 s`);
    await sleep(500);
    job = await admin.fineTuning.jobs.retrieve(job.id);
  }
  console.log(`fine-tuning job ${job.id}: ${job.status}${job.error ? " " + JSON.stringify(job.error) : ""}, `
    + `metrics ${JSON.stringify(job.metrics)}`);
  if (job.status !== "succeeded" || !Number.isFinite(job.metrics?.train_loss)) {
    const events = await admin.fineTuning.jobs.listEvents(job.id, { limit: 100 });
    for (const e of events.data.reverse()) console.log(`  ${e.message} ${JSON.stringify(e.data ?? {})}`);
    process.exit(1);
  }
}

let driving = true;
async function traffic(worker) {
  for (let i = 0; driving; i++) {
    try {
      if (i % 7 === 3) {
        await client.completions.create({ model, prompt: "x", n: 0 }).catch(() => {});          // 400
        await client.completions.create({ model: "missing", prompt: "x" }).catch(() => {});     // 404
      } else if (i % 2 === 0) {
        const s = await client.chat.completions.create({ model, messages: [{ role: "user", content: `w${worker} ${i}` }],
          max_tokens: 24, stream: true, flexidepth: { threshold: 0.3 + 0.1 * (i % 5) } });
        for await (const _ of s) { /* drain */ }
      } else {
        await client.completions.create({ model, prompt: `prompt ${worker} ${i} `.repeat(5), max_tokens: 16 });
      }
    } catch (e) {
      console.log(`traffic error: ${e.message}`);
    }
  }
}

const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const substitute = (expr) => expr.replaceAll("$__rate_interval", "20s").replaceAll("$model", model);

async function query(expr) {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await r.json();
  if (body.status !== "success") return { ok: false, why: JSON.stringify(body) };
  const result = body.data.result;
  if (result.length === 0) return { ok: false, why: "empty result" };
  const nan = result.filter((s) => !Number.isFinite(Number(s.value[1])));
  return nan.length ? { ok: false, why: `NaN in ${JSON.stringify(nan[0])}` } : { ok: true, why: `${result.length} series` };
}

const workers = [0, 1, 2, 3].map(traffic);
await fineTune();
await sleep(Number(process.env.WARMUP_MS ?? 30000));
let passed = 0;
let failed = 0;
for (const { panel, expr } of targets) {
  let outcome = await query(substitute(expr));
  for (let attempt = 0; !outcome.ok && attempt < 10; attempt++) {
    await sleep(2000);
    outcome = await query(substitute(expr));
  }
  if (outcome.ok) passed++; else failed++;
  console.log(`${outcome.ok ? "ok" : "not ok"} - ${panel}: ${outcome.why}\n    ${substitute(expr)}`);
}
driving = false;
await Promise.all(workers);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
