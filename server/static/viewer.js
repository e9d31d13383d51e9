// vqseg live viewer: stream this browser's camera to /v1/streams/{id}/ws, or watch any stream through
// /v1/streams/{id}/subscribe, and draw each result (docs/protocol.md, version 1; docs/viewer.md).
//
// URL parameters: key (API key), stream (id for the camera), watch (id to watch at once), mode, tau,
// clock, window, samples, map (entropy | mutual_info | confidence), width (camera frames sent, px).

import { closeCamera, eachFrame, grabFrame, openCamera } from "./camera.js";
import { base64Bytes, decodeGreyPng } from "./png.js";
import { classShares, drawColourBar, drawImageData, drawOverlay, heatImage, labelImage, mapMax, paletteLut } from "./render.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const apiKey = params.get("key") || "";
const MAX_IN_FLIGHT = 2; // camera frames sent and not yet answered; more would only wait on the server
const STALE_MS = 5000; // a sent frame with no answer after this long was lost (e.g. refused)
const CONTROLS = ["mode", "tau", "clock", "window", "samples"];
const MAPS = {
  entropy: { title: "predictive entropy H[P] / log C", invert: false, auto: false },
  mutual_info: { title: "mutual information / log C (scaled to the frame's max)", invert: false, auto: true },
  confidence: { title: "confidence max P (low confidence is hot)", invert: true, auto: false },
};
const CLOSE_REASONS = {
  1001: "the server is going away",
  1008: "refused (API key? add ?key=… to the page URL)",
  1009: "frame too large",
  1011: "server error",
  1013: "server busy or not ready, try again",
  4404: "unknown stream",
  4422: "invalid parameters",
};

const state = {
  model: null,
  lut: null,
  ws: null,
  role: null, // "camera" | "watch"
  camera: null,
  stopFrames: null,
  pending: [], // camera frames in flight: {timestamp, sentAt, bitmap}
  heldBack: 0, // camera frames not sent because MAX_IN_FLIGHT were in flight
  arrivals: [], // result arrival times (ms), for the fps meter
  latest: null, // newest result not yet drawn (drawing skips to the newest)
  drawing: false,
  shown: null, // the decoded result on screen
};

// ---- server access (relative URLs, so it works behind a reverse proxy; wss: on https pages) ----

const apiUrl = (path) => new URL(path, document.baseURI);

function wsUrl(path, query) {
  const url = apiUrl(path);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [name, value] of Object.entries(query)) if (value !== "" && value != null) url.searchParams.set(name, value);
  if (apiKey) url.searchParams.set("key", apiKey);
  return url.href;
}

async function getJson(path) {
  const response = await fetch(apiUrl(path), { headers: apiKey ? { "X-API-Key": apiKey } : {} });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Error("this server needs an API key: open the page with ?key=YOUR_KEY");
  if (!response.ok) throw new Error(body.error?.message || `${path}: HTTP ${response.status}`);
  return body;
}

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

// ---- model, legend and controls ----

function useModel(model) {
  state.model = model;
  state.lut = paletteLut(model.palette);
  $("model-name").textContent = `${model.name ?? ""} · ${model.arch ?? ""} · ${model.backend ?? ""} ${model.device ?? ""}`;
  $("legend").replaceChildren(
    ...model.classes.map((name, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = `rgb(${model.palette[i].join(",")})`;
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      const share = document.createElement("span");
      share.className = "share";
      item.append(swatch, label, share);
      return item;
    }),
  );
}

function showConfig(config) {
  for (const name of CONTROLS) if (config[name] != null) $(name).value = config[name];
  $("samples-label").hidden = $("mode").value !== "bnn";
}

function readControl(name) {
  const value = $(name).value;
  return ["mode", "clock"].includes(name) ? value : Number(value);
}

function enableControls(on) {
  for (const name of CONTROLS) $(name).disabled = !on;
}

const selectedMap = () => $("map").value;
const requestedMaps = () => (selectedMap() === "entropy" ? [] : [selectedMap()]);

function sendControl(message) {
  if (state.role === "camera" && state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function onControlChange(event) {
  const name = event.target.id;
  $("samples-label").hidden = $("mode").value !== "bnn";
  if (name === "clock") return changeClock();
  const value = readControl(name);
  if (typeof value === "number" && !Number.isFinite(value)) return;
  sendControl({ type: "config", [name]: value });
}

/** A new clock keeps the same decay: tau converts at the measured frame rate (15 fps before any result). */
function changeClock() {
  const fps = Number($("fps").textContent) || 15;
  const tau = readControl("tau");
  const converted = $("clock").value === "frames" ? tau * fps : tau / fps;
  $("tau").value = Number(converted.toPrecision(3));
  sendControl({ type: "config", clock: $("clock").value, tau: readControl("tau") });
}

// ---- connections ----

function connect(url, role, what) {
  const ws = new WebSocket(url);
  Object.assign(state, { ws, role, pending: [], heldBack: 0, arrivals: [] });
  $("stop").disabled = false;
  enableControls(role === "camera");
  setStatus(`connecting to ${what}…`);
  ws.onmessage = (event) => onMessage(JSON.parse(event.data), what);
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    const reason = event.reason || CLOSE_REASONS[event.code] || "";
    setStatus(`${what}: closed (${event.code}${reason ? ": " + reason : ""})`, event.code === 1000 ? "" : "error");
    stop(false);
  };
  return ws;
}

async function startCamera() {
  const id = $("stream-id").value.trim();
  if (!$("stream-id").checkValidity() || !id) return setStatus("stream id: letters, digits, . _ - only", "error");
  stop();
  try {
    state.camera = await openCamera($("camera"));
  } catch (error) {
    return setStatus(`camera: ${error.message}`, "error");
  }
  const query = Object.fromEntries(CONTROLS.map((name) => [name, $(name).value]));
  connect(wsUrl(`v1/streams/${encodeURIComponent(id)}/ws`, { ...query, maps: requestedMaps().join(",") }), "camera", id);
}

function startWatching(id) {
  if (!id) return setStatus("no stream to watch: start one (vqseg stream …) and press ↻", "error");
  stop();
  connect(wsUrl(`v1/streams/${encodeURIComponent(id)}/subscribe`, { frame: 1 }), "watch", id);
}

function stop(closeSocket = true) {
  state.stopFrames?.();
  state.stopFrames = null;
  if (state.camera) closeCamera($("camera"), state.camera);
  state.camera = null;
  if (closeSocket && state.ws?.readyState <= WebSocket.OPEN) state.ws.close(1000, "viewer stopped");
  state.ws = null;
  state.role = null;
  state.pending.forEach((p) => p.bitmap.close());
  state.pending = [];
  $("stop").disabled = true;
  enableControls(true);
}

function onMessage(msg, what) {
  if (msg.type === "hello") {
    useModel(msg.model);
    showConfig(msg.config);
    const source = msg.source ? ` ← ${msg.source}` : "";
    setStatus(state.role === "camera" ? `streaming camera as ${what}` : `watching ${what}${source} (settings belong to its sender)`, "ok");
    if (state.role === "camera") state.stopFrames = eachFrame($("camera"), sendFrame);
  } else if (msg.type === "config") {
    showConfig(msg.config);
  } else if (msg.type === "result") {
    onResult(msg);
  } else if (msg.type === "error") {
    setStatus(`${msg.code}: ${msg.message}`, "error");
    if (["invalid_parameters", "malformed_message"].includes(msg.code)) getJson(`v1/streams/${encodeURIComponent(what)}`).then((s) => showConfig(s.config), () => {});
    else state.pending.shift()?.bitmap.close(); // that frame gets no result
  } else if (msg.type === "end") {
    setStatus(`${what} ended: ${msg.reason}`);
  }
}

// ---- camera frames out ----

async function sendFrame() {
  const ws = state.ws;
  if (state.role !== "camera" || ws?.readyState !== WebSocket.OPEN) return;
  const now = performance.now();
  while (state.pending.length && now - state.pending[0].sentAt > STALE_MS) state.pending.shift().bitmap.close();
  if (state.pending.length >= MAX_IN_FLIGHT) {
    state.heldBack++;
    return;
  }
  const { bitmap, jpeg } = await grabFrame($("camera"), Number($("send-width").value));
  if (ws !== state.ws || ws.readyState !== WebSocket.OPEN) return bitmap.close();
  const timestamp = (performance.timeOrigin + performance.now()) / 1000;
  ws.send(JSON.stringify({ type: "frame", timestamp }));
  ws.send(jpeg);
  state.pending.push({ timestamp, sentAt: performance.now(), bitmap });
}

// ---- results in ----

function onResult(msg) {
  const now = performance.now();
  state.arrivals.push(now);
  let frame = null;
  let latency = null;
  // Results come in frame order; frames before the answered one were dropped by the server.
  const i = state.pending.findIndex((p) => Math.abs(p.timestamp - msg.timestamp) < 2e-3);
  if (i >= 0) {
    const answered = state.pending.splice(0, i + 1);
    answered.slice(0, -1).forEach((p) => p.bitmap.close());
    frame = answered.at(-1).bitmap;
    latency = now - answered.at(-1).sentAt;
  }
  showStats(msg, latency);
  state.latest?.frame?.close();
  state.latest = { msg, frame };
  if (!state.drawing) drawLatest();
}

async function drawLatest() {
  state.drawing = true;
  try {
    while (state.latest) {
      const item = state.latest;
      state.latest = null;
      try {
        await decodeResult(item);
        redraw();
      } catch (error) {
        setStatus(`cannot draw a result: ${error.message}`, "error");
      }
    }
  } finally {
    state.drawing = false;
  }
}

async function decodeResult({ msg, frame }) {
  const png = (b64) => decodeGreyPng(base64Bytes(b64));
  const names = Object.keys(msg.maps ?? {});
  const picture = frame ?? (msg.frame ? createImageBitmap(new Blob([base64Bytes(msg.frame)], { type: "image/jpeg" })) : null);
  const [labels, entropy, image, ...extra] = await Promise.all([png(msg.labels), png(msg.uncertainty), picture, ...names.map((n) => png(msg.maps[n]))]);
  if (state.shown?.frame && state.shown.frame !== image) state.shown.frame.close();
  const maps = { entropy: entropy.data };
  names.forEach((name, k) => (maps[name] = extra[k].data));
  state.shown = { width: labels.width, height: labels.height, labels: labels.data, maps, frame: image };
}

function redraw() {
  const shown = state.shown;
  if (!shown || !state.lut) return;
  const { width, height } = shown;
  drawOverlay($("overlay"), shown.frame, labelImage(shown.labels, width, height, state.lut), Number($("opacity").value));
  const wanted = selectedMap();
  const name = shown.maps[wanted] ? wanted : "entropy";
  const info = MAPS[name];
  const top = info.auto ? Math.max(mapMax(shown.maps[name]), 0.01) : 1;
  drawImageData($("heat"), heatImage(shown.maps[name], width, height, { invert: info.invert, top }));
  $("map-name").textContent = name === wanted ? info.title : `${info.title} — ${wanted} not sent by this stream`;
  $("scale-low").textContent = info.invert ? "1" : "0";
  $("scale-high").textContent = info.invert ? "0" : top.toFixed(top < 0.1 ? 3 : 2);
  const shares = classShares(shown.labels, state.model.classes.length);
  $("legend").querySelectorAll(".share").forEach((el, k) => (el.textContent = shares[k] > 0 ? `${(100 * shares[k]).toFixed(0)}%` : ""));
}

function showStats(msg, latency) {
  const t = msg.timing_ms ?? {};
  $("frame-index").textContent = msg.frame_index;
  $("dropped").textContent = state.role === "camera" ? `${msg.dropped} · ${state.heldBack} held back` : `${msg.dropped}`;
  $("latency").textContent = latency == null ? "– (another client's frames)" : `${latency.toFixed(0)} ms`;
  $("server-ms").textContent = `${(t.total ?? 0).toFixed(0)} ms (forward ${(t.forward ?? 0).toFixed(0)})`;
  $("blend").textContent = `${msg.mode} · ${msg.buffer_len} frame${msg.buffer_len === 1 ? "" : "s"}`;
  $("mean-unc").textContent = `${msg.summary.mean_uncertainty.toFixed(3)} mean · ${(100 * msg.summary.low_confidence).toFixed(0)}% < 0.9 conf`;
}

function showFps() {
  const now = performance.now();
  state.arrivals = state.arrivals.filter((t) => now - t < 2000);
  const n = state.arrivals.length;
  const span = n > 1 ? (state.arrivals[n - 1] - state.arrivals[0]) / 1000 : 0;
  $("fps").textContent = span > 0 ? ((n - 1) / span).toFixed(1) : state.ws ? "0.0" : "–";
}

function probe(event) {
  const shown = state.shown;
  if (!shown || !state.model) return;
  const box = event.target.getBoundingClientRect();
  const x = Math.min(shown.width - 1, Math.floor(((event.clientX - box.left) / box.width) * shown.width));
  const y = Math.min(shown.height - 1, Math.floor(((event.clientY - box.top) / box.height) * shown.height));
  const i = y * shown.width + x;
  const values = Object.entries(shown.maps).map(([name, map]) => `${name} ${(map[i] / 65535).toFixed(4)}`);
  $("probe").textContent = [`(${x}, ${y}) ${state.model.classes[shown.labels[i]] ?? shown.labels[i]}`, ...values].join(" · ");
}

async function refreshStreams() {
  const list = $("watch-list");
  const keep = list.value || params.get("watch") || "";
  try {
    const { streams } = await getJson("v1/streams");
    const options = streams.map((s) => new Option(`${s.stream_id} (${s.kind}, ${s.state}, ${s.frames} frames)`, s.stream_id));
    list.replaceChildren(...(options.length ? options : [new Option("(no streams)", "")]));
    if (streams.some((s) => s.stream_id === keep)) list.value = keep;
  } catch (error) {
    list.replaceChildren(new Option(`(cannot list: ${error.message})`, ""));
  }
}

// ---- start ----

async function main() {
  $("stream-id").value = params.get("stream") || `browser-${Math.random().toString(36).slice(2, 6)}`;
  if (params.get("width")) $("send-width").value = params.get("width");
  if (params.get("map") in MAPS) $("map").value = params.get("map");
  drawColourBar($("colour-bar"));
  for (const name of CONTROLS) $(name).addEventListener("change", onControlChange);
  $("opacity").addEventListener("input", redraw);
  $("map").addEventListener("change", () => {
    sendControl({ type: "config", maps: requestedMaps() });
    redraw();
  });
  $("camera-start").addEventListener("click", startCamera);
  $("watch-start").addEventListener("click", () => startWatching($("watch-list").value));
  $("watch-refresh").addEventListener("click", refreshStreams);
  $("stop").addEventListener("click", () => {
    stop();
    setStatus("stopped");
  });
  $("overlay").addEventListener("mousemove", probe);
  $("heat").addEventListener("mousemove", probe);
  setInterval(showFps, 250);
  try {
    const model = await getJson("v1/model");
    useModel(model);
    showConfig({ ...model.defaults, ...Object.fromEntries(CONTROLS.filter((n) => params.has(n)).map((n) => [n, params.get(n)])) });
    setStatus("ready: start the camera, or pick a stream to watch", "ok");
  } catch (error) {
    setStatus(`cannot reach the server: ${error.message}`, "error");
  }
  await refreshStreams();
  if (params.get("watch")) startWatching(params.get("watch"));
}

main();
