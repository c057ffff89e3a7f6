// The public ops. Each validates its arguments (naming the op and the shapes at fault) before any
// work, then calls primitives through `apply`. Composites (mean, broadcasting arithmetic, transposed
// products) are built from primitives, so their tangents come for free.
import { FwdgradError, fmt } from "./errors.ts";
import { convOutputLength, perAxis, type ConvGeometry } from "./conv.ts";
import { apply, matmulGeometry } from "./prims.ts";
import { assertLive, checkShape, indexBuffer, sizeOf, tensor, Tensor } from "./tensor.ts";

function normAxis(op: string, x: Tensor, axis: number): number {
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) {
    throw new FwdgradError(`${op}: axis ${axis} is out of range for shape ${fmt(x.shape)}`);
  }
  return axis < 0 ? axis + x.rank : axis;
}

function asTensor(op: string, x: Tensor | number): Tensor {
  if (typeof x === "number") return tensor([x], []);
  assertLive(op, x);
  return x;
}

/**
 * The shape both inputs broadcast to under NumPy's rules, or a FwdgradError naming both shapes.
 * @throws {FwdgradError} when the shapes do not broadcast (the message names `op` and both shapes).
 * @example
 * ```ts
 * broadcastShapes("add", [3, 1], [4]); // [3, 4]
 * ```
 */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new FwdgradError(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * `x` repeated along size-1 or missing leading axes to `shape` (NumPy broadcasting).
 * @throws {FwdgradError} when `x` does not broadcast to `shape`, or is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * broadcast(tensor([1, 2], [2]), [3, 2]).toArray(); // [1, 2, 1, 2, 1, 2]
 * ```
 */
export function broadcast(x: Tensor, shape: readonly number[]): Tensor {
  assertLive("broadcast", x);
  checkShape("broadcast", shape);
  if (x.rank > shape.length) {
    throw new FwdgradError(`broadcast: cannot broadcast ${fmt(x.shape)} to the lower-rank shape ${fmt(shape)}`);
  }
  const from = [...new Array<number>(shape.length - x.rank).fill(1), ...x.shape];
  from.forEach((d, i) => {
    if (d !== 1 && d !== shape[i]) {
      throw new FwdgradError(`broadcast: cannot broadcast ${fmt(x.shape)} to ${fmt(shape)} (axis ${i}: ${d} vs ${shape[i]})`);
    }
  });
  if (from.every((d, i) => d === shape[i])) return x.rank === shape.length ? x : reshape(x, shape);
  return apply("broadcast", [x], { from, shape });
}

function binary(op: "add" | "sub" | "mul" | "div", a: Tensor | number, b: Tensor | number): Tensor {
  const ta = asTensor(op, a);
  const tb = asTensor(op, b);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return apply(op, [broadcast(ta, shape), broadcast(tb, shape)], {});
}

/**
 * a + b elementwise, with NumPy broadcasting; a number counts as a scalar tensor.
 * @throws {FwdgradError} when the shapes do not broadcast, or an input is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * add(tensor([1, 2, 3]), 1).toArray(); // [2, 3, 4]
 * ```
 */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary("add", a, b);
/**
 * a − b elementwise, with NumPy broadcasting.
 * @throws {FwdgradError} when the shapes do not broadcast, or an input is a released tensor (its arena scope was released).
 */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary("sub", a, b);
/**
 * a · b elementwise, with NumPy broadcasting.
 * @throws {FwdgradError} when the shapes do not broadcast, or an input is a released tensor (its arena scope was released).
 */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === "number" && typeof a !== "number") return scale(a, b);
  if (typeof a === "number" && typeof b !== "number") return scale(b, a);
  return binary("mul", a, b);
}
/**
 * a / b elementwise, with NumPy broadcasting.
 * @throws {FwdgradError} when the shapes do not broadcast, or an input is a released tensor (its arena scope was released).
 */
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary("div", a, b);

/**
 * x · c for a finite number c.
 * @throws {FwdgradError} when `c` is not finite, or `x` is a released tensor (its arena scope was released).
 */
export function scale(x: Tensor, c: number): Tensor {
  assertLive("scale", x);
  if (typeof c !== "number" || !Number.isFinite(c)) throw new FwdgradError(`scale: factor must be a finite number, got ${String(c)}`);
  return apply("scale", [x], { c });
}

/**
 * −x.
 * @throws {FwdgradError} when `x` is a released tensor (its arena scope was released).
 */
export function neg(x: Tensor): Tensor {
  return apply("neg", [x], {});
}
/**
 * e^x, computed by the engine's own bit-reproducible expf.
 * @throws {FwdgradError} when `x` is a released tensor (its arena scope was released).
 */
export function exp(x: Tensor): Tensor {
  return apply("exp", [x], {});
}
/**
 * Natural logarithm (−∞ at 0, NaN below), by the engine's own logf.
 * @throws {FwdgradError} when `x` is a released tensor (its arena scope was released).
 */
export function log(x: Tensor): Tensor {
  return apply("log", [x], {});
}
/**
 * max(x, 0); its tangent is 0 at x = 0.
 * @throws {FwdgradError} when `x` is a released tensor (its arena scope was released).
 */
export function relu(x: Tensor): Tensor {
  return apply("relu", [x], {});
}

/**
 * Swaps the last two axes (rank ≥ 2).
 * @throws {FwdgradError} when `x` has rank below 2, or is a released tensor (its arena scope was released).
 */
export function transpose(x: Tensor): Tensor {
  assertLive("transpose", x);
  if (x.rank < 2) throw new FwdgradError(`transpose: needs rank ≥ 2, got shape ${fmt(x.shape)}`);
  return apply("transpose", [x], {});
}

/**
 * Matrix product op(a)·op(b), where op transposes when `transA`/`transB` is set (no copy is made).
 * Operands are matrices or stacks [batch, rows, cols]; a matrix is shared across a stack.
 * @throws {FwdgradError} when an operand is not a matrix or stack, the inner dimensions or the stack sizes differ, or an operand is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * matmul(x, w, { transB: true });      // x·wᵀ: x [n, in], w [out, in] -> [n, out]
 * matmul(stackA, stackB);              // [8, m, k]·[8, k, n] -> [8, m, n], one kernel call
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean } = {}): Tensor {
  assertLive("matmul", a);
  assertLive("matmul", b);
  const attrs = { transA: options.transA ?? false, transB: options.transB ?? false };
  const ranksOk = [a.rank, b.rank].every((r) => r === 2 || r === 3);
  if (!ranksOk) throw new FwdgradError(`matmul: expects matrices or stacks of matrices (rank 2 or 3), got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  if (a.rank === 3 && b.rank === 3 && a.shape[0] !== b.shape[0]) {
    throw new FwdgradError(`matmul: stacks of different lengths, ${fmt(a.shape)} and ${fmt(b.shape)}`);
  }
  const g = matmulGeometry(a, b, attrs);
  const innerB = attrs.transB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  if (g.k !== innerB) {
    const desc = `${attrs.transA ? "aᵀ" : "a"}·${attrs.transB ? "bᵀ" : "b"}`;
    throw new FwdgradError(`matmul: inner sizes differ for ${desc} with a ${fmt(a.shape)} and b ${fmt(b.shape)} (${g.k} vs ${innerB})`);
  }
  return apply("matmul", [a, b], attrs);
}

/**
 * The same values under another shape of the same size; one entry may be −1 (inferred).
 * @throws {FwdgradError} when `shape` holds another number of values, has more than one −1, or `x` is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * reshape(tensor([1, 2, 3, 4, 5, 6]), [2, -1]).shape; // [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertLive("reshape", x);
  const holes = shape.filter((d) => d === -1).length;
  const known = shape.filter((d) => d !== -1);
  checkShape("reshape", known);
  const knownSize = sizeOf(known);
  if (holes > 1 || (holes === 1 && (knownSize === 0 || x.size % knownSize !== 0))) {
    throw new FwdgradError(`reshape: cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
  }
  const full = shape.map((d) => (d === -1 ? x.size / knownSize : d));
  if (sizeOf(full) !== x.size) {
    throw new FwdgradError(`reshape: ${fmt(x.shape)} has ${x.size} values, ${fmt(shape)} holds ${sizeOf(full)}`);
  }
  return apply("reshape", [x], { shape: full });
}

interface ReduceOptions {
  /** Keep the reduced axis with size 1. Default false. */
  keepdims?: boolean;
}

function reduce(op: "sum" | "max", x: Tensor, axis: number | undefined, options: ReduceOptions): Tensor {
  assertLive(op, x);
  if (axis === undefined) {
    const flat = apply(op, [reshape(x, [x.size])], { axis: 0, keepdims: false });
    return options.keepdims ? reshape(flat, x.shape.map(() => 1)) : flat;
  }
  const a = normAxis(op, x, axis);
  if (op === "max" && x.shape[a] === 0) throw new FwdgradError(`max: axis ${axis} of ${fmt(x.shape)} is empty`);
  return apply(op, [x], { axis: a, keepdims: options.keepdims ?? false });
}

/**
 * Sum over `axis` (negative counts from the end), or over everything when omitted.
 * `keepdims` keeps the reduced axis with size 1.
 * @throws {FwdgradError} when `axis` is out of range, or `x` is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * sum(tensor([1, 2, 3, 4], [2, 2]), 0).toArray(); // [4, 6]
 * ```
 */
export function sum(x: Tensor, axis?: number, options: ReduceOptions = {}): Tensor {
  return reduce("sum", x, axis, options);
}

/**
 * Mean over `axis`, or over everything when omitted.
 * @throws {FwdgradError} when `axis` is out of range, or `x` is a released tensor (its arena scope was released).
 */
export function mean(x: Tensor, axis?: number, options: ReduceOptions = {}): Tensor {
  assertLive("mean", x);
  const count = axis === undefined ? x.size : x.shape[normAxis("mean", x, axis)];
  if (count === 0) throw new FwdgradError(`mean: nothing to average over in ${fmt(x.shape)}`);
  return scale(sum(x, axis, options), 1 / count);
}

/**
 * Maximum over `axis`, or over everything when omitted; the tangent follows the first maximal element.
 * @throws {FwdgradError} when `axis` is out of range or empty, or `x` is a released tensor (its arena scope was released).
 */
export function max(x: Tensor, axis?: number, options: ReduceOptions = {}): Tensor {
  if (axis === undefined && x instanceof Tensor && x.size === 0) throw new FwdgradError("max: the tensor is empty");
  return reduce("max", x, axis, options);
}

/**
 * Rows `indices` of x (along axis 0): shape [indices.length, ...x.shape.slice(1)].
 * @throws {FwdgradError} when `x` is a scalar, an index is not an integer in [0, x.shape[0]), or `x` is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * gatherRows(tensor([1, 2, 3, 4, 5, 6], [3, 2]), [2, 0]).toArray(); // [5, 6, 1, 2]
 * ```
 */
export function gatherRows(x: Tensor, indices: Int32Array | readonly number[]): Tensor {
  assertLive("gatherRows", x);
  if (x.rank < 1) throw new FwdgradError(`gatherRows: needs rank ≥ 1, got shape ${fmt(x.shape)}`);
  const indexPtr = indexBuffer("gatherRows", indices, x.shape[0]);
  return apply("gatherRows", [x], { indexPtr, count: indices.length });
}

/**
 * Per-example softmax cross-entropy: loss[r] = log Σ_c e^{z[r,c]} − z[r, labels[r]], shape [rows].
 * Fused, so its value and tangent stay accurate where a composite would overflow.
 * @throws {FwdgradError} when `logits` is not [rows, classes ≥ 1], the labels are not one per row, a label is not an integer in [0, classes), or `logits` is a released tensor (its arena scope was released).
 * @example
 * ```ts
 * softmaxCrossEntropy(tensor([2, 0, 0, 1], [2, 2]), [0, 1]); // shape [2]
 * ```
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array | readonly number[]): Tensor {
  assertLive("softmaxCrossEntropy", logits);
  if (logits.rank !== 2 || logits.shape[1] === 0) {
    throw new FwdgradError(`softmaxCrossEntropy: logits must be [rows, classes] with classes ≥ 1, got ${fmt(logits.shape)}`);
  }
  if (labels.length !== logits.shape[0]) {
    throw new FwdgradError(`softmaxCrossEntropy: ${labels.length} labels for logits ${fmt(logits.shape)}`);
  }
  const labelPtr = indexBuffer("softmaxCrossEntropy", labels, logits.shape[1]);
  return apply("softmaxCrossEntropy", [logits], { labelPtr });
}

/** Stride, padding and dilation of a convolution: one number for every spatial axis, or one per axis. */
export interface ConvOptions {
  /** Default 1. */
  stride?: number | readonly number[];
  /** Zeros added at both ends of every spatial axis. Default 0. */
  padding?: number | readonly number[];
  /** Spacing between kernel taps. Default 1. */
  dilation?: number | readonly number[];
}

/**
 * The geometry of a 2-D convolution of an image [H, W] by a kernel [KH, KW] (a 1-D one is passed as
 * height 1), checked: every option in range and at least one output position on each axis.
 */
function convGeometry(op: string, input: readonly [number, number], kernel: readonly [number, number], options: ConvOptions, axes: 1 | 2): ConvGeometry {
  const lift = (v: number[], one: number): [number, number] => (axes === 1 ? [one, v[0]] : [v[0], v[1]]);
  const stride = lift(perAxis(op, "stride", options.stride, 1, 1, axes), 1);
  const padding = lift(perAxis(op, "padding", options.padding, 0, 0, axes), 0);
  const dilation = lift(perAxis(op, "dilation", options.dilation, 1, 1, axes), 1);
  const output: [number, number] = [0, 1].map((a) => convOutputLength(input[a], kernel[a], stride[a], padding[a], dilation[a])) as [number, number];
  if (output[0] < 1 || output[1] < 1) {
    const what = axes === 1 ? `length ${input[1]}` : `${input[0]}×${input[1]}`;
    throw new FwdgradError(`${op}: a kernel of ${axes === 1 ? kernel[1] : `${kernel[0]}×${kernel[1]}`} (dilation ${dilation.slice(2 - axes).join("×")}) does not fit an input of ${what} with padding ${padding.slice(2 - axes).join("×")}`);
  }
  return { stride, padding, dilation, input, kernel, output };
}

function checkConvOperands(op: string, x: Tensor, w: Tensor, rank: number, layout: string): void {
  assertLive(op, x);
  assertLive(op, w);
  if (x.rank !== rank || w.rank !== rank) {
    throw new FwdgradError(`${op}: expects x ${layout} and w [C_out, C_in, ${rank === 3 ? "K" : "KH, KW"}], got ${fmt(x.shape)} and ${fmt(w.shape)}`);
  }
  if (w.shape.slice(2).some((k) => k < 1) || w.shape[0] < 1) throw new FwdgradError(`${op}: the weight ${fmt(w.shape)} has an empty axis`);
}

/**
 * 2-D convolution as PyTorch's conv2d (cross-correlation, no bias): x [B, C_in, H, W] and
 * w [C_out, C_in, KH, KW] give [B, C_out, OH, OW], OH = ⌊(H + 2·padding − dilation·(KH − 1) − 1) / stride⌋ + 1.
 * Lowered to the engine's gemm through im2col; differentiable in both operands, both ways.
 * @throws {FwdgradError} when x or w is not rank 4, their channels differ, an option is not a valid integer, the kernel does not fit the padded input, or an operand is a released tensor.
 * @example
 * ```ts
 * const images = zeros([64, 1, 28, 28]), filters = zeros([32, 1, 3, 3]);
 * conv2d(images, filters, { stride: 2, padding: 1 }).shape; // [64, 32, 14, 14]
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  checkConvOperands("conv2d", x, w, 4, "[B, C_in, H, W]");
  if (x.shape[1] !== w.shape[1]) throw new FwdgradError(`conv2d: x has ${x.shape[1]} channels, w takes ${w.shape[1]} (x ${fmt(x.shape)}, w ${fmt(w.shape)})`);
  const g = convGeometry("conv2d", [x.shape[2], x.shape[3]], [w.shape[2], w.shape[3]], options, 2);
  return apply("conv", [x, w], g);
}

/**
 * 1-D convolution as PyTorch's conv1d (no bias): x [B, C_in, L] and w [C_out, C_in, K] give
 * [B, C_out, L_out], L_out = ⌊(L + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1.
 * @throws {FwdgradError} when x or w is not rank 3, their channels differ, an option is not a valid integer, the kernel does not fit the padded input, or an operand is a released tensor.
 * @example
 * ```ts
 * const signals = zeros([512, 1, 40]), filters = zeros([25, 1, 5]);
 * conv1d(signals, filters, { stride: 2, padding: 1 }).shape; // [512, 25, 19]
 * ```
 */
export function conv1d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  checkConvOperands("conv1d", x, w, 3, "[B, C_in, L]");
  if (x.shape[1] !== w.shape[1]) throw new FwdgradError(`conv1d: x has ${x.shape[1]} channels, w takes ${w.shape[1]} (x ${fmt(x.shape)}, w ${fmt(w.shape)})`);
  const [b, c, l] = x.shape, [o, , k] = w.shape;
  const g = convGeometry("conv1d", [1, l], [1, k], options, 1);
  const y = apply("conv", [reshape(x, [b, c, 1, l]), reshape(w, [o, c, 1, k])], g);
  return reshape(y, [b, o, g.output[1]]);
}

/**
 * The transpose of conv2d(·, w) in its input (PyTorch's conv_transpose2d, with the output padding
 * that reaches `inputSize`): y [B, C_out, OH, OW] to [B, C_in, H, W], where [H, W] = `inputSize`
 * is the size of the convolution's input. ⟨conv2dTranspose(y, w), x⟩ = ⟨y, conv2d(x, w)⟩.
 * @throws {FwdgradError} as conv2d, and when y's shape is not conv2d's output for an input of `inputSize`.
 */
export function conv2dTranspose(y: Tensor, w: Tensor, inputSize: readonly [number, number], options: ConvOptions = {}): Tensor {
  checkConvOperands("conv2dTranspose", y, w, 4, "[B, C_out, OH, OW]");
  const g = convGeometry("conv2dTranspose", inputSize, [w.shape[2], w.shape[3]], options, 2);
  if (y.shape[1] !== w.shape[0] || y.shape[2] !== g.output[0] || y.shape[3] !== g.output[1]) {
    throw new FwdgradError(`conv2dTranspose: y ${fmt(y.shape)} is not conv2d's output of an input [·, ${w.shape[1]}, ${inputSize.join(", ")}] by w ${fmt(w.shape)} (expected [·, ${w.shape[0]}, ${g.output.join(", ")}])`);
  }
  return apply("convInputAdjoint", [y, w], g);
}

/**
 * The transpose of conv1d(·, w) in its input: y [B, C_out, L_out] to [B, C_in, `inputLength`].
 * @throws {FwdgradError} as conv1d, and when y's shape is not conv1d's output for an input of `inputLength`.
 */
export function conv1dTranspose(y: Tensor, w: Tensor, inputLength: number, options: ConvOptions = {}): Tensor {
  checkConvOperands("conv1dTranspose", y, w, 3, "[B, C_out, L_out]");
  const [b, o, l] = y.shape, [, c, k] = w.shape;
  const g = convGeometry("conv1dTranspose", [1, inputLength], [1, k], options, 1);
  if (o !== w.shape[0] || l !== g.output[1]) {
    throw new FwdgradError(`conv1dTranspose: y ${fmt(y.shape)} is not conv1d's output of an input [·, ${c}, ${inputLength}] by w ${fmt(w.shape)} (expected [·, ${w.shape[0]}, ${g.output[1]}])`);
  }
  const x = apply("convInputAdjoint", [reshape(y, [b, o, 1, l]), reshape(w, [o, c, 1, k])], g);
  return reshape(x, [b, c, inputLength]);
}

/**
 * 2-D max pooling over non-overlapping `size`×`size` windows (PyTorch's max_pool2d with stride =
 * kernel): x [B, C, H, W] with H and W multiples of `size` gives [B, C, H/size, W/size]. Composed of
 * two max reductions, so its tangent and transpose follow the first maximal element of each window.
 * @throws {FwdgradError} when x is not rank 4, `size` is not an integer ≥ 1, H or W is not a multiple of it, or x is a released tensor.
 * @example
 * ```ts
 * maxPool2d(zeros([64, 32, 28, 28]), 2).shape; // [64, 32, 14, 14]
 * ```
 */
export function maxPool2d(x: Tensor, size: number): Tensor {
  assertLive("maxPool2d", x);
  if (x.rank !== 4) throw new FwdgradError(`maxPool2d: expects x [B, C, H, W], got ${fmt(x.shape)}`);
  if (!Number.isInteger(size) || size < 1) throw new FwdgradError(`maxPool2d: size must be an integer ≥ 1, got ${String(size)}`);
  const [b, c, h, w] = x.shape;
  if (h % size !== 0 || w % size !== 0) throw new FwdgradError(`maxPool2d: ${h}×${w} is not a whole number of ${size}×${size} windows`);
  // [B·C·H/s, s, W/s, s]: the window's rows on axis 1, its columns on axis 3 (axis 2 after the first max).
  const rows = max(reshape(x, [b * c * (h / size), size, w / size, size]), 1);
  return reshape(max(rows, 2), [b, c, h / size, w / size]);
}
