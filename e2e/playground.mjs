// The depth playground in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// sends a prompt with the keyboard, waits for the stream, checks every token span against the layers the
// API streamed, moves the threshold and sees the average move, saves screenshots at 1280 and 400 px, and clears
// the conversation while a reply streams.
// Env: FLEXISERVE_URL, CHROMIUM (default /usr/bin/chromium), SHOTS (folder). Prints "N passed, N failed".
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.FLEXISERVE_URL ?? "http://localhost:8080";
const shots = process.env.SHOTS ?? "../target";
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
// generous bounds on events: Chromium and the service share two cores, which may be busy
page.setDefaultTimeout(120_000);
page.setDefaultNavigationTimeout(120_000);
const results = [];
const check = async (name, fn) => {
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (e) {
    results.push(false);
    console.log(`not ok - ${name}: ${e.stack ?? e}`);
  }
};

// Layers per token as the API streamed them, read from the response the page itself received.
async function streamedLayers(responsePromise) {
  const body = await (await responsePromise).text();
  const layers = [];
  for (const line of body.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    for (const c of JSON.parse(line.slice(6)).choices ?? []) layers.push(...(c.flexidepth?.layers ?? []));
  }
  return layers;
}

async function ask(text, threshold) {
  await page.locator("#threshold").fill(String(threshold));
  await page.locator("#temperature").fill("0"); // greedy, so the run repeats
  await page.locator("#prompt").focus();
  await page.keyboard.type(text);
  const response = page.waitForResponse((r) => r.url().endsWith("/v1/chat/completions"));
  await page.keyboard.press("Enter");
  const layers = await streamedLayers(response);
  await page.waitForSelector("body[data-state=idle]");
  const message = page.locator("li.msg.assistant").last();
  await message.locator(".summary").waitFor();
  const spans = await message.locator(".tok").evaluateAll((els) => els.map((e) => Number(e.dataset.layers)));
  const avg = Number(await message.locator(".summary").getAttribute("data-avg"));
  return { layers, spans, avg };
}

await page.goto(url + "/");
await page.waitForFunction(() => document.querySelectorAll("#model option").length > 0);

let first;
await check("every token span carries the layers the API streamed", async () => {
  first = await ask("Tell me something", 0.5);
  assert.ok(first.layers.length > 0, "the API streamed layers");
  assert.deepEqual(first.spans, first.layers);
});

await check("threshold 0 runs every layer and moves the average", async () => {
  const numLayers = Number(await page.locator("#num-layers").textContent());
  const all = await ask("And again", 0);
  assert.deepEqual(all.spans, all.layers);
  assert.ok(all.spans.every((l) => l === numLayers), `all ${numLayers} layers at threshold 0: ${all.spans}`);
  assert.equal(all.avg, numLayers);
  assert.ok(first.avg < numLayers, `the default threshold skips some layers: ${first.avg}`);
  const running = Number(await page.locator("#avg-layers").textContent());
  assert.ok(running > first.avg, `the running average moved up: ${running} > ${first.avg}`);
});

await check("legend, bars and text alternative are present", async () => {
  assert.ok(await page.locator("#legend span").count() >= 2);
  assert.ok((await page.locator("#legend").getAttribute("aria-label")).includes("layers"));
  assert.ok(await page.locator("#bars .bar").count() >= 1);
  assert.ok(await page.locator("li.msg.assistant details table tr").count() > 1);
});

await check("readable at 1280 and 400 px, screenshots saved", async () => {
  await page.screenshot({ path: `${shots}/playground-1280.png`, fullPage: true });
  await page.setViewportSize({ width: 400, height: 900 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling at 400 px (overflow ${overflow})`);
  await page.screenshot({ path: `${shots}/playground-400.png`, fullPage: true });
});

await check("Clear during a reply stops it, and the next question starts a new conversation", async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.locator("#max-tokens").fill("1000"); // a reply that streams for seconds
  await page.locator("#prompt").focus();
  await page.keyboard.type("Talk for a long time");
  await page.keyboard.press("Enter");
  await page.locator("li.msg.assistant .tok").first().waitFor(); // the reply is streaming
  assert.equal(await page.locator("body").getAttribute("data-state"), "busy");
  await page.locator("#clear").click();
  await page.waitForSelector("body[data-state=idle]");
  assert.equal(await page.locator("li.msg").count(), 0, "the log stays empty");
  assert.equal(await page.locator("#status").textContent(), "Stopped.");
  await page.locator("#max-tokens").fill("4");
  const request = page.waitForRequest((r) => r.url().endsWith("/v1/chat/completions"));
  await ask("Hello again", 0.5);
  const sent = JSON.parse((await request).postData());
  assert.deepEqual(sent.messages.map((m) => m.role), ["user"], "the stopped reply is no part of the history");
  assert.equal(await page.locator("li.msg").count(), 2);
});

await browser.close();
const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
