// The result on screen: its decoded maps and frame, drawn on the overlay and heat-map canvases.

import { base64Bytes, decodeGreyPng } from "./png.js";
import { classShares, drawImageData, drawOverlay, heatImage, labelImage, mapMax } from "./render.js";

export const MAPS = {
  entropy: { title: "predictive entropy H[P] / log C", invert: false, auto: false },
  mutual_info: { title: "mutual information / log C (scaled to the frame's max)", invert: false, auto: true },
  confidence: { title: "confidence max P (low confidence is hot)", invert: true, auto: false },
};

export class Picture {
  constructor(overlayCanvas, heatCanvas) {
    Object.assign(this, { overlayCanvas, heatCanvas, shown: null });
  }

  /**
   * Decode a result message; `frame` is the bitmap we sent (else the result's own `frame` JPEG, if any).
   * Binary results (protocol 2) carry their arrays already, at the network's resolution: they are
   * upsampled to the frame's size when drawn.
   */
  async update(msg, frame) {
    if (msg.binary) {
      if (this.shown?.frame && this.shown.frame !== frame) this.shown.frame.close();
      const { width, height, labels, maps } = msg.binary;
      this.shown = { width, height, labels, maps, frame, frameWidth: msg.width, frameHeight: msg.height };
      return;
    }
    const png = (b64) => decodeGreyPng(base64Bytes(b64));
    const names = Object.keys(msg.maps ?? {});
    const jpeg = msg.frame ? createImageBitmap(new Blob([base64Bytes(msg.frame)], { type: "image/jpeg" })) : null;
    const [labels, entropy, image, ...extra] = await Promise.all([
      png(msg.labels), png(msg.uncertainty), frame ?? jpeg, ...names.map((name) => png(msg.maps[name])),
    ]);
    if (this.shown?.frame && this.shown.frame !== image) this.shown.frame.close();
    const maps = { entropy: entropy.data };
    names.forEach((name, k) => (maps[name] = extra[k].data));
    this.shown = { width: labels.width, height: labels.height, labels: labels.data, maps, frame: image,
      frameWidth: msg.width ?? labels.width, frameHeight: msg.height ?? labels.height };
  }

  /**
   * Draw the frame with the labels at `opacity` (palette `lut`) and the map `wanted` (entropy if the
   * result lacks it). Returns what was drawn: {name, top} (top: the value shown brightest), or null.
   */
  draw({ lut, opacity, wanted }) {
    const shown = this.shown;
    if (!shown || !lut) return null;
    const { width, height, frameWidth, frameHeight } = shown;
    const size = { width: frameWidth || width, height: frameHeight || height }; // drawn at the frame's size
    drawOverlay(this.overlayCanvas, shown.frame, labelImage(shown.labels, width, height, lut), opacity, size);
    const name = shown.maps[wanted] ? wanted : "entropy";
    const { invert, auto } = MAPS[name];
    const top = auto ? Math.max(mapMax(shown.maps[name]), 0.01) : 1;
    drawImageData(this.heatCanvas, heatImage(shown.maps[name], width, height, { invert, top }), size);
    return { name, top };
  }

  /** Share of the pixels per class in the result on screen. */
  shares(numClasses) {
    return this.shown ? classShares(this.shown.labels, numClasses) : [];
  }

  /** "(x, y) Class · entropy 0.1234 · …" at a point given as fractions of the picture's width and height. */
  describe(fx, fy, classes) {
    const shown = this.shown;
    if (!shown) return "";
    const x = Math.min(shown.width - 1, Math.max(0, Math.floor(fx * shown.width)));
    const y = Math.min(shown.height - 1, Math.max(0, Math.floor(fy * shown.height)));
    const i = y * shown.width + x;
    const values = Object.entries(shown.maps).map(([name, map]) => `${name} ${(map[i] / 65535).toFixed(4)}`);
    return [`(${x}, ${y}) ${classes[shown.labels[i]] ?? shown.labels[i]}`, ...values].join(" · ");
  }
}
