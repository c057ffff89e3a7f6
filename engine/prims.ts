// The primitive table: every op the engine differentiates, its value rule and its tangent (JVP) rule
// side by side. Tangents carry a leading direction axis: for a value of shape S the tangent has shape
// [D, ...S], one row per direction, so K guesses or Jacobian columns cost one pass. A null tangent is
// a symbolic zero and is never materialised. Rules receive validated inputs (see ops.ts); `apply` is
// the one place that decides whether tangents are computed.
import { engine } from "./backend.ts";
import { FwdgradError } from "./errors.ts";
import { gemm, type GemmOperand } from "./gemm.ts";
import type { Kernels } from "./kernel-abi.ts";
import { assertLive, empty, sizeOf, Tensor, view } from "./tensor.ts";

type Tan = Tensor | null;
type Binary = "add_f32" | "sub_f32" | "mul_f32" | "div_f32";

interface Prim<A> {
  value(xs: Tensor[], attrs: A): Tensor;
  tangent(xs: Tensor[], dxs: Tan[], out: Tensor, attrs: A): Tan;
}

const k = (): Kernels => engine().k;

/** out = a ∘ b elementwise; b's size divides a's, and b repeats along a's leading axes (a tangent times a value). */
function elementwise(kernel: Binary, a: Tensor, b: Tensor): Tensor {
  const out = empty(a.shape);
  const fn = k()[kernel];
  const step = b.size * 4;
  for (let offset = 0; offset < a.size * 4; offset += step) fn(out.ptr + offset, a.ptr + offset, b.ptr, b.size);
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
function perDirection(dx: Tensor, outShape: readonly number[], fn: (outPtr: number, dxPtr: number) => void): Tensor {
  const directions = dx.shape[0];
  const out = empty([directions, ...outShape]);
  const inStep = (dx.size / Math.max(directions, 1)) * 4;
  const outStep = sizeOf(outShape) * 4;
  for (let d = 0; d < directions; d++) fn(out.ptr + d * outStep, dx.ptr + d * inStep);
  return out;
}

function plus(a: Tan, b: Tan): Tan {
  if (!a) return b;
  if (!b) return a;
  return elementwise("add_f32", a, b);
}

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

function transposed(x: Tensor): Tensor {
  const out = empty(swapLastTwo(x.shape));
  k().transpose_f32(out.ptr, x.ptr, ...lastTwo(x.shape));
  return out;
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
  transpose: {};
  reshape: { shape: readonly number[] };
  // `from` is x's shape left-padded with 1s to the rank of `shape`.
  broadcast: { from: readonly number[]; shape: readonly number[] };
  sum: AxisAttrs;
  max: AxisAttrs;
  // indexPtr: `count` validated i32 row numbers already in the heap.
  gatherRows: { indexPtr: number; count: number };
  softmaxCrossEntropy: { labelPtr: number };
}

/** The primitive table: each differentiable op's value rule and tangent (JVP) rule. */
export const PRIMS = {
  add: {
    value: ([x, y]) => elementwise("add_f32", x, y),
    tangent: (_, [dx, dy]) => plus(dx, dy),
  },
  sub: {
    value: ([x, y]) => elementwise("sub_f32", x, y),
    tangent: (_, [dx, dy]) => (dx && dy ? elementwise("sub_f32", dx, dy) : dx ?? (dy && unary("neg_f32", dy))),
  },
  mul: {
    // d(xy) = dx·y + x·dy
    value: ([x, y]) => elementwise("mul_f32", x, y),
    tangent: ([x, y], [dx, dy]) => plus(dx && elementwise("mul_f32", dx, y), dy && elementwise("mul_f32", dy, x)),
  },
  div: {
    // d(x/y) = (dx − (x/y)·dy) / y, reusing the output x/y
    value: ([x, y]) => elementwise("div_f32", x, y),
    tangent: ([, y], [dx, dy], out) => {
      const outDy = dy && elementwise("mul_f32", dy, out);
      const numerator = dx && outDy ? elementwise("sub_f32", dx, outDy) : dx ?? unary("neg_f32", outDy!);
      return elementwise("div_f32", numerator, y);
    },
  },
  neg: {
    value: ([x]) => unary("neg_f32", x),
    tangent: (_, [dx]) => dx && unary("neg_f32", dx),
  },
  scale: {
    value: ([x], { c }) => scaled(x, c),
    tangent: (_, [dx], __, { c }) => dx && scaled(dx, c),
  },
  exp: {
    // d e^x = e^x·dx, reusing the output
    value: ([x]) => unary("exp_f32", x),
    tangent: (_, [dx], out) => dx && elementwise("mul_f32", dx, out),
  },
  log: {
    value: ([x]) => unary("log_f32", x),
    tangent: ([x], [dx]) => dx && elementwise("div_f32", dx, x),
  },
  relu: {
    // Subgradient 0 at x = 0 (as PyTorch and JAX choose): the tangent passes only where x > 0.
    value: ([x]) => unary("relu_f32", x),
    tangent: ([x], [dx]) => dx && perDirection(dx, x.shape, (o, d) => k().relu_jvp_f32(o, x.ptr, d, x.size)),
  },
  matmul: {
    // d(op(A)·op(B)) = op(dA)·op(B) + op(A)·op(dB). A direction axis is one more level of batching.
    value: ([a, b], attrs) => {
      const g = matmulGeometry(a, b, attrs);
      const out = empty(g.outShape);
      gemm(out.ptr, operand(a, g.aStride, attrs.transA), operand(b, g.bStride, attrs.transB), g.batch, g.m, g.k, g.n);
      return out;
    },
    tangent: ([a, b], [da, db], out, attrs) => {
      const g = matmulGeometry(a, b, attrs);
      const directions = (da ?? db)!.shape[0];
      const plane = g.batch * g.m * g.n;
      // dx: the operand carrying directions (size `directions`·x.size); other: shared by all directions.
      const product = (dx: Tensor, aSide: boolean) => {
        const dout = empty([directions, ...out.shape]);
        const step = dx.size / Math.max(directions, 1);
        const other = aSide ? b : a;
        const [xStride, otherStride] = aSide ? [g.aStride, g.bStride] : [g.bStride, g.aStride];
        const call = (outPtr: number, dxPtr: number, count: number, dxStride: number, sharedStride: number) => {
          const moving = { ptr: dxPtr, stride: dxStride, trans: aSide ? attrs.transA : attrs.transB };
          const shared = { ptr: other.ptr, stride: sharedStride, trans: aSide ? attrs.transB : attrs.transA };
          gemm(outPtr, aSide ? moving : shared, aSide ? shared : moving, count, g.m, g.k, g.n);
        };
        if (g.batch === 1) call(dout.ptr, dx.ptr, directions, step, 0);
        else for (let d = 0; d < directions; d++) call(dout.ptr + d * plane * 4, dx.ptr + d * step * 4, g.batch, xStride, otherStride);
        return dout;
      };
      return plus(da && product(da, true), db && product(db, false));
    },
  },
  transpose: {
    value: ([x]) => transposed(x),
    tangent: (_, [dx]) => dx && transposed(dx),
  },
  reshape: {
    value: ([x], { shape }) => view(x, shape),
    tangent: (_, [dx], __, { shape }) => dx && view(dx, [dx.shape[0], ...shape]),
  },
  broadcast: {
    value: ([x], { from, shape }) => expand(x, from, shape),
    tangent: (_, [dx], __, { from, shape }) => dx && expand(dx, [dx.shape[0], ...from], [dx.shape[0], ...shape]),
  },
  sum: {
    value: ([x], { axis, keepdims }) => {
      const out = empty(reducedShape(x.shape, axis, keepdims));
      k().sum_axis_f32(out.ptr, x.ptr, ...around(x.shape, axis));
      return out;
    },
    tangent: ([x], [dx], out, { axis }) => {
      if (!dx) return null;
      const [outer, len, inner] = around(x.shape, axis);
      const dout = empty([dx.shape[0], ...out.shape]);
      k().sum_axis_f32(dout.ptr, dx.ptr, dx.shape[0] * outer, len, inner);
      return dout;
    },
  },
  max: {
    // The tangent follows the first maximal element (ties are a kink; this picks one subgradient).
    value: ([x], { axis, keepdims }) => {
      const out = empty(reducedShape(x.shape, axis, keepdims));
      k().max_axis_f32(out.ptr, x.ptr, ...around(x.shape, axis));
      return out;
    },
    tangent: ([x], [dx], out, { axis }) =>
      dx && perDirection(dx, out.shape, (o, d) => k().max_jvp_f32(o, x.ptr, out.ptr, d, ...around(x.shape, axis))),
  },
  gatherRows: {
    value: ([x], { indexPtr, count }) => {
      const rowLen = sizeOf(x.shape.slice(1));
      const out = empty([count, ...x.shape.slice(1)]);
      k().gather_rows_f32(out.ptr, x.ptr, indexPtr, count, rowLen);
      return out;
    },
    tangent: ([x], [dx], out, { indexPtr, count }) =>
      dx && perDirection(dx, out.shape, (o, d) => k().gather_rows_f32(o, d, indexPtr, count, sizeOf(x.shape.slice(1)))),
  },
  softmaxCrossEntropy: {
    // loss_r = logsumexp(z_r) − z_r[label_r];  d loss_r = softmax(z_r)·dz_r − dz_r[label_r]
    value: ([z], { labelPtr }) => {
      const [rows, cols] = z.shape;
      const out = empty([rows]);
      k().softmax_xent_f32(out.ptr, z.ptr, labelPtr, rows, cols);
      return out;
    },
    tangent: ([z], [dz], out, { labelPtr }) =>
      dz && perDirection(dz, out.shape, (o, d) => k().softmax_xent_jvp_f32(o, z.ptr, labelPtr, d, z.shape[0], z.shape[1])),
  },
} satisfies { [N in keyof PrimAttrs]: Prim<PrimAttrs[N]> };

export type PrimName = keyof typeof PRIMS;
export type AttrsOf<N extends PrimName> = PrimAttrs[N];

/**
 * Applies primitive `name`: its value rule always, its tangent rule when an input carries a tangent.
 * All non-null input tangents must have the same number of directions.
 */
export function apply<N extends PrimName>(name: N, inputs: Tensor[], attrs: AttrsOf<N>): Tensor {
  for (const x of inputs) assertLive(name, x);
  const prim = PRIMS[name] as Prim<AttrsOf<N>>;
  const out = prim.value(inputs, attrs);
  const dxs = inputs.map((x) => x.dt);
  if (dxs.some((dx) => dx !== null)) {
    const directions = dxs.find((dx) => dx !== null)!.shape[0];
    if (dxs.some((dx) => dx !== null && dx.shape[0] !== directions)) {
      throw new FwdgradError(`${name}: inputs carry tangents with different numbers of directions`);
    }
    out.dt = prim.tangent(inputs, dxs, out, attrs);
  }
  return out;
}
