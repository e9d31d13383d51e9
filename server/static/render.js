// Canvas painting: the frame with the colour label overlay, the uncertainty heat map, and the legend.

// The server's heat-map colours (OpenCV COLORMAP_INFERNO, streaming/render.py), 256 RGB triples.
// tests/viewer/test_static.py checks these bytes against cv2.applyColorMap.
const INFERNO_B64 =
  "AAAEAQAFAQEGAQEIAgEKAgIMAgIOAwIQBAMSBAMUBQQXBgQZBwUbCAUdCQYfCgciCwckDAgmDQgpDgkrEAktEQowEgoyFAs0FQs3Fgs5GAw8GQw+GwxBHAxDHgxFHwxIIQxKIwxMJAxPJgxRKAtTKQtVKwtXLQtZLwpbMQpcMgpeNApfNglhOAliOQljOwlkPQllPglmQApnQgpoRApoRQppRwtqSQtqSgxrTAxrTQ1sTw1sUQ5sUg5tVA9tVQ9tVxBuWRBuWhFuXBJuXRJuXxNuYRNuYhRuZBVuZRVuZxZuaRZuahdubBhubRhubxlucRluchpudBpudRtudxxteBxteh1tfB1tfR5tfx5sgB9sgiBshCBrhSFrhyFriCJqiiJqjCNpjSNpjyRpkCVokiVokyZnlSZnlydmmCdmmihlmylknSlknypjoCpjoitioyxhpSxgpi1gqC5fqS5eqy9erTBdrjBcsDFbsTJaszJatDNZtjRYtzVXuTVWujZVvDdUvThTvzlSwDpRwTpQwztPxDxOxj1Nxz5MyD9LykBKy0FJzEJIzkNHz0RG0EVF0kZE00dD1EhC1UpB10s/2Ew+2U092k4821A73VE63lI431M34FU24VY14lc041kz5Fox5Vww5l0v514u6GAt6WEr6mMq62Qp62Yo7Gcm7Wkl7mok72wj724h8G8g8XEf8XMd8nQc83Yb83gZ9HkY9XsX9X0V9n4U9oAT94IS94QQ+IUP+IcO+IkM+YsL+YwK+Y4J+pAI+pIH+pQH+5YG+5cG+5kG+5sG+50H/J8H/KEI/KMJ/KUK/KYM/KgN/KoP/KwR/K4S/LAU/LIW/LQY+7Ya+7gd+7of+7wh+74j+sAm+sIo+sQq+sYt+ccv+cky+cs1+M03+M8699E999NA9tVD9tdG9dlJ9dtM9N1P9N9T9OFW8+Na8+Vd8uZh8uhl8upp8ext8e1x8e918fF58vJ98vSC8/WG8/aK9PiO9fmS9vqW+Pua+fyd+v2h/P+k";

export const INFERNO = Uint8Array.from(atob(INFERNO_B64), (c) => c.charCodeAt(0));

/** A 256-entry RGBA lookup table from the model's palette (indices past the palette: black). */
export function paletteLut(palette) {
  const lut = new Uint32Array(256);
  const bytes = new Uint8Array(lut.buffer);
  palette.forEach(([r, g, b], i) => bytes.set([r, g, b, 255], 4 * i));
  for (let i = palette.length; i < 256; i++) bytes.set([0, 0, 0, 255], 4 * i);
  return lut;
}

/** Class indices (Uint8Array) to an RGBA ImageData through the palette LUT. */
export function labelImage(labels, width, height, lut) {
  const image = new ImageData(width, height);
  const pixels = new Uint32Array(image.data.buffer);
  for (let i = 0; i < labels.length; i++) pixels[i] = lut[labels[i]];
  return image;
}

/**
 * A map in [0, 1] to an inferno heat map. `values` holds 16-bit PNG values (v / 65535);
 * `invert` shows 1 - v (confidence: low confidence is hot); `top` is the value drawn brightest.
 */
export function heatImage(values, width, height, { invert = false, top = 1 } = {}) {
  const image = new ImageData(width, height);
  const out = image.data;
  const scale = 255 / Math.max(top, 1e-6) / 65535;
  for (let i = 0; i < values.length; i++) {
    const v = invert ? 65535 - values[i] : values[i];
    const k = 3 * Math.min(255, Math.round(v * scale));
    out[4 * i] = INFERNO[k];
    out[4 * i + 1] = INFERNO[k + 1];
    out[4 * i + 2] = INFERNO[k + 2];
    out[4 * i + 3] = 255;
  }
  return image;
}

/** The largest value of a 16-bit map, as a fraction in [0, 1]. */
export function mapMax(values) {
  let top = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > top) top = values[i];
  return top / 65535;
}

/** The share of pixels per class. */
export function classShares(labels, numClasses) {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) if (labels[i] < numClasses) counts[labels[i]]++;
  return Array.from(counts, (n) => n / Math.max(1, labels.length));
}

/** Resize `canvas` to width x height if it differs (resizing clears it). */
export function fit(canvas, width, height) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
}

/**
 * Draw the frame (or grey if none) and the label colours over it with opacity `alpha`, at `size`
 * (default: the labels' size); labels of another size are scaled to it without smoothing (nearest).
 */
export function drawOverlay(canvas, frame, labelsImage, alpha, size = labelsImage) {
  const { width, height } = size;
  fit(canvas, width, height);
  const ctx = canvas.getContext("2d");
  if (frame) ctx.drawImage(frame, 0, 0, width, height);
  else {
    ctx.fillStyle = "#444";
    ctx.fillRect(0, 0, width, height);
  }
  const layer = new OffscreenCanvas(labelsImage.width, labelsImage.height);
  layer.getContext("2d").putImageData(labelsImage, 0, 0);
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(layer, 0, 0, width, height);
  ctx.imageSmoothingEnabled = true;
  ctx.globalAlpha = 1;
}

/** Draw an ImageData on a canvas of `size` (default its own), scaled smoothly when the sizes differ. */
export function drawImageData(canvas, image, size = image) {
  fit(canvas, size.width, size.height);
  const ctx = canvas.getContext("2d");
  if (size.width === image.width && size.height === image.height) return ctx.putImageData(image, 0, 0);
  const layer = new OffscreenCanvas(image.width, image.height);
  layer.getContext("2d").putImageData(image, 0, 0);
  ctx.drawImage(layer, 0, 0, size.width, size.height);
}

/** A horizontal inferno colour bar. */
export function drawColourBar(canvas) {
  const ctx = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    const k = 3 * Math.round((255 * x) / Math.max(1, canvas.width - 1));
    ctx.fillStyle = `rgb(${INFERNO[k]}, ${INFERNO[k + 1]}, ${INFERNO[k + 2]})`;
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}
