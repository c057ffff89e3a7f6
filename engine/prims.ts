// The primitive table: every op the engine differentiates, its value rule, its tangent (JVP) rule
// and, for the primitives that are linear in some inputs, the rule that applies it to tangents and
// its transpose rule, side by side (autodidax, parts 1 and 4).
// Tangents carry a leading direction axis: for a value of shape S the tangent has shape [D, ...S],
// one row per direction, so K guesses or Jacobian columns cost one pass. A null tangent is a symbolic
// zero and is never materialised. Tangent rules are written only with `emit` (a linear primitive
// applied to tangents), so `linearize` (engine/jvp.ts) can record them as a linear program, and
// `transpose` walks that program backwards with the transpose rules: reverse mode is derived, not
// written a second time. Rules receive validated inputs (see ops.ts); `apply` is the one place that
// decides whether tangents are computed.
import { engine } from "./backend.ts";
import { convLinear, type ConvGeometry, type ConvPrimName } from "./conv.ts";
import { FwdgradError } from "./errors.ts";
import { gemm, gemmDrawn, type GemmOperand } from "./gemm.ts";
import type { Kernels } from "./kernel-abi.ts";
import { assertLive, empty, sizeOf, Tensor, view } from "./tensor.ts";

type Tan = Tensor | null;
type Binary = "add_f32" | "sub_f32" | "mul_f32" | "div_f32";

interface Prim<A> {
  value(xs: Tensor[], attrs: A): Tensor;
  tangent(xs: Tensor[], dxs: Tan[], out: Tensor, attrs: A): Tan;
  /**
   * Linear primitives only: the primitive applied where `linear[i]` marks input i as a tangent
   * [D, ...S] (any D, 0 included) and the others as constants; returns [D, ...outShape].
   */
  linear?(args: Tensor[], linear: readonly boolean[], attrs: A): Tensor;
  /**
   * Linear primitives only: the cotangents [D, ...S_i] of the linear inputs from the output's
   * cotangent ct [D, ...outShape] (null for constant inputs). `args` are the recorded arguments: the
   * constants, and at linear positions the tangents, of which only the shape counts.
   */
  transpose?(ct: Tensor, args: Tensor[], linear: readonly boolean[], attrs: A): Tan[];
}

/** A primitive linear in the inputs a call marks: both rules are required. */
type LinearPrim<A> = Prim<A> & Required<Pick<Prim<A>, "linear" | "transpose">>;

/** The primitives with linear and transpose rules: the vocabulary of linear programs (the table checks it). */
export type LinearPrimName =
  | "add" | "sub" | "mul" | "div" | "neg" | "scale" | "matmul" | "transpose" | "reshape" | "broadcast" | "sum"
  | "conv" | "convInputAdjoint" | "convWeightAdjoint"
  | "gatherRows" | "scatterRows" | "gate" | "selectMax" | "placeMax" | "crossEntropyTangent" | "crossEntropyCotangent";

const k = (): Kernels => engine().k;

/** out = a ∘ b elementwise; b's size divides a's, and b repeats along a's leading axes (a tangent times a value). */
function elementwise(kernel: Binary, a: Tensor, b: Tensor): Tensor {
  const out = empty(a.shape);
  const fn = k()[kernel];
  const step = b.size * 4;
  if (step > 0) for (let offset = 0; offset < a.size * 4; offset += step) fn(out.ptr + offset, a.ptr + offset, b.ptr, b.size);
  return out;
}

function unary(kernel: "neg_f32" | "exp_f32" | "log_f32" | "relu_f32", x: Tensor): Tensor {
  const out = empty(x.shape);
  k()[kernel](out.ptr, x.ptr, x.size);
  return out;
}

function scaled(x: Tensor, c: number): Tensor {
  const out = empty(x.shape);
  k().scale_f32(out.ptr, x.ptr, c, x.size);
  return out;
}

/** Runs `fn(outPtr, dxPtr)` for each direction of a [D, ...S] tangent, writing a tangent of shape [D, ...outShape]. */
function perDirection(dx: Tensor, inShape: readonly number[], outShape: readonly number[], fn: (outPtr: number, dxPtr: number) => void): Tensor {
  const directions = dx.shape[0];
  const out = empty([directions, ...outShape]);
  const inStep = sizeOf(inShape) * 4;
  const outStep = sizeOf(outShape) * 4;
  for (let d = 0; d < directions; d++) fn(out.ptr + d * outStep, dx.ptr + d * inStep);
  return out;
}

/** A tangent's shape without its direction axis. */
const unbatched = (t: Tensor): readonly number[] => t.shape.slice(1);

/** Expands size-1 axes of `x` (viewed as `from`, same rank as `to`) to `to`, one repeated axis at a time. */
function expand(x: Tensor, from: readonly number[], to: readonly number[]): Tensor {
  let cur = view(x, from);
  for (let axis = 0; axis < to.length; axis++) {
    if (cur.shape[axis] === to[axis]) continue;
    const shape = cur.shape.slice();
    shape[axis] = to[axis];
    const out = empty(shape);
    k().repeat_axis_f32(out.ptr, cur.ptr, sizeOf(shape.slice(0, axis)), to[axis], sizeOf(shape.slice(axis + 1)));
    cur = out;
  }
  return cur;
}

/** [outer, len, inner] around `axis`, for the axis kernels. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis], sizeOf(shape.slice(axis + 1))];
}

function reducedShape(shape: readonly number[], axis: number, keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

function lastTwo(shape: readonly number[]): [batch: number, rows: number, cols: number] {
  const r = shape.length;
  return [sizeOf(shape.slice(0, r - 2)), shape[r - 2], shape[r - 1]];
}

function swapLastTwo(shape: readonly number[]): number[] {
  const s = shape.slice();
  const r = s.length;
  [s[r - 2], s[r - 1]] = [s[r - 1], s[r - 2]];
  return s;
}

function operand(x: Tensor, stride: number, trans: boolean): GemmOperand {
  return { ptr: x.ptr, stride, trans };
}

/** Sizes of op(A)·op(B) for operands of rank 2 or 3; a rank-2 operand is shared across the batch. */
export function matmulGeometry(a: { shape: readonly number[] }, b: { shape: readonly number[] }, t: { transA: boolean; transB: boolean }) {
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const [m, k] = t.transA ? [ac, ar] : [ar, ac];
  const n = t.transB ? br : bc;
  const batch = a.shape.length === 3 ? a.shape[0] : b.shape.length === 3 ? b.shape[0] : 1;
  const stacked = a.shape.length === 3 || b.shape.length === 3;
  return {
    m, k, n, batch,
    aStride: a.shape.length === 3 ? ar * ac : 0,
    bStride: b.shape.length === 3 ? br * bc : 0,
    outShape: stacked ? [batch, m, n] : [m, n],
  };
}

/**
 * op(A)·op(B) where one operand is a tangent [D, ...S] carrying D directions and the other a
 * constant: a direction axis is one more level of batching. A tangent A·B with a shared B folds its
 * directions into A's rows: one product of D·m rows.
 */
function directedProduct(dx: Tensor, other: Tensor, aSide: boolean, attrs: { transA: boolean; transB: boolean }): Tensor {
  const a = aSide ? { shape: unbatched(dx) } : other;
  const b = aSide ? other : { shape: unbatched(dx) };
  const g = matmulGeometry(a, b, attrs);
  const directions = dx.shape[0];
  const dout = empty([directions, ...g.outShape]);
  if (directions === 0) return dout;
  const step = sizeOf(unbatched(dx));
  const plane = g.batch * g.m * g.n;
  // A·Vᵀ with drawn tangents V (a forward gradient's weight directions): V is drawn panel by panel
  // inside the product, never stored.
  const draw = dx.deferred?.draw;
  if (draw && !aSide && attrs.transB && g.batch === 1) {
    gemmDrawn(dout.ptr, operand(other, 0, attrs.transA), draw, directions, g.m, g.k, g.n);
    return dout;
  }
  const [dxStride, otherStride] = aSide ? [g.aStride, g.bStride] : [g.bStride, g.aStride];
  const call = (outPtr: number, dxPtr: number, count: number, rows: number, movingStride: number, sharedStride: number) => {
    const moving = { ptr: dxPtr, stride: movingStride, trans: aSide ? attrs.transA : attrs.transB };
    const shared = operand(other, sharedStride, aSide ? attrs.transB : attrs.transA);
    gemm(outPtr, aSide ? moving : shared, aSide ? shared : moving, count, rows, g.k, g.n);
  };
  if (g.batch === 1 && aSide && !attrs.transA) call(dout.ptr, dx.ptr, 1, directions * g.m, 0, 0);
  else if (g.batch === 1) call(dout.ptr, dx.ptr, directions, g.m, step, 0);
  else for (let d = 0; d < directions; d++) call(dout.ptr + d * plane * 4, dx.ptr + d * step * 4, g.batch, g.m, dxStride, otherStride);
  return dout;
}

function transposed(x: Tensor): Tensor {
  const out = empty(swapLastTwo(x.shape));
  k().transpose_f32(out.ptr, x.ptr, ...lastTwo(x.shape));
  return out;
}

/** softmax(z) − onehot(labels), row by row, from the engine's own exp (reproducible everywhere). */
function softmaxMinusOnehot(z: Tensor, labelPtr: number): Tensor {
  const [rows, cols] = z.shape;
  const top = PRIMS.max.value([z], { axis: 1, keepdims: true });
  const e = unary("exp_f32", elementwise("sub_f32", z, expand(top, [rows, 1], [rows, cols])));
  const total = PRIMS.sum.value([e], { axis: 1, keepdims: true });
  const p = elementwise("div_f32", e, expand(total, [rows, 1], [rows, cols]));
  const f = engine().heap.f32();
  const labels = engine().heap.i32();
  for (let r = 0; r < rows; r++) f[(p.ptr >>> 2) + r * cols + labels[(labelPtr >>> 2) + r]] -= 1;
  return p;
}

/** A zero-filled tensor (scatter targets). */
function zeroed(shape: readonly number[]): Tensor {
  const out = empty(shape);
  engine().heap.f32().fill(0, out.ptr >>> 2, (out.ptr >>> 2) + out.size);
  return out;
}

// ---- Recording: `linearize` sets a recorder, and every linear application is appended to it.

/** One recorded application of a linear primitive: `out = name(args)` with `linear` marking the tangents. */
export interface Equation {
  readonly name: LinearPrimName;
  readonly args: readonly Tensor[];
  readonly linear: readonly boolean[];
  readonly attrs: object;
  readonly out: Tensor;
}

/** What `linearize` and the inspector listen to: linear applications, and (inspector) primal ones. */
export interface Recorder {
  /** True for `linearize` (tangents have zero directions and nothing affine may enter); false for the inspector. */
  readonly linearizing: boolean;
  linear(eq: Equation): void;
  primal?(name: PrimName, inputs: readonly Tensor[], out: Tensor, attrs: object): void;
}

let recorder: Recorder | null = null;

/** Installs `r` (null: none) and returns the previous recorder; engine/jvp.ts restores it after f. */
export function setRecorder(r: Recorder | null): Recorder | null {
  const previous = recorder;
  recorder = r;
  return previous;
}

/** Whether a linear program is being recorded (then tangents have zero directions). */
export function recording(): boolean {
  return recorder?.linearizing ?? false;
}

/**
 * Applies linear primitive `name` to tangents (positions marked in `linear`) and constants: the only
 * way a tangent is made, so that a recorder sees the whole linear program.
 */
export function emit<N extends LinearPrimName>(name: N, args: Tensor[], linear: readonly boolean[], attrs: PrimAttrs[N]): Tensor {
  const prim = PRIMS[name] as unknown as LinearPrim<PrimAttrs[N]>;
  const out = prim.linear(args, linear, attrs);
  recorder?.linear({ name, args, linear, attrs, out });
  return out;
}

const LIN = [true] as const;
const LIN_CONST = [true, false] as const;
const CONST_LIN = [false, true] as const;
const LIN_CONST_CONST = [true, false, false] as const;

/** dx + dy, either may be a symbolic zero. */
function plus(dx: Tan, dy: Tan): Tan {
  if (!dx) return dy;
  if (!dy) return dx;
  return emit("add", [dx, dy], [true, true], {});
}

/** The value of a linear primitive on plain inputs: its linear rule with one direction. */
function valueOf<N extends LinearPrimName>(name: N, linearAt: readonly boolean[]): (xs: Tensor[], attrs: PrimAttrs[N]) => Tensor {
  return (xs, attrs) => {
    const prim = PRIMS[name] as unknown as LinearPrim<PrimAttrs[N]>;
    const args = xs.map((x, i) => (linearAt[i] ? view(x, [1, ...x.shape]) : x));
    const out = prim.linear(args, linearAt, attrs);
    return view(out, unbatched(out));
  };
}

interface AxisAttrs {
  axis: number;
  keepdims: boolean;
}

/** Each primitive's attributes (non-tensor arguments). */
interface PrimAttrs {
  add: {};
  sub: {};
  mul: {};
  div: {};
  neg: {};
  scale: { c: number };
  exp: {};
  log: {};
  relu: {};
  // Operands of rank 2 or 3 (a stack); op(·) transposes the last two axes when the flag is set.
  matmul: { transA: boolean; transB: boolean };
  // conv(x [N, C, H, W], w [O, C, KH, KW]) -> [N, O, OH, OW]; its input adjoint (y, w) -> x's
  // shape; its weight adjoint (y, x) -> w's shape. All three carry the whole geometry.
  conv: ConvGeometry;
  convInputAdjoint: ConvGeometry;
  convWeightAdjoint: ConvGeometry;
  transpose: {};
  reshape: { shape: readonly number[] };
  // `from` is x's shape left-padded with 1s to the rank of `shape`.
  broadcast: { from: readonly number[]; shape: readonly number[] };
  sum: AxisAttrs;
  max: AxisAttrs;
  // indexPtr: `count` validated i32 row numbers already in the heap.
  gatherRows: { indexPtr: number; count: number };
  // The transpose of gatherRows: rows added into a zero tensor of `rows` rows.
  scatterRows: { indexPtr: number; count: number; rows: number };
  softmaxCrossEntropy: { labelPtr: number };
  // The linear maps in the tangent rules of relu, max and softmaxCrossEntropy, and their transposes.
  gate: {};
  selectMax: AxisAttrs;
  placeMax: AxisAttrs;
  crossEntropyTangent: { labelPtr: number };
  crossEntropyCotangent: { labelPtr: number };
  inject: {};
}

/** The primitive table: each differentiable op's value, tangent (JVP), linear and transpose rules. */
export const PRIMS: { [N in keyof PrimAttrs]: N extends LinearPrimName ? LinearPrim<PrimAttrs[N]> : Prim<PrimAttrs[N]> } = {
  add: {
    value: ([x, y]) => elementwise("add_f32", x, y),
    tangent: (_, [dx, dy]) => plus(dx, dy),
    // Inputs have one shape (ops.ts broadcasts first); a constant never enters a linear add.
    linear: ([x, y]) => elementwise("add_f32", x, y),
    transpose: (ct) => [ct, ct],
  },
  sub: {
    value: ([x, y]) => elementwise("sub_f32", x, y),
    tangent: (_, [dx, dy]) => (dx && dy ? emit("sub", [dx, dy], [true, true], {}) : dx ?? (dy && emit("neg", [dy], LIN, {}))),
    linear: ([x, y]) => elementwise("sub_f32", x, y),
    transpose: (ct) => [ct, emit("neg", [ct], LIN, {})],
  },
  mul: {
    // d(xy) = dx·y + x·dy; linear in either input while the other is constant.
    value: ([x, y]) => elementwise("mul_f32", x, y),
    tangent: ([x, y], [dx, dy]) => plus(dx && emit("mul", [dx, y], LIN_CONST, {}), dy && emit("mul", [dy, x], LIN_CONST, {})),
    linear: ([x, y], linear) => (linear[0] ? elementwise("mul_f32", x, y) : elementwise("mul_f32", y, x)),
    transpose: (ct, [x, y], linear) => (linear[0] ? [emit("mul", [ct, y], LIN_CONST, {}), null] : [null, emit("mul", [ct, x], LIN_CONST, {})]),
  },
  div: {
    // d(x/y) = (dx − (x/y)·dy) / y, reusing the output x/y; linear in x for a constant y.
    value: ([x, y]) => elementwise("div_f32", x, y),
    tangent: ([, y], [dx, dy], out) => {
      const outDy = dy && emit("mul", [dy, out], LIN_CONST, {});
      const numerator = dx && outDy ? emit("sub", [dx, outDy], [true, true], {}) : dx ?? emit("neg", [outDy!], LIN, {});
      return emit("div", [numerator, y], LIN_CONST, {});
    },
    linear: ([x, y]) => elementwise("div_f32", x, y),
    transpose: (ct, [, y]) => [emit("div", [ct, y], LIN_CONST, {}), null],
  },
  neg: {
    value: ([x]) => unary("neg_f32", x),
    tangent: (_, [dx]) => dx && emit("neg", [dx], LIN, {}),
    linear: ([x]) => unary("neg_f32", x),
    transpose: (ct) => [emit("neg", [ct], LIN, {})],
  },
  scale: {
    value: ([x], { c }) => scaled(x, c),
    tangent: (_, [dx], __, attrs) => dx && emit("scale", [dx], LIN, attrs),
    linear: ([x], _, { c }) => scaled(x, c),
    transpose: (ct, _, __, attrs) => [emit("scale", [ct], LIN, attrs)],
  },
  exp: {
    // d e^x = e^x·dx, reusing the output
    value: ([x]) => unary("exp_f32", x),
    tangent: (_, [dx], out) => dx && emit("mul", [dx, out], LIN_CONST, {}),
  },
  log: {
    value: ([x]) => unary("log_f32", x),
    tangent: ([x], [dx]) => dx && emit("div", [dx, x], LIN_CONST, {}),
  },
  relu: {
    // Subgradient 0 at x = 0 (as PyTorch and JAX choose): the tangent passes only where x > 0.
    value: ([x]) => unary("relu_f32", x),
    tangent: ([x], [dx]) => dx && emit("gate", [dx, x], LIN_CONST, {}),
  },
  matmul: {
    // d(op(A)·op(B)) = op(dA)·op(B) + op(A)·op(dB): linear in either operand while the other is constant.
    value: ([a, b], attrs) => {
      const g = matmulGeometry(a, b, attrs);
      const out = empty(g.outShape);
      gemm(out.ptr, operand(a, g.aStride, attrs.transA), operand(b, g.bStride, attrs.transB), g.batch, g.m, g.k, g.n);
      return out;
    },
    tangent: ([a, b], [da, db], _, attrs) =>
      plus(da && emit("matmul", [da, b], LIN_CONST, attrs), db && emit("matmul", [a, db], CONST_LIN, attrs)),
    linear: ([a, b], linear, attrs) => (linear[0] ? directedProduct(a, b, true, attrs) : directedProduct(b, a, false, attrs)),
    // ⟨ct, op(A)·op(B)⟩: A's cotangent is ct·op(B)ᵀ (transposed back when A is stored transposed),
    // B's is op(A)ᵀ·ct; a matrix shared across a stack sums its cotangents over the stack.
    transpose: (ct, [a, b], linear, { transA, transB }) => {
      const shared = (c: Tensor, x: Tensor) => (x.rank === ct.rank ? c : emit("sum", [c], LIN, { axis: 0, keepdims: false }));
      if (linear[0]) {
        const ctA = transA
          ? emit("matmul", [b, ct], CONST_LIN, { transA: transB, transB: true })
          : emit("matmul", [ct, b], LIN_CONST, { transA: false, transB: !transB });
        return [shared(ctA, a), null];
      }
      const ctB = transB
        ? emit("matmul", [ct, a], LIN_CONST, { transA: true, transB: transA })
        : emit("matmul", [a, ct], CONST_LIN, { transA: !transA, transB: false });
      return [null, shared(ctB, b)];
    },
  },
  // The convolution and its two adjoints: bilinear, like matmul, and closed under transposition.
  // With ⟨y, conv(x, w)⟩ = ⟨convInputAdjoint(y, w), x⟩ = ⟨convWeightAdjoint(y, x), w⟩, each one's
  // transpose in either operand is another of the three.
  conv: convPrim("conv", {
    first: (ct, [, w], g) => emit("convInputAdjoint", [ct, w], LIN_CONST, g),
    second: (ct, [x], g) => emit("convWeightAdjoint", [ct, x], LIN_CONST, g),
  }),
  convInputAdjoint: convPrim("convInputAdjoint", {
    first: (ct, [, w], g) => emit("conv", [ct, w], LIN_CONST, g),
    second: (ct, [y], g) => emit("convWeightAdjoint", [y, ct], CONST_LIN, g),
  }),
  convWeightAdjoint: convPrim("convWeightAdjoint", {
    first: (ct, [, x], g) => emit("conv", [x, ct], CONST_LIN, g),
    second: (ct, [y], g) => emit("convInputAdjoint", [y, ct], CONST_LIN, g),
  }),
  transpose: {
    value: ([x]) => transposed(x),
    tangent: (_, [dx]) => dx && emit("transpose", [dx], LIN, {}),
    linear: ([x]) => transposed(x),
    transpose: (ct) => [emit("transpose", [ct], LIN, {})],
  },
  reshape: {
    value: ([x], { shape }) => view(x, shape),
    tangent: (_, [dx], __, attrs) => dx && emit("reshape", [dx], LIN, attrs),
    linear: ([dx], _, { shape }) => view(dx, [dx.shape[0], ...shape]),
    transpose: (ct, [dx]) => [emit("reshape", [ct], LIN, { shape: unbatched(dx) })],
  },
  broadcast: {
    value: ([x], { from, shape }) => expand(x, from, shape),
    tangent: (_, [dx], __, attrs) => dx && emit("broadcast", [dx], LIN, attrs),
    linear: ([dx], _, { from, shape }) => expand(dx, [dx.shape[0], ...from], [dx.shape[0], ...shape]),
    // The sum over every repeated axis, back to x's shape.
    transpose: (ct, [dx], _, { from, shape }) => {
      let acc = ct;
      from.forEach((d, axis) => {
        if (d !== shape[axis]) acc = emit("sum", [acc], LIN, { axis, keepdims: true });
      });
      return [emit("reshape", [acc], LIN, { shape: unbatched(dx) })];
    },
  },
  sum: {
    value: ([x], { axis, keepdims }) => {
      const out = empty(reducedShape(x.shape, axis, keepdims));
      k().sum_axis_f32(out.ptr, x.ptr, ...around(x.shape, axis));
      return out;
    },
    tangent: (_, [dx], __, attrs) => dx && emit("sum", [dx], LIN, attrs),
    linear: ([dx], _, { axis, keepdims }) => {
      const shape = unbatched(dx);
      const [outer, len, inner] = around(shape, axis);
      const dout = empty([dx.shape[0], ...reducedShape(shape, axis, keepdims)]);
      k().sum_axis_f32(dout.ptr, dx.ptr, dx.shape[0] * outer, len, inner);
      return dout;
    },
    // The cotangent repeated along the summed axis.
    transpose: (ct, [dx], _, { axis }) => {
      const shape = unbatched(dx);
      const kept = reducedShape(shape, axis, true);
      return [emit("broadcast", [emit("reshape", [ct], LIN, { shape: kept })], LIN, { from: kept, shape })];
    },
  },
  max: {
    // The tangent follows the first maximal element (ties are a kink; this picks one subgradient).
    value: ([x], { axis, keepdims }) => {
      const out = empty(reducedShape(x.shape, axis, keepdims));
      k().max_axis_f32(out.ptr, x.ptr, ...around(x.shape, axis));
      return out;
    },
    tangent: ([x], [dx], out, attrs) => dx && emit("selectMax", [dx, x, out], LIN_CONST_CONST, attrs),
  },
  gatherRows: {
    value: valueOf("gatherRows", LIN),
    tangent: (_, [dx], __, attrs) => dx && emit("gatherRows", [dx], LIN, attrs),
    linear: ([dx], _, { indexPtr, count }) => {
      const rest = unbatched(dx).slice(1);
      return perDirection(dx, unbatched(dx), [count, ...rest], (o, d) => k().gather_rows_f32(o, d, indexPtr, count, sizeOf(rest)));
    },
    transpose: (ct, [dx], _, { indexPtr, count }) => [emit("scatterRows", [ct], LIN, { indexPtr, count, rows: dx.shape[1] })],
  },
  scatterRows: {
    value: valueOf("scatterRows", LIN),
    tangent: (_, [dx], __, attrs) => dx && emit("scatterRows", [dx], LIN, attrs),
    // out[index[i]] += x[i]: no hot loop calls it (it is the reverse of gatherRows), so it runs in TS.
    linear: ([dx], _, { indexPtr, count, rows }) => {
      const rest = unbatched(dx).slice(1);
      const rowLen = sizeOf(rest);
      const out = zeroed([dx.shape[0], rows, ...rest]);
      const f = engine().heap.f32(), index = engine().heap.i32();
      for (let d = 0; d < dx.shape[0]; d++) {
        for (let i = 0; i < count; i++) {
          const to = (out.ptr >>> 2) + (d * rows + index[(indexPtr >>> 2) + i]) * rowLen;
          const from = (dx.ptr >>> 2) + (d * count + i) * rowLen;
          for (let j = 0; j < rowLen; j++) f[to + j] += f[from + j];
        }
      }
      return out;
    },
    transpose: (ct, _, __, { indexPtr, count }) => [emit("gatherRows", [ct], LIN, { indexPtr, count })],
  },
  softmaxCrossEntropy: {
    // loss_r = logsumexp(z_r) − z_r[label_r];  d loss_r = softmax(z_r)·dz_r − dz_r[label_r]
    value: ([z], { labelPtr }) => {
      const [rows, cols] = z.shape;
      const out = empty([rows]);
      k().softmax_xent_f32(out.ptr, z.ptr, labelPtr, rows, cols);
      return out;
    },
    tangent: ([z], [dz], _, attrs) => dz && emit("crossEntropyTangent", [dz, z], LIN_CONST, attrs),
  },
  gate: {
    // dx where x > 0, else 0 (relu's tangent): a diagonal 0/1 map, its own transpose.
    value: valueOf("gate", LIN_CONST),
    tangent: ([, x], [dx]) => dx && emit("gate", [dx, x], LIN_CONST, {}),
    linear: ([dx, x]) => perDirection(dx, x.shape, x.shape, (o, d) => k().relu_jvp_f32(o, x.ptr, d, x.size)),
    transpose: (ct, [, x]) => [emit("gate", [ct, x], LIN_CONST, {}), null],
  },
  selectMax: {
    // dx at the first maximal element of x along the axis (max's tangent; `out` is max's value).
    value: valueOf("selectMax", LIN_CONST_CONST),
    tangent: ([, x, top], [dx], _, attrs) => dx && emit("selectMax", [dx, x, top], LIN_CONST_CONST, attrs),
    linear: ([dx, x, top], _, { axis }) => perDirection(dx, x.shape, top.shape, (o, d) => k().max_jvp_f32(o, x.ptr, top.ptr, d, ...around(x.shape, axis))),
    transpose: (ct, [, x, top], _, attrs) => [emit("placeMax", [ct, x, top], LIN_CONST_CONST, attrs), null, null],
  },
  placeMax: {
    // ct at the first maximal element of x along the axis, 0 elsewhere: selectMax's transpose.
    value: valueOf("placeMax", LIN_CONST_CONST),
    tangent: ([, x, top], [dx], _, attrs) => dx && emit("placeMax", [dx, x, top], LIN_CONST_CONST, attrs),
    linear: ([ct, x, top], _, { axis }) => {
      const [outer, len, inner] = around(x.shape, axis);
      const out = zeroed([ct.shape[0], ...x.shape]);
      const f = engine().heap.f32();
      const xs = x.ptr >>> 2, tops = top.ptr >>> 2;
      for (let d = 0; d < ct.shape[0]; d++) {
        for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
          let a = 0;
          while (a < len - 1 && f[xs + (o * len + a) * inner + i] !== f[tops + o * inner + i]) a++;
          f[(out.ptr >>> 2) + d * x.size + (o * len + a) * inner + i] = f[(ct.ptr >>> 2) + d * top.size + o * inner + i];
        }
      }
      return out;
    },
    transpose: (ct, [, x, top], _, attrs) => [emit("selectMax", [ct, x, top], LIN_CONST_CONST, attrs), null, null],
  },
  crossEntropyTangent: {
    // dz ↦ softmax(z_r)·dz_r − dz_r[label_r] per row: softmaxCrossEntropy's tangent.
    value: valueOf("crossEntropyTangent", LIN_CONST),
    tangent: ([, z], [dz, dzOfZ], _, attrs) => {
      if (dzOfZ) throw new FwdgradError("crossEntropyTangent: second derivatives of softmaxCrossEntropy (a tangent of its logits here) are not supported");
      return dz && emit("crossEntropyTangent", [dz, z], LIN_CONST, attrs);
    },
    linear: ([dz, z], _, { labelPtr }) =>
      perDirection(dz, z.shape, [z.shape[0]], (o, d) => k().softmax_xent_jvp_f32(o, z.ptr, labelPtr, d, z.shape[0], z.shape[1])),
    transpose: (ct, [, z], _, attrs) => [emit("crossEntropyCotangent", [ct, z], LIN_CONST, attrs), null],
  },
  crossEntropyCotangent: {
    // c ↦ c_r·(softmax(z_r) − onehot(label_r)) per row: crossEntropyTangent's transpose.
    value: valueOf("crossEntropyCotangent", LIN_CONST),
    tangent: ([, z], [dc, dz], _, attrs) => {
      if (dz) throw new FwdgradError("crossEntropyCotangent: second derivatives of softmaxCrossEntropy (a tangent of its logits here) are not supported");
      return dc && emit("crossEntropyCotangent", [dc, z], LIN_CONST, attrs);
    },
    linear: ([c, z], _, { labelPtr }) => {
      const [rows, cols] = z.shape;
      const p = softmaxMinusOnehot(z, labelPtr);
      const perRow = expand(c, [c.shape[0], rows, 1], [c.shape[0], rows, cols]);
      return elementwise("mul_f32", perRow, p);
    },
    transpose: (ct, [, z], _, attrs) => [emit("crossEntropyTangent", [ct, z], LIN_CONST, attrs), null],
  },
  inject: {
    // The identity on x, whose tangent gains the tangent of a carrier y (engine/jvp.ts `inject`):
    // how an estimator adds its guesses at a point of a forward-mode pass.
    value: ([x]) => view(x, x.shape),
    tangent: (_, [dx, dy]) => plus(dx, dy),
  },
};

/**
 * A bilinear convolution primitive: d f(a, b) = f(da, b) + f(a, db); `transposes` gives the
 * cotangent of the first operand (the second constant) and of the second (the first constant).
 */
function convPrim(name: ConvPrimName, transposes: Record<"first" | "second", (ct: Tensor, args: Tensor[], g: ConvGeometry) => Tensor>): LinearPrim<ConvGeometry> {
  return {
    value: valueOf(name, LIN_CONST),
    tangent: ([a, b], [da, db], _, g) => plus(da && emit(name, [da, b], LIN_CONST, g), db && emit(name, [a, db], CONST_LIN, g)),
    linear: (args, linear, g) => convLinear(name, args, linear, g),
    transpose: (ct, args, linear, g) => (linear[0] ? [transposes.first(ct, args, g), null] : [null, transposes.second(ct, args, g)]),
  };
}

/** The name of a primitive operation: a key of {@link PRIMS}. */
export type PrimName = keyof PrimAttrs;
export type AttrsOf<N extends PrimName> = PrimAttrs[N];

/** Whether primitive `name` has linear and transpose rules. */
export function isLinear(name: PrimName): name is LinearPrimName {
  return "transpose" in PRIMS[name];
}

/** The transpose rule of a recorded equation: cotangents of its linear inputs. */
export function transposeEquation(eq: Equation, ct: Tensor): Tan[] {
  const prim = PRIMS[eq.name] as unknown as LinearPrim<object>;
  return prim.transpose(ct, eq.args as Tensor[], eq.linear, eq.attrs);
}

/**
 * Applies primitive `name`: its value rule always, its tangent rule when an input carries a tangent.
 * All non-null input tangents must have the same number of directions.
 */
export function apply<N extends PrimName>(name: N, inputs: Tensor[], attrs: AttrsOf<N>): Tensor {
  for (const x of inputs) assertLive(name, x);
  const prim = PRIMS[name] as unknown as Prim<AttrsOf<N>>;
  const out = prim.value(inputs, attrs);
  const dxs = inputs.map((x) => x.dt);
  if (dxs.some((dx) => dx !== null)) {
    const directions = dxs.find((dx) => dx !== null)!.shape[0];
    if (dxs.some((dx) => dx !== null && dx.shape[0] !== directions)) {
      throw new FwdgradError(`${name}: inputs carry tangents with different numbers of directions`);
    }
    out.dt = prim.tangent(inputs, dxs, out, attrs);
  }
  recorder?.primal?.(name, inputs, out, attrs);
  return out;
}
