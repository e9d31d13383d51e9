// vqseg live viewer (docs/viewer.md): stream this browser's camera, or watch any stream, and show
// each result: frame + label overlay, an uncertainty heat map, the legend and live figures.
//
// URL parameters: key (API key), stream (id for the camera), watch (id to watch at once), mode, tau,
// clock, window, samples, map (entropy | mutual_info | confidence), width (camera frames sent, px).

import { closeCamera, openCamera } from "./camera.js";
import { StreamLink, wsUrl } from "./link.js";
import { MAPS, Picture } from "./picture.js";
import { drawColourBar, paletteLut } from "./render.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const apiKey = params.get("key") || "";
const CONTROLS = ["mode", "tau", "clock", "window", "samples"];
const CLOSE_REASONS = {
  1001: "the server is going away",
  1008: "refused (API key? open the page with ?key=…)",
  1009: "frame too large",
  1011: "server error",
  1013: "server busy or not ready, try again",
  4404: "unknown stream",
  4422: "invalid parameters",
};

const picture = new Picture($("overlay"), $("heat"));
const state = {
  model: null,
  lut: null,
  link: null, // the StreamLink while connected
  camera: null, // the MediaStream while the camera is on
  arrivals: [], // result arrival times (ms), for the fps meter
  latest: null, // newest result not yet drawn: drawing always skips to the newest
  drawing: false,
};

// ---- REST and status ----

async function getJson(path) {
  const response = await fetch(new URL(path, document.baseURI), { headers: apiKey ? { "X-API-Key": apiKey } : {} });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Error("this server needs an API key: open the page with ?key=YOUR_KEY");
  if (!response.ok) throw new Error(body.error?.message || `${path}: HTTP ${response.status}`);
  return body;
}

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

// ---- model, legend, controls ----

function useModel(model) {
  state.model = model;
  state.lut = paletteLut(model.palette);
  $("model-name").textContent = [model.name, model.arch, `${model.backend ?? ""} ${model.device ?? ""}`].join(" · ");
  $("legend").replaceChildren(
    ...model.classes.map((name, i) => {
      const item = document.createElement("li");
      item.innerHTML = '<span class="swatch"></span><span class="name"></span><span class="share"></span>';
      item.querySelector(".swatch").style.background = `rgb(${model.palette[i].join(",")})`;
      item.querySelector(".name").textContent = name;
      return item;
    }),
  );
  // a model's own class set: many classes (Cityscapes' 19, ADE20K's 150) take two columns and scroll
  $("legend").classList.toggle("many", model.classes.length > 12);
  // modes the model cannot serve (bnn/vqbnn without dropout) are shown but cannot be picked
  const modes = model.capabilities?.modes;
  for (const option of $("mode").options) {
    option.disabled = Array.isArray(modes) && !modes.includes(option.value);
    option.title = option.disabled ? model.capabilities.reason : "";
  }
}

function showConfig(config) {
  for (const name of CONTROLS) if (config[name] != null) $(name).value = config[name];
  $("samples-label").hidden = $("mode").value !== "bnn";
}

const readControl = (name) => (name === "mode" || name === "clock" ? $(name).value : Number($(name).value));
const requestedMaps = () => ($("map").value === "entropy" ? [] : [$("map").value]);
const sendControl = (message) => state.link?.role === "camera" && state.link.send({ type: "config", ...message });

function onControlChange(event) {
  const name = event.target.id;
  $("samples-label").hidden = $("mode").value !== "bnn";
  if (name === "clock") {
    // Keep the same decay: tau converts at the measured frame rate (15 fps before any result).
    const fps = Number($("fps").textContent) || 15;
    const tau = readControl("tau") * ($("clock").value === "frames" ? fps : 1 / fps);
    $("tau").value = Number(tau.toPrecision(3));
    return sendControl({ clock: $("clock").value, tau: readControl("tau") });
  }
  const value = readControl(name);
  if (typeof value === "number" && !Number.isFinite(value)) return;
  sendControl({ [name]: value });
}

// ---- starting and stopping ----

function connect(path, role, id, query, options = {}) {
  const handlers = {
    hello: (msg) => {
      useModel(msg.model);
      showConfig(msg.config);
      const source = msg.source ? ` ← ${msg.source}` : "";
      setStatus(role === "camera" ? `streaming camera as ${id}` : `watching ${id}${source} (settings belong to its sender)`, "ok");
    },
    config: (msg) => showConfig(msg.config),
    result: onResult,
    error: (msg) => {
      setStatus(`${msg.code}: ${msg.message}`, "error");
      if (msg.code === "invalid_parameters") getJson(`v1/streams/${encodeURIComponent(id)}`).then((s) => showConfig(s.config), () => {});
    },
    end: (msg) => setStatus(`${id} ended: ${msg.reason}`),
    close: (event) => {
      if (state.link !== link) return;
      const reason = event.reason || CLOSE_REASONS[event.code] || "";
      setStatus(`${id}: closed (${event.code}${reason ? ": " + reason : ""})`, event.code === 1000 ? "" : "error");
      stop();
    },
  };
  const link = new StreamLink(wsUrl(`v1/streams/${encodeURIComponent(id)}/${path}`, query, apiKey), role, handlers, options);
  state.link = link;
  state.arrivals = [];
  $("stop").disabled = false;
  for (const name of CONTROLS) $(name).disabled = role !== "camera";
  setStatus(`connecting to ${id}…`);
}

async function startCamera() {
  const id = $("stream-id").value.trim();
  if (!id || !$("stream-id").checkValidity()) return setStatus("stream id: letters, digits, . _ - only", "error");
  stop();
  try {
    state.camera = await openCamera($("camera"));
  } catch (error) {
    return setStatus(`camera: ${error.message}`, "error");
  }
  // results as protocol 2's binary frames at the network's resolution; float16 maps keep the small
  // values of mutual information that 8 bits would flatten
  const query = { ...Object.fromEntries(CONTROLS.map((name) => [name, $(name).value])), maps: requestedMaps().join(","),
    protocol: 2, map_dtype: "float16" };
  connect("ws", "camera", id, query, { video: $("camera"), frameWidth: () => Number($("send-width").value) });
}

function startWatching(id) {
  if (!id) return setStatus("no stream to watch: start one (vqseg stream …) and press ↻", "error");
  stop();
  connect("subscribe", "watch", id, { frame: 1 });
  showRestream(id);
}

// The stream's annotated MJPEG restream (for VLC, ffmpeg, an NVR): a link beside "Watch".
function showRestream(id) {
  const url = new URL(`v1/streams/${encodeURIComponent(id)}/overlay.mjpg`, document.baseURI);
  url.searchParams.set("heat", "1");
  if (apiKey) url.searchParams.set("key", apiKey);
  const link = $("watch-mjpeg");
  link.href = url.href;
  link.hidden = false;
}

function stop() {
  const link = state.link;
  state.link = null;
  link?.close();
  if (state.camera) closeCamera($("camera"), state.camera);
  state.camera = null;
  $("stop").disabled = true;
  for (const name of CONTROLS) $(name).disabled = false;
}

// ---- results ----

function onResult(msg, { frame, latency }) {
  state.arrivals.push(performance.now());
  showFigures(msg, latency);
  state.latest?.frame?.close();
  state.latest = { msg, frame };
  if (!state.drawing) drawLatest();
}

async function drawLatest() {
  state.drawing = true;
  while (state.latest) {
    const { msg, frame } = state.latest;
    state.latest = null;
    try {
      await picture.update(msg, frame);
      redraw();
      $("overlay").dataset.drawnFrame = String(msg.frame_index); // what tests and scripts may wait for
    } catch (error) {
      setStatus(`cannot draw a result: ${error.message}`, "error");
    }
  }
  state.drawing = false;
}

function redraw() {
  const wanted = $("map").value;
  const drawn = picture.draw({ lut: state.lut, opacity: Number($("opacity").value), wanted });
  if (!drawn) return;
  const { invert, title } = MAPS[drawn.name];
  $("map-name").textContent = drawn.name === wanted ? title : `${title} — ${wanted} not sent by this stream`;
  $("scale-low").textContent = invert ? "1" : "0";
  $("scale-high").textContent = invert ? "0" : drawn.top.toFixed(drawn.top < 0.1 ? 3 : 2);
  const shares = picture.shares(state.model.classes.length);
  $("legend").querySelectorAll(".share").forEach((el, k) => (el.textContent = shares[k] >= 0.005 ? `${(100 * shares[k]).toFixed(0)}%` : shares[k] > 0 ? "<1%" : ""));
}

function showFigures(msg, latency) {
  const t = msg.timing_ms ?? {};
  const heldBack = state.link?.role === "camera" ? ` · ${state.link.heldBack} held back` : "";
  $("frame-index").textContent = msg.frame_index;
  $("dropped").textContent = `${msg.dropped}${heldBack}`;
  $("latency").textContent = latency == null ? "– (another client's frames)" : `${latency.toFixed(0)} ms`;
  $("server-ms").textContent = `${(t.total ?? 0).toFixed(0)} ms (fwd ${(t.forward ?? 0).toFixed(0)})`;
  $("blend").textContent = `${msg.mode} · ${msg.buffer_len} frame${msg.buffer_len === 1 ? "" : "s"}`;
  const { mean_uncertainty: mean, low_confidence: low } = msg.summary;
  $("mean-unc").textContent = mean.toFixed(3);
  $("low-conf").textContent = `${(100 * low).toFixed(0)}% of pixels`;
}

function showFps() {
  const now = performance.now();
  state.arrivals = state.arrivals.filter((t) => now - t < 2000);
  const n = state.arrivals.length;
  const span = n > 1 ? (state.arrivals[n - 1] - state.arrivals[0]) / 1000 : 0;
  $("fps").textContent = span > 0 ? ((n - 1) / span).toFixed(1) : state.link ? "0.0" : "–";
}

function probe(event) {
  if (!state.model) return;
  const box = event.target.getBoundingClientRect();
  const text = picture.describe((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height, state.model.classes);
  if (text) $("probe").textContent = text;
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
    sendControl({ maps: requestedMaps() });
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
    const fromUrl = Object.fromEntries(CONTROLS.filter((name) => params.has(name)).map((name) => [name, params.get(name)]));
    showConfig({ ...model.defaults, ...fromUrl });
    setStatus("ready: start the camera, or pick a stream to watch", "ok");
  } catch (error) {
    setStatus(`cannot reach the server: ${error.message}`, "error");
  }
  await refreshStreams();
  if (params.get("watch")) startWatching(params.get("watch"));
}

main();
