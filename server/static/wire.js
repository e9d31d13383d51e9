// Protocol 2's binary result frame (docs/protocol.md): "VQS2", a uint32 header length N, N bytes of
// JSON (the result's fields and an "arrays" table), then the raw arrays, each at an 8-aligned offset.

const MAGIC = [86, 81, 83, 50]; // "VQS2"

/** Halves (IEEE 754 binary16 bits) to numbers. */
function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A map in [0, 1] (uint8, uint16 or float16 on the wire) on the 16-bit scale the viewer draws (v / 65535). */
function toSixteenBits(entry, buffer, start) {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const out = new Uint16Array(count);
  if (entry.dtype === "uint8") {
    const src = new Uint8Array(buffer, start + entry.offset, count);
    for (let i = 0; i < count; i++) out[i] = src[i] * 257;
  } else if (entry.dtype === "uint16") {
    out.set(new Uint16Array(buffer, start + entry.offset, count));
  } else if (entry.dtype === "float16") {
    const src = new Uint16Array(buffer, start + entry.offset, count);
    const table = new Uint16Array(65536); // bits -> 16-bit value, filled lazily
    const done = new Uint8Array(65536);
    for (let i = 0; i < count; i++) {
      const bits = src[i];
      if (!done[bits]) {
        table[bits] = Math.round(Math.min(1, Math.max(0, halfToFloat(bits) || 0)) * 65535);
        done[bits] = 1;
      }
      out[i] = table[bits];
    }
  } else throw new Error(`unknown map dtype ${entry.dtype}`);
  return out;
}

/** Is this WebSocket message (an ArrayBuffer) a binary result? */
export function isBinaryResult(buffer) {
  const head = new Uint8Array(buffer, 0, Math.min(4, buffer.byteLength));
  return head.length === 4 && MAGIC.every((b, i) => head[i] === b);
}

/**
 * A binary result to the message the viewer draws: the JSON fields, plus `binary` = {width, height,
 * labels: Uint8Array, maps: {name: Uint16Array on the 16-bit scale}} at the size the server sent.
 */
export function unpackResult(buffer) {
  if (!isBinaryResult(buffer)) throw new Error("not a vqseg binary result");
  const size = new DataView(buffer).getUint32(4, true);
  const msg = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, size)));
  const start = 8 + size;
  const arrays = Object.fromEntries(msg.arrays.map((entry) => [entry.name, entry]));
  const labels = arrays.labels;
  const maps = {};
  for (const entry of msg.arrays) if (entry.name !== "labels") maps[entry.name] = toSixteenBits(entry, buffer, start);
  msg.binary = {
    width: labels.shape[1], height: labels.shape[0],
    labels: new Uint8Array(buffer, start + labels.offset, labels.shape[0] * labels.shape[1]), maps,
  };
  delete msg.arrays;
  return msg;
}
