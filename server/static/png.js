// Exact decoding of the server's grey PNG maps (8-bit labels, 16-bit uncertainty maps).
//
// Why not <img>/createImageBitmap: browsers decode PNGs to 8-bit RGBA, which throws away the low byte
// of a 16-bit map. Normalised mutual information is usually a few hundredths, i.e. only a handful of
// 8-bit levels, so the viewer inflates the PNG itself (the browser's own DecompressionStream does the
// zlib part) and undoes the scanline filters: ~60 lines for exact values, no colour management.

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** base64 text to bytes. */
export function base64Bytes(text) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * Decode a non-interlaced greyscale PNG (colour type 0, bit depth 8 or 16).
 * @returns {Promise<{width: number, height: number, depth: number, data: Uint8Array|Uint16Array}>}
 */
export async function decodeGreyPng(bytes) {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error("not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat = [];
  let header = null;
  for (let pos = 8; pos + 8 <= bytes.length; ) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (type === "IHDR") {
      header = { width: view.getUint32(pos + 8), height: view.getUint32(pos + 12), depth: body[8], colour: body[9], interlace: body[12] };
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      break;
    }
    pos += 12 + length;
  }
  if (!header) throw new Error("PNG without IHDR");
  const { width, height, depth, colour, interlace } = header;
  if (colour !== 0 || interlace !== 0 || (depth !== 8 && depth !== 16)) {
    throw new Error(`unsupported PNG: colour type ${colour}, depth ${depth}, interlace ${interlace}`);
  }
  const inflated = new Uint8Array(
    await new Response(new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate"))).arrayBuffer(),
  );
  const bpp = depth / 8;
  const rows = unfilter(inflated, width * bpp, height, bpp);
  if (depth === 8) return { width, height, depth, data: rows };
  const data = new Uint16Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (rows[2 * i] << 8) | rows[2 * i + 1];
  return { width, height, depth, data };
}

/** Undo PNG's per-scanline filters (None, Sub, Up, Average, Paeth). */
function unfilter(src, stride, height, bpp) {
  if (src.length < (stride + 1) * height) throw new Error("truncated PNG data");
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = src[y * (stride + 1)];
    const s = y * (stride + 1) + 1;
    const o = y * stride;
    const up = y > 0 ? o - stride : -1;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[o + x - bpp] : 0;
      const b = up >= 0 ? out[up + x] : 0;
      const c = up >= 0 && x >= bpp ? out[up + x - bpp] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter}`);
      out[o + x] = (src[s + x] + predictor) & 0xff;
    }
  }
  return out;
}
