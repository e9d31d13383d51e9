// One WebSocket to the server (docs/protocol.md): push this browser's camera to /v1/streams/{id}/ws
// (results as protocol 2's binary frames), or watch a stream through /v1/streams/{id}/subscribe
// (protocol 1 JSON).

import { eachFrame, grabFrame } from "./camera.js";
import { isBinaryResult, unpackResult } from "./wire.js";

const MAX_IN_FLIGHT = 2; // camera frames sent and not yet answered; more would only wait on the server
const STALE_MS = 5000; // a sent frame with no answer after this long was lost
const NO_RESULT = new Set(["bad_image", "frame_too_large", "unsupported_media_type", "overloaded", "model_error"]);

/** A ws:/wss: URL relative to the page (so it works behind a reverse proxy), with the API key. */
export function wsUrl(path, query, apiKey) {
  const url = new URL(path, document.baseURI);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [name, value] of Object.entries(query)) if (value !== "" && value != null) url.searchParams.set(name, value);
  if (apiKey) url.searchParams.set("key", apiKey);
  return url.href;
}

export class StreamLink {
  /**
   * `role` "camera" sends `video`'s frames (scaled to `frameWidth()` px) once the server said hello;
   * "watch" only receives. `on` holds handlers by message type (hello, config, result, error, end)
   * and `close`; `on.result(msg, {frame, latency})` gets the sent frame back when it was ours.
   */
  constructor(url, role, on, { video = null, frameWidth = () => 0 } = {}) {
    Object.assign(this, { role, on, video, frameWidth, pending: [], heldBack: 0, stopFrames: null });
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (event) => {
      if (typeof event.data === "string") this.receive(JSON.parse(event.data));
      else if (isBinaryResult(event.data)) this.receive(unpackResult(event.data));
    };
    this.ws.onclose = (event) => {
      this.halt();
      on.close?.(event);
    };
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a control message (JSON). */
  send(message) {
    if (this.isOpen) this.ws.send(JSON.stringify(message));
  }

  close() {
    this.halt();
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, "viewer stopped");
  }

  halt() {
    this.stopFrames?.();
    this.stopFrames = null;
    this.pending.forEach((p) => p.bitmap.close());
    this.pending = [];
  }

  receive(msg) {
    if (msg.type === "hello" && this.role === "camera") this.stopFrames = eachFrame(this.video, () => this.sendFrame());
    if (msg.type === "error" && NO_RESULT.has(msg.code)) this.pending.shift()?.bitmap.close();
    if (msg.type === "result") this.on.result?.(msg, this.answered(msg));
    else this.on[msg.type]?.(msg);
  }

  /** The frame a result belongs to (we sent it with `timestamp`), and its round trip in ms. */
  answered(msg) {
    const i = this.pending.findIndex((p) => Math.abs(p.timestamp - msg.timestamp) < 2e-3);
    if (i < 0) return { frame: null, latency: null };
    // Results come in frame order: the frames before this one were dropped by the server.
    const done = this.pending.splice(0, i + 1);
    done.slice(0, -1).forEach((p) => p.bitmap.close());
    const hit = done.at(-1);
    return { frame: hit.bitmap, latency: performance.now() - hit.takenAt };
  }

  async sendFrame() {
    if (!this.isOpen) return;
    const now = performance.now();
    while (this.pending.length && now - this.pending[0].takenAt > STALE_MS) this.pending.shift().bitmap.close();
    if (this.pending.length >= MAX_IN_FLIGHT) {
      this.heldBack++;
      return;
    }
    const takenAt = performance.now();
    const timestamp = (performance.timeOrigin + takenAt) / 1000; // capture time, seconds
    const { bitmap, jpeg } = await grabFrame(this.video, this.frameWidth());
    if (!this.isOpen || !this.stopFrames) return bitmap.close();
    this.ws.send(JSON.stringify({ type: "frame", timestamp }));
    this.ws.send(jpeg);
    this.pending.push({ timestamp, takenAt, bitmap });
  }
}
