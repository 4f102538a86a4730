// Serving throughput through the HTTP API with the OpenAI Node SDK: for each concurrency level, that many
// clients each stream up to `tokens` tokens from a token-id prompt (tokens/s counts what usage reports,
// so an early EOS does not inflate it). Inter-token latency is measured between streamed deltas.
// Prints one JSON line per level.
// Usage: FLEXISERVE_URL=http://localhost:8080 node bench-streams.mjs [tokens] [levels] [threshold]
import OpenAI from "openai";

const base = (process.env.FLEXISERVE_URL ?? "http://localhost:8080") + "/v1";
const client = new OpenAI({ baseURL: base, apiKey: "not-needed", maxRetries: 0 });
const tokens = Number(process.argv[2] ?? 64);
const levels = (process.argv[3] ?? "1,4,16").split(",").map(Number);
const threshold = Number(process.argv[4] ?? 0.5);
const model = (await client.models.list()).data[0].id;

const percentile = (xs, p) => xs.length === 0 ? NaN
  : xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function one(i) {
  const start = performance.now();
  let first = null;
  let last = start;
  const gaps = [];
  let generated = 0;
  const stream = await client.completions.create({
    model, prompt: [1 + i, 2, 3, 4, 5, 6, 7, 8], max_tokens: tokens, temperature: 1.0, seed: i, stream: true,
    stream_options: { include_usage: true }, flexidepth: { threshold, return_layers: true },
  });
  for await (const chunk of stream) {
    const now = performance.now();
    if (chunk.usage) generated = chunk.usage.completion_tokens;
    if (chunk.choices.length > 0 && chunk.choices[0].finish_reason === null) { // a delta (its text may be empty)
      if (first === null) first = now - start; else gaps.push(now - last);
      last = now;
    }
  }
  return { generated, ttft: first ?? 0, gaps };
}

for (const c of levels) {
  await Promise.all(Array.from({ length: Math.min(c, 2) }, (_, i) => one(i))); // warm-up
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: c }, (_, i) => one(i)));
  const seconds = (performance.now() - start) / 1000;
  const generated = results.reduce((s, r) => s + r.generated, 0);
  const ttfts = results.map((r) => r.ttft);
  const gaps = results.flatMap((r) => r.gaps);
  console.log(JSON.stringify({
    concurrency: c, threshold, tokens_per_stream: tokens, generated, seconds: +seconds.toFixed(2),
    tokens_per_second: +(generated / seconds).toFixed(1),
    ttft_ms_p50: +percentile(ttfts, 0.5).toFixed(1), ttft_ms_p99: +percentile(ttfts, 0.99).toFixed(1),
    itl_ms_p50: +percentile(gaps, 0.5).toFixed(1), itl_ms_p99: +percentile(gaps, 0.99).toFixed(1),
  }));
}
