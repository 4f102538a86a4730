// FlexiServe depth playground: streams /v1/chat/completions with flexidepth.return_layers and colours every
// generated token by the number of layers it ran. No dependencies; served by the service itself.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  models: [],          // from /v1/models
  history: [],         // {role, content} sent with each turn
  tokens: 0,           // generated tokens in the conversation
  layerSum: 0,         // their layers, summed
  routedRuns: [],      // per routed layer, tokens that ran it
  controller: null,    // AbortController of the running request
};

function model() {
  return state.models.find((m) => m.id === $("model").value) ?? state.models[0];
}

// Fewest layers (every routed layer skipped) is light, all layers dark; white text on dark cells.
function colour(layers) {
  const m = model();
  const min = m.flexidepth.num_layers - m.flexidepth.routed_layers.length;
  const span = Math.max(1, m.flexidepth.num_layers - min);
  const t = Math.min(1, Math.max(0, (layers - min) / span));
  const lightness = 93 - t * 60;
  return { background: `hsl(222 70% ${lightness}%)`, color: lightness < 55 ? "#fff" : "#1d2430" };
}

function paint(el, layers) {
  const c = colour(layers);
  el.style.background = c.background;
  el.style.color = c.color;
}

// The API key, if the server needs one, is kept for this browser tab only.
function headers() {
  const key = $("api-key").value.trim();
  return key ? { "Content-Type": "application/json", Authorization: `Bearer ${key}` } : { "Content-Type": "application/json" };
}

async function loadModels() {
  const r = await fetch("v1/models", { headers: headers() });
  if (!r.ok) throw new Error(`models: HTTP ${r.status}`);
  state.models = (await r.json()).data;
  const select = $("model");
  select.replaceChildren(...state.models.map((m) => new Option(m.id, m.id)));
  resetDepth();
}

function resetDepth() {
  const m = model();
  state.tokens = 0;
  state.layerSum = 0;
  state.routedRuns = m.flexidepth.routed_layers.map(() => 0);
  $("num-layers").textContent = m.flexidepth.num_layers;
  renderLegend();
  renderDepth();
}

function renderLegend() {
  const m = model();
  const min = m.flexidepth.num_layers - m.flexidepth.routed_layers.length;
  const legend = $("legend");
  legend.replaceChildren();
  for (let layers = min; layers <= m.flexidepth.num_layers; layers++) {
    const cell = document.createElement("span");
    cell.textContent = layers;
    paint(cell, layers);
    legend.append(cell);
  }
  legend.setAttribute("aria-label",
    `Colour scale: light is ${min} layers (every routed layer skipped), dark is ${m.flexidepth.num_layers} layers (all ran)`);
}

function renderDepth() {
  const m = model();
  $("avg-layers").textContent = state.tokens ? (state.layerSum / state.tokens).toFixed(2) : "–";
  $("token-count").textContent = state.tokens ? `(${state.tokens} tokens)` : "";
  $("bars").replaceChildren(...m.flexidepth.routed_layers.map((layer, i) => {
    const rate = state.tokens ? state.routedRuns[i] / state.tokens : 0;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = `<span>layer ${layer}</span><span class="track"><span class="fill"></span></span><span>${Math.round(rate * 100)}%</span>`;
    bar.querySelector(".fill").style.width = `${rate * 100}%`;
    bar.setAttribute("aria-label", `layer ${layer} ran for ${Math.round(rate * 100)}% of tokens`);
    return bar;
  }));
}

function addMessage(role, text) {
  const item = document.createElement("li");
  item.className = `msg ${role}`;
  item.innerHTML = `<div class="role">${role}</div><div class="text"></div>`;
  item.querySelector(".text").textContent = text;
  $("log").append(item);
  return item;
}

// One token: its text (possibly empty), its layer count and which routed layers ran.
function addToken(message, text, layers, routed) {
  const span = document.createElement("span");
  span.className = text ? "tok" : "tok empty";
  span.textContent = text;
  span.dataset.layers = layers;
  span.dataset.routed = routed;
  span.title = `${layers} layers`;
  paint(span, layers);
  message.querySelector(".text").append(span);
  state.tokens++;
  state.layerSum += layers;
  [...routed].forEach((bit, i) => { if (bit === "1") state.routedRuns[i]++; });
  return span;
}

function summarise(message, layers) {
  const avg = layers.length ? layers.reduce((a, b) => a + b, 0) / layers.length : 0;
  const summary = document.createElement("div");
  summary.className = "summary";
  summary.dataset.avg = avg.toFixed(3);
  summary.textContent = `${layers.length} tokens, ${avg.toFixed(2)} layers per token on average`;
  const details = document.createElement("details");
  details.innerHTML = "<summary>Layers per token (table)</summary>";
  const table = document.createElement("table");
  table.innerHTML = "<tr><th>#</th><th>token</th><th>layers</th></tr>";
  message.querySelectorAll(".tok").forEach((t, i) => {
    const row = table.insertRow();
    row.insertCell().textContent = i + 1;
    row.insertCell().textContent = JSON.stringify(t.textContent);
    row.insertCell().textContent = t.dataset.layers;
  });
  details.append(table);
  message.append(summary, details);
}

// Reads an SSE body, calling onEvent with each parsed data payload until [DONE].
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function send(text) {
  state.history.push({ role: "user", content: text });
  addMessage("user", text);
  const message = addMessage("assistant", "");
  const layers = [];
  let reply = "";
  let lastToken = null;
  setBusy(true, "Generating…");
  state.controller = new AbortController();
  try {
    const response = await fetch("v1/chat/completions", {
      method: "POST",
      headers: headers(),
      signal: state.controller.signal,
      body: JSON.stringify({
        model: model().id, messages: state.history, stream: true, stream_options: { include_usage: true },
        temperature: Number($("temperature").value), top_p: Number($("top-p").value),
        max_tokens: Number($("max-tokens").value),
        flexidepth: { threshold: Number($("threshold").value), return_layers: true },
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null); // a proxy's HTML error page is no JSON
      throw new Error(body?.error?.message ?? `HTTP ${response.status} ${response.statusText}`);
    }
    await readEvents(response, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      for (const choice of chunk.choices ?? []) {
        const text = choice.delta?.content ?? "";
        const depth = choice.flexidepth ?? { layers: [], routed: [] };
        depth.layers.forEach((l, i) => {
          // text arrives with the token that completed it; earlier tokens of the same piece stay empty
          lastToken = addToken(message, i === depth.layers.length - 1 ? text : "", l, depth.routed[i] ?? "");
          layers.push(l);
        });
        if (depth.layers.length === 0 && text && lastToken) {
          lastToken.textContent += text;
          lastToken.classList.remove("empty");
        }
        reply += text;
      }
      renderDepth();
    });
    state.history.push({ role: "assistant", content: reply });
    setBusy(false, "");
  } catch (e) {
    state.history.pop();
    setBusy(false, e.name === "AbortError" ? "Stopped." : `Error: ${e.message}`);
  } finally {
    summarise(message, layers);
    state.controller = null;
  }
}

function setBusy(busy, status) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("log").setAttribute("aria-busy", busy);
  document.body.dataset.state = busy ? "busy" : "idle";
  $("status").textContent = status;
}

function wire() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("prompt").value.trim();
    if (!text || state.controller) return;
    if (!model()) {
      $("status").textContent = "No model loaded yet.";
      return;
    }
    $("prompt").value = "";
    send(text);
  });
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => state.controller?.abort());
  $("clear").addEventListener("click", () => {
    state.controller?.abort(); // a reply still streaming belongs to the conversation being cleared
    state.history = [];
    $("log").replaceChildren();
    resetDepth();
  });
  $("threshold").addEventListener("input", () => {
    $("threshold-value").textContent = Number($("threshold").value).toFixed(2);
  });
  $("model").addEventListener("change", () => $("clear").click());
  $("api-key").value = sessionStorage.getItem("flexiserve-api-key") ?? "";
  $("api-key").addEventListener("change", () => {
    state.controller?.abort(); // the models are listed again, and the depth panel with them
    sessionStorage.setItem("flexiserve-api-key", $("api-key").value.trim());
    loadModels().then(() => setBusy(false, "")).catch((e) => setBusy(false, `Cannot load models: ${e.message}`));
  });
}

wire();
setBusy(false, "Loading models…");
loadModels().then(() => setBusy(false, "")).catch((e) => setBusy(false, `Cannot load models: ${e.message}`));
