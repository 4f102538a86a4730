// End-to-end: the official OpenAI Node SDK against a running FlexiServe (FLEXISERVE_URL, default
// http://localhost:8080). Prints one line per check and a closing "N passed, N failed" line.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

const base = (process.env.FLEXISERVE_URL ?? "http://localhost:8080") + "/v1";
const client = new OpenAI({ baseURL: base, apiKey: process.env.FLEXISERVE_API_KEY ?? "not-needed", maxRetries: 0 });
const model = process.env.FLEXISERVE_MODEL ?? "flexidepth-demo";

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check("models list names the served model", async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [model]);
  assert.ok(page.data[0].max_model_len > 0);
});

check("chat completion with flexidepth usage and layers", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Hello from Node" }], max_tokens: 8, temperature: 0, ignore_eos: true,
    flexidepth: { return_layers: true },
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.usage.completion_tokens, 8);
  assert.equal(r.choices[0].flexidepth.layers.length, 8);
  assert.ok(r.usage.flexidepth.avg_layers_per_token <= r.usage.flexidepth.num_layers);
});

check("streamed chat equals the non-streamed text and ends with usage", async () => {
  const params = { model, messages: [{ role: "user", content: "Stream it" }], max_tokens: 12, temperature: 0, ignore_eos: true };
  const whole = (await client.chat.completions.create(params)).choices[0].message.content;
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let usage = null;
  for await (const chunk of stream) {
    for (const c of chunk.choices) text += c.delta.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, whole);
  assert.equal(usage.completion_tokens, 12);
});

check("text completion with a token-id prompt", async () => {
  const r = await client.completions.create({ model, prompt: [72, 101, 108, 108, 111], max_tokens: 4, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.usage.prompt_tokens, 5);
});

check("unknown model is a 404 NotFoundError", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
});

check("context overflow is a 400 naming the limit", async () => {
  await assert.rejects(
    client.chat.completions.create({ model, messages: [{ role: "user", content: "x".repeat(6000) }], max_tokens: 4 }),
    (e) => e instanceof OpenAI.BadRequestError && /maximum context length is \d+ tokens/.test(e.message));
});

// The demo model's weights are random: a reply that zod accepts is the grammar's doing, not the model's.
const Person = z.object({ age: z.number().int(), member: z.boolean(), role: z.enum(["admin", "user"]),
  scores: z.array(z.number()) });

/** A reply in zod's schema, parsed by the SDK; it must have ended by itself, not at max_tokens. */
async function parsedReply(schema, name, content, seed) {
  const r = await client.chat.completions.parse({
    model, messages: [{ role: "user", content }], max_tokens: 3000, temperature: 1, seed,
    response_format: zodResponseFormat(schema, name),
  });
  assert.equal(r.choices[0].finish_reason, "stop");
  return r.choices[0].message.parsed;
}

check("zodResponseFormat: the parsed reply is a valid Person", async () => {
  const person = await parsedReply(Person, "person", "Describe a person", 4);
  assert.ok(Person.safeParse(person).success, JSON.stringify(person));
});

// zod's constraints become minLength/maxLength, minimum/maximum, pattern and formats, all enforced while decoding.
const Account = z.object({ handle: z.string().min(2).max(8), age: z.number().int().min(18).max(99),
  email: z.string().email(), id: z.string().uuid(), code: z.string().regex(/^[A-Z]{3}-\d{2}$/),
  created: z.string().datetime({ offset: true }), ratio: z.number().gt(0).lte(1) });

check("zodResponseFormat with constraints: lengths, bounds, a regex and formats all hold", async () => {
  const account = await parsedReply(Account, "account", "Describe an account", 6);
  const parsed = Account.safeParse(account);
  assert.ok(parsed.success, JSON.stringify(account) + " " + JSON.stringify(parsed.error?.issues));
});

check("vLLM's structured_outputs choice through the SDK's extra body", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Sentiment of: great!" }], max_tokens: 20, temperature: 1, seed: 2,
    structured_outputs: { choice: ["positive", "negative", "neutral"] },
  });
  assert.ok(["positive", "negative", "neutral"].includes(r.choices[0].message.content), r.choices[0].message.content);
});

check("zodFunction tool call: arguments parsed, then an answer to the tool's result", async () => {
  const forecast = zodFunction({ name: "get_forecast", parameters: z.object({ city: z.enum(["Paris", "Oslo"]), days: z.number().int() }) });
  const messages = [{ role: "user", content: "Forecast?" }];
  const r = await client.chat.completions.parse({
    model, messages, tools: [forecast], tool_choice: "required", max_tokens: 1000, temperature: 1, seed: 9,
  });
  const message = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.ok(message.tool_calls.length >= 1);
  for (const call of message.tool_calls) {
    assert.equal(call.function.name, "get_forecast");
    assert.ok(["Paris", "Oslo"].includes(call.function.parsed_arguments.city), call.function.arguments);
  }
  messages.push(message, ...message.tool_calls.map((c) => ({ role: "tool", tool_call_id: c.id, content: "sunny" })));
  const answer = await client.chat.completions.create({ model, messages, tools: [forecast], tool_choice: "none", max_tokens: 6 });
  assert.equal(answer.choices[0].message.tool_calls ?? undefined, undefined);
  assert.equal(typeof answer.choices[0].message.content, "string");
});

let passed = 0;
let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.stack ?? e}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
