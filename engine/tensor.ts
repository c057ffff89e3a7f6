// Tensors: f32, row-major, `{ptr, shape}` into the engine's memory. A tensor's data never changes
// after it is written (reshape shares it), so views are safe. `dt` carries forward-mode tangents:
// a tensor of shape [D, ...shape], one row per tangent direction, or null for a zero tangent.
// A deferred tensor (`deferred`) has no storage until it is read: its values are made then, in the
// scope of the reader, and made again if that scope is gone. A forward-gradient step's weight
// tangents are such tensors: drawn from their Philox counter where a product uses them, never stored.
import { engine } from "./backend.ts";
import { FwdgradError, fmt } from "./errors.ts";

/** A place in a Philox stream (engine/rng.ts): element e of the draw is stream element e. */
export interface Draw {
  /** "normal": N(0, 1) by Box–Muller; "rademacher": ±1 with probability ½ each. */
  readonly distribution: "normal" | "rademacher";
  /** The stream's key, two u32 words. */
  readonly key: readonly [number, number];
  /** The stream's first block counter, two u32 words, low first. */
  readonly counter: readonly [number, number];
}

/** The `dist` argument of the drawn kernels (kernels-as/draws.ts) for each distribution. */
export const DIST_CODE: Readonly<Record<Draw["distribution"], number>> = { normal: 0, rademacher: 1 };

/** How a deferred tensor's values are made: `fill(into)` writes them into a stored tensor of its shape; `draw`, when they are a stream's. */
export interface Deferred {
  /** Where in a random stream the values are, when they are a draw: a product can draw them itself. */
  readonly draw?: Draw;
  /** Writes the values into `into`, a stored tensor of the deferred tensor's shape. */
  fill(into: Tensor): void;
}

/** An f32 row-major tensor in the engine's memory: `{ptr, shape}`, with `toArray()` for a copy of its values. */
export class Tensor {
  private address: number;
  /** Allocation serial, checked against released arena scopes; −1 for a deferred tensor not yet made. */
  serial: number;
  /** Where the values come from when the tensor is deferred (made when read); null for a stored tensor. */
  readonly deferred: Deferred | null;
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  /** Tangents, shape [directions, ...shape]; null is a symbolic zero. Set only inside `jvp`. */
  dt: Tensor | null = null;

  /** @internal Tensors come from {@link tensor}, {@link zeros}, the ops and the random streams. */
  constructor(ptr: number, serial: number, shape: readonly number[], deferred: Deferred | null = null) {
    this.address = ptr;
    this.serial = serial;
    this.shape = Object.freeze(shape.slice());
    this.size = sizeOf(shape);
    this.deferred = deferred;
  }

  /** Byte address of the first element in the engine's memory (a deferred tensor's values are made here first). */
  get ptr(): number {
    if (this.deferred !== null && (this.serial < 0 || !engine().heap.isLive(this.serial))) {
      const { ptr, serial } = engine().heap.alloc(this.size * 4);
      this.deferred.fill(new Tensor(ptr, serial, this.shape));
      this.address = ptr;
      this.serial = serial;
    }
    return this.address;
  }

  set ptr(address: number) {
    this.address = address;
  }

  /** Number of dimensions: `shape.length`. */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * A copy of the values, row-major.
   * @throws {FwdgradError} when the tensor was freed (its arena scope was released).
   */
  toArray(): Float32Array {
    assertLive("toArray", this);
    const start = this.ptr >>> 2;
    return engine().heap.f32().slice(start, start + this.size);
  }

  /**
   * The shape and the first values, as NumPy prints: `Tensor([2, 3]) [[1, 2, 3], [4, 5, 6]]`, `…`
   * past 6 values on an axis; a tensor whose scope was released says so instead of throwing.
   */
  toString(): string {
    const head = `Tensor(${fmt(this.shape)})`;
    if (!this.deferred && !engine().heap.isLive(this.serial)) return `${head} (released)`;
    const start = this.ptr >>> 2;
    return `${head} ${printValues(engine().heap.f32(), start, this.shape, 0)}`;
  }
}

const PRINT_EDGE = 6;
const printNumber = (v: number): string => (Math.abs(v) >= 1e6 ? v.toExponential() : String(v));
function printValues(f32: Float32Array, start: number, shape: readonly number[], axis: number): string {
  if (axis === shape.length) return printNumber(Number(f32[start].toPrecision(6)));
  const n = shape[axis], stride = sizeOf(shape.slice(axis + 1)), shown = Math.min(n, PRINT_EDGE);
  const items = Array.from({ length: shown }, (_, i) => printValues(f32, start + i * stride, shape, axis + 1));
  return `[${items.join(", ")}${n > shown ? ", …" : ""}]`;
}
// console.log and util.inspect print the same in Node and Bun (Node's symbol) and Deno (its own);
// defined off the class so the published types and JSR see no computed symbol members.
for (const key of [Symbol.for("nodejs.util.inspect.custom"), Symbol.for("Deno.customInspect")]) {
  Object.defineProperty(Tensor.prototype, key, { value(this: Tensor) { return this.toString(); } });
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless `shape` is an array of non-negative integers. */
export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new FwdgradError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new FwdgradError(`${op}: shape ${fmt(shape)} has ${String(d)}; sizes must be non-negative integers`);
    }
  }
  if (sizeOf(shape) > 2 ** 30) throw new FwdgradError(`${op}: shape ${fmt(shape)} has more than 2^30 elements`);
}

/** Throws unless `t` is a tensor whose memory is still allocated. */
export function assertLive(op: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new FwdgradError(`${op}: expected a Tensor, got ${describe(t)}`);
  // A deferred tensor is never gone: its values are made again where they are read.
  if (!t.deferred && !engine().heap.isLive(t.serial)) {
    throw new FwdgradError(`${op}: tensor ${fmt(t.shape)} was freed when its arena scope was released`);
  }
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x;
}

/** A tensor over the first values of `t`'s data, as many as `shape` holds (a loop's shrinking state). */
export function prefix(t: Tensor, shape: readonly number[]): Tensor {
  if (sizeOf(shape) > t.size) throw new FwdgradError(`prefix: shape ${fmt(shape)} holds more than the ${t.size} values of ${fmt(t.shape)}`);
  return new Tensor(t.ptr, t.serial, shape);
}

/** A new tensor with uninitialised contents. */
export function empty(shape: readonly number[]): Tensor {
  const { ptr, serial } = engine().heap.alloc(sizeOf(shape) * 4);
  return new Tensor(ptr, serial, shape);
}

/** A tensor sharing `t`'s data under another shape of the same size (a deferred tensor stays deferred). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  if (t.deferred) return new Tensor(0, -1, shape, t.deferred);
  return new Tensor(t.ptr, t.serial, shape);
}

/**
 * A tensor of `shape` whose values `how.fill` writes when it is first read, in the reader's arena
 * scope, and again whenever that scope has been released: nothing is stored until a reader needs it.
 */
export function deferred(shape: readonly number[], how: Deferred): Tensor {
  checkShape("deferred", shape);
  return new Tensor(0, -1, shape, how);
}

/**
 * A tensor holding `data` (copied) with the given shape, row-major; the shape defaults to `[data.length]`.
 * @throws {FwdgradError} when `data` is not a Float32Array or an array of numbers, the shape is not non-negative integers, holds another number of values than `data`, or the engine is not ready; a FwdgradFault (kind "memory") when the heap is full.
 * @example
 * ```ts
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * x.shape; // [2, 3]
 * ```
 */
export function tensor(data: Float32Array | readonly number[], shape?: readonly number[]): Tensor {
  if (!(data instanceof Float32Array) && !Array.isArray(data)) {
    throw new FwdgradError(`tensor: data must be a Float32Array or an array of numbers, got ${describe(data)}`);
  }
  const dims = shape ?? [data.length];
  checkShape("tensor", dims);
  if (sizeOf(dims) !== data.length) {
    throw new FwdgradError(`tensor: shape ${fmt(dims)} holds ${sizeOf(dims)} values but data has ${data.length}`);
  }
  if (Array.isArray(data)) {
    const bad = data.findIndex((v) => typeof v !== "number");
    if (bad >= 0) throw new FwdgradError(`tensor: data[${bad}] is ${describe(data[bad])}, not a number`);
  }
  const t = empty(dims);
  engine().heap.f32().set(data, t.ptr >>> 2);
  return t;
}

/**
 * A tensor of zeros.
 * @throws {FwdgradError} when `shape` is not an array of non-negative integers (at most 2^30 elements), or the engine is not ready.
 * @example
 * ```ts
 * zeros([2, 3]).toArray(); // six zeros
 * ```
 */
export function zeros(shape: readonly number[]): Tensor {
  checkShape("zeros", shape);
  const t = empty(shape);
  engine().heap.f32().fill(0, t.ptr >>> 2, (t.ptr >>> 2) + t.size);
  return t;
}

/** Copies `src`'s values into `dst` (same size), so a loop can keep its state in one buffer. */
export function copyInto(dst: Tensor, src: Tensor): void {
  engine().heap.f32().copyWithin(dst.ptr >>> 2, src.ptr >>> 2, (src.ptr >>> 2) + src.size);
}

/** The first `k` entries along the last axis of a vector, matrix or stack (a copy, or `x` itself when all are kept). */
export function leadingColumns(x: Tensor, k: number): Tensor {
  const cols = x.shape[x.rank - 1];
  if (k === cols) return x;
  const rows = x.size / cols;
  const out = empty([...x.shape.slice(0, -1), k]);
  const f = engine().heap.f32();
  for (let r = 0; r < rows; r++) f.copyWithin((out.ptr >>> 2) + r * k, (x.ptr >>> 2) + r * cols, (x.ptr >>> 2) + r * cols + k);
  return out;
}

/** Copies `indices` (row numbers) into the heap as i32 and returns their address; checks the range. */
export function indexBuffer(op: string, indices: Int32Array | readonly number[], limit: number): number {
  const heap = engine().heap;
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (!Number.isInteger(v) || v < 0 || v >= limit) {
      throw new FwdgradError(`${op}: index ${i} is ${v}; expected an integer in [0, ${limit})`);
    }
  }
  const { ptr } = heap.alloc(indices.length * 4);
  heap.i32().set(indices, ptr >>> 2);
  return ptr;
}
