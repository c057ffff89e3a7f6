// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// u64 N, N bytes of a UTF-8 JSON header {name: {dtype, shape, data_offsets: [begin, end]}, optional
// "__metadata__": {string: string}}, then the tensors' bytes, little-endian, row-major. Offsets count
// from the start of the data; the tensors cover the data exactly (no holes, no overlap, nothing
// after). This codec writes F32 only, with the header padded by spaces so the data starts at a
// multiple of 8, and reads F32 (bit for bit) and F64, F16 and BF16 (converted to f32). Every check
// runs before anything is built; a bad file gets one FwdgradError line naming what is wrong.
import { FwdgradError } from "../engine/errors.ts";

/** One named array of a safetensors file: its shape (row-major) and f32 values. */
export interface SafetensorsEntry {
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values, row-major, converted to f32 where the file holds another float dtype. */
  data: Float32Array;
}

/** A parsed safetensors file: its tensors in header order, and its `__metadata__` (empty when absent). */
export interface SafetensorsFile {
  /** The tensors by name, in the header's order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The header's `__metadata__` string entries; empty when absent. */
  metadata: Record<string, string>;
}

/** Bytes per element of the dtypes the format defines; the ones this codec reads are in READABLE. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const READABLE = ["F32", "F64", "F16", "BF16"];
/** The reference implementation's limit on the header. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA = "__metadata__";
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(why: string): never {
  throw new FwdgradError(`safetensors: ${why.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}`);
}

/** A name or value as messages quote it: JSON, cut at 60 characters. */
const quote = (s: string) => {
  const text = JSON.stringify(s);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
};

const describe = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? quote(v) : typeof v === "object" ? "an object" : String(v));

/**
 * A safetensors file holding `tensors` (f32, in the order given) and `metadata` (string values;
 * written as `__metadata__`). Throws a FwdgradError on a bad name, shape or metadata value.
 * @example
 * ```ts
 * const bytes = encodeSafetensors([{ name: "0.weight", shape: [2, 3], data: new Float32Array(6) }], { format: "pt" });
 * parseSafetensors(bytes).tensors.get("0.weight"); // { shape: [2, 3], data: Float32Array(6) }
 * ```
 */
export function encodeSafetensors(tensors: ReadonlyArray<{ name: string; shape: readonly number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  // The header written entry by entry, in the order given (an object would put integer-like names first).
  const entries: string[] = [];
  const seen = new Set<string>();
  const meta = Object.entries(metadata);
  if (meta.length > 0) {
    for (const [key, value] of meta) if (typeof value !== "string") fail(`metadata ${quote(key)} must be a string, got ${describe(value)}`);
    entries.push(`${JSON.stringify(METADATA)}:{${meta.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(",")}}`);
  }
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    if (typeof name !== "string" || name === METADATA) fail(`a tensor cannot be named ${describe(name)}`);
    if (seen.has(name)) fail(`two tensors are named ${quote(name)}`);
    seen.add(name);
    if (!(data instanceof Float32Array)) fail(`tensor ${quote(name)}: data must be a Float32Array, got ${describe(data)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${quote(name)}: shape ${JSON.stringify(shape)} is not a list of sizes`);
    const count = shape.reduce((a, d) => a * d, 1);
    if (count !== data.length) fail(`tensor ${quote(name)}: shape ${JSON.stringify(shape)} holds ${count} values, the data ${data.length}`);
    entries.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: "F32", shape: [...shape], data_offsets: [offset, offset + 4 * count] })}`);
    offset += 4 * count;
  }
  let json = `{${entries.join(",")}}`;
  json += " ".repeat((8 - ((new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  view.setUint32(4, Math.floor(head.length / 2 ** 32), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const { data } of tensors) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    else for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
    at += data.byteLength;
  }
  return out;
}

/**
 * The tensors and metadata of a safetensors file. F32 tensors are read bit for bit; F64, F16 and
 * BF16 are converted to f32. Throws a one-line FwdgradError on anything the format does not allow
 * (a header length beyond the file, a header that is not UTF-8 JSON of the format's shape, a
 * duplicate name, an unknown dtype, a shape that disagrees with its offsets, offsets that overlap,
 * leave a hole or stop before the end of the file) and on dtypes it cannot convert (integers, bool, f8).
 * @example
 * ```ts
 * const { tensors, metadata } = parseSafetensors(bytes);
 * for (const [name, { shape, data }] of tensors) console.log(name, shape, data.length);
 * ```
 */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) fail(`expected the file's bytes (a Uint8Array), got ${describe(bytes)}`);
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) fail(`the header length ${length} is beyond the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerBytes = Number(length);
  if (headerBytes > bytes.length - 8) fail(`the header length ${headerBytes} is beyond the file (${bytes.length - 8} bytes after the length)`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail("the header is not valid UTF-8");
  }
  if (!text.startsWith("{")) fail(`the header must be a JSON object starting with "{", got ${quote(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    fail("the header is not valid JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail("the header must be a JSON object");
  const { duplicate, order } = scanKeys(text);
  if (duplicate !== null) fail(`the header names ${quote(duplicate)} twice`);

  const metadata: Record<string, string> = Object.create(null);
  const infos: Array<{ name: string; dtype: string; shape: number[]; count: number; begin: number; end: number }> = [];
  // In the header's order (an object's own keys put integer-like names first).
  for (const name of order) {
    const value = (header as Record<string, unknown>)[name];
    if (name === METADATA) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) fail(`__metadata__ must be an object of strings, got ${describe(value)}`);
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ ${quote(key)} must be a string, got ${describe(v)}`);
        metadata[key] = v;
      }
      continue;
    }
    const where = `tensor ${quote(name)}`;
    if (value === null || typeof value !== "object" || Array.isArray(value)) fail(`${where} must be an object {dtype, shape, data_offsets}, got ${describe(value)}`);
    const info = value as Record<string, unknown>;
    const extra = Object.keys(info).find((key) => key !== "dtype" && key !== "shape" && key !== "data_offsets");
    if (extra !== undefined) fail(`${where} has an unknown field ${quote(extra)} (expected dtype, shape, data_offsets)`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_BYTES, dtype)) fail(`${where}: unknown dtype ${describe(dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(", ")})`);
    if (!READABLE.includes(dtype)) fail(`${where}: dtype ${dtype} is not a floating-point type fwdgrad reads (${READABLE.join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${where}: shape must be a list of integers ≥ 0, got ${Array.isArray(shape) ? JSON.stringify(shape).slice(0, 60) : describe(shape)}`);
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (!Number.isSafeInteger(count * DTYPE_BYTES[dtype])) fail(`${where}: shape ${JSON.stringify(shape)} is too large`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets must be [begin, end], two integers ≥ 0, got ${Array.isArray(offsets) ? JSON.stringify(offsets).slice(0, 60) : describe(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end - begin !== count * DTYPE_BYTES[dtype]) fail(`${where}: shape ${JSON.stringify(shape)} of ${dtype} takes ${count * DTYPE_BYTES[dtype]} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
    infos.push({ name, dtype, shape: shape as number[], count, begin, end });
  }

  // The tensors, by where they begin, must tile the data: each starts where the one before ends.
  const dataBytes = bytes.length - 8 - headerBytes;
  const tiles = infos.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reached = 0;
  for (const t of tiles) {
    if (t.begin < reached) fail(`tensor ${quote(t.name)}: data_offsets [${t.begin}, ${t.end}] overlap the tensor before (which ends at ${reached})`);
    if (t.begin > reached) fail(`tensor ${quote(t.name)}: data_offsets [${t.begin}, ${t.end}] leave a hole after byte ${reached}`);
    if (t.end > dataBytes) fail(`tensor ${quote(t.name)}: data_offsets [${t.begin}, ${t.end}] are beyond the data (${dataBytes} bytes)`);
    reached = t.end;
  }
  if (reached !== dataBytes) fail(`the file has ${dataBytes - reached} bytes after its last tensor`);

  const start = 8 + headerBytes;
  const tensors = new Map<string, SafetensorsEntry>();
  for (const t of infos) tensors.set(t.name, { shape: t.shape.slice(), data: decode(bytes.subarray(start + t.begin, start + t.end), t.dtype, t.count) });
  return { tensors, metadata: { ...metadata } };
}

/** f32 values of little-endian F32 (copied bit for bit), F64, F16 or BF16 bytes. */
function decode(raw: Uint8Array, dtype: string, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === "F32" && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(raw);
    return out;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) {
    if (dtype === "F32") bits[i] = view.getUint32(4 * i, true);
    else if (dtype === "F64") out[i] = view.getFloat64(8 * i, true);
    else if (dtype === "BF16") bits[i] = view.getUint16(2 * i, true) << 16;
    else out[i] = half(view.getUint16(2 * i, true));
  }
  return out;
}

/** An IEEE half-precision value from its 16 bits. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The top-level object's keys in the order of the text, and the first key found twice in any one
 * object (JSON.parse keeps the last silently), or null, of a JSON text JSON.parse accepted. A scan
 * of the text: strings skipped, a stack of each open object's keys.
 */
function scanKeys(text: string): { duplicate: string | null; order: string[] } {
  const order: string[] = [];
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return { duplicate: key, order };
        keys.add(key);
        if (stack.length === 1) order.push(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      stack.push(null);
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return { duplicate: null, order };
}
