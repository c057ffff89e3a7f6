// The JVP table walk: every primitive's tangent rule against central finite differences of an
// independent f64 implementation, along three directions at once, on inputs that include 0 and kinks.
// At a kink the tangent must lie between the one-sided derivatives (a valid subgradient choice).
// A new primitive fails the coverage test until it has a row here. The same rows check reverse mode:
// ⟨u, jvp(v)⟩ = ⟨vjp(u), v⟩ in f64 for every primitive, and every transpose rule is exercised.
import { apply, type LinearPrimName } from "../../engine/prims.ts";
import { indexBuffer } from "../../engine/tensor.ts";
import {
  applyLinear, linearize, vjp, inject, zeros,
  add, broadcast, conv1d, conv2d, conv2dTranspose, div, exp, gatherRows, log, matmul, max, maxPool2d, mean, mul, neg, relu, reshape, scale, softmaxCrossEntropy, sub, sum,
  tensor, transpose, jvp, PRIMS, type PrimName, type Tensor, mark, release,
} from "../../index.ts";
import { assert, assertClose, inputs, suite } from "../harness.ts";

interface Row {
  prim: PrimName;
  label: string;
  shapes: number[][];
  /** Input values; defaults to uniform in [-2, 2). */
  values?: (i: number, n: number) => Float32Array;
  run: (...xs: Tensor[]) => Tensor;
  /** The same function in f64, written independently of the engine. */
  ref: (xs: Float64Array[]) => Float64Array;
  /** Inputs differentiated (default: each alone, then all); the others are constants (e.g. a tangent map's logits). */
  active?: number[];
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const map = (x: Float64Array, f: (v: number) => number) => x.map(f);
const zip = (a: Float64Array, b: Float64Array, f: (x: number, y: number) => number) => a.map((v, i) => f(v, b[i]));

function refMatmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}
function refTranspose(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}
function refReduce(x: Float64Array, outer: number, len: number, inner: number, f: (acc: number, v: number) => number, init: number) {
  const out = new Float64Array(outer * inner).fill(init);
  for (let o = 0; o < outer; o++) for (let a = 0; a < len; a++) for (let i = 0; i < inner; i++) {
    out[o * inner + i] = f(out[o * inner + i], x[(o * len + a) * inner + i]);
  }
  return out;
}

/** A 2-D convolution in f64, written from its definition (PyTorch's conv2d, cross-correlation). */
interface RefConv { n: number; c: number; h: number; w: number; o: number; kh: number; kw: number; stride: [number, number]; pad: [number, number]; dil: [number, number] }
const outLength = (len: number, k: number, s: number, p: number, d: number) => Math.floor((len + 2 * p - d * (k - 1) - 1) / s) + 1;
function refConv(x: Float64Array, wt: Float64Array, g: RefConv): Float64Array {
  const oh = outLength(g.h, g.kh, g.stride[0], g.pad[0], g.dil[0]), ow = outLength(g.w, g.kw, g.stride[1], g.pad[1], g.dil[1]);
  const out = new Float64Array(g.n * g.o * oh * ow);
  for (let b = 0; b < g.n; b++) for (let o = 0; o < g.o; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let s = 0;
    for (let c = 0; c < g.c; c++) for (let p = 0; p < g.kh; p++) for (let q = 0; q < g.kw; q++) {
      const y = i * g.stride[0] - g.pad[0] + p * g.dil[0], z = j * g.stride[1] - g.pad[1] + q * g.dil[1];
      if (y >= 0 && y < g.h && z >= 0 && z < g.w) s += x[((b * g.c + c) * g.h + y) * g.w + z] * wt[((o * g.c + c) * g.kh + p) * g.kw + q];
    }
    out[((b * g.o + o) * oh + i) * ow + j] = s;
  }
  return out;
}
/** The transpose of refConv(·, w) applied to y, from its definition: each output scattered back. */
function refConvTranspose(y: Float64Array, wt: Float64Array, g: RefConv): Float64Array {
  const oh = outLength(g.h, g.kh, g.stride[0], g.pad[0], g.dil[0]), ow = outLength(g.w, g.kw, g.stride[1], g.pad[1], g.dil[1]);
  const x = new Float64Array(g.n * g.c * g.h * g.w);
  for (let b = 0; b < g.n; b++) for (let o = 0; o < g.o; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    for (let c = 0; c < g.c; c++) for (let p = 0; p < g.kh; p++) for (let q = 0; q < g.kw; q++) {
      const r = i * g.stride[0] - g.pad[0] + p * g.dil[0], z = j * g.stride[1] - g.pad[1] + q * g.dil[1];
      if (r >= 0 && r < g.h && z >= 0 && z < g.w) x[((b * g.c + c) * g.h + r) * g.w + z] += y[((b * g.o + o) * oh + i) * ow + j] * wt[((o * g.c + c) * g.kh + p) * g.kw + q];
    }
  }
  return x;
}
// conv1d as in the MNIST-1D CNN's first layer (stride 2, padding 1), and conv2d with every option.
const CONV1D: RefConv = { n: 3, c: 2, h: 1, w: 11, o: 4, kh: 1, kw: 5, stride: [1, 2], pad: [0, 1], dil: [1, 1] };
const CONV2D: RefConv = { n: 2, c: 3, h: 7, w: 6, o: 2, kh: 3, kw: 2, stride: [2, 1], pad: [1, 2], dil: [1, 2] };
const CONV2D_OPTIONS = { stride: [2, 1], padding: [1, 2], dilation: [1, 2] };
const CONV2D_OUT: [number, number] = [outLength(7, 3, 2, 1, 1), outLength(6, 2, 1, 2, 2)];

// Values with exact zeros and exact ties, where relu and max have kinks.
const withKinks = (i: number, n: number) => {
  const v = inputs(31 + i).uniform(n, -2, 2);
  for (let j = 0; j < n; j += 3) v[j] = 0;
  for (let j = 1; j + 1 < n; j += 5) v[j + 1] = v[j];
  return v;
};
const positive = (i: number, n: number) => inputs(41 + i).uniform(n, 0.3, 3);
const LABELS = [2, 0, 5, 5];
const ROWS = [4, 0, 4, 2, 1];

function refSoftmax(z: Float64Array, r: number, cols: number): Float64Array {
  const row = z.subarray(r * cols, (r + 1) * cols);
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}
/** Index of the first maximum of each row of a [rows, cols] array. */
function refArgmax(x: Float64Array, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < cols; c++) if (x[r * cols + c] > x[r * cols + best]) best = c;
    return best;
  });
}
const labelPtr = () => indexBuffer("test", LABELS, 6);

const ROWS_TABLE: Row[] = [
  { prim: "add", label: "add", shapes: [[3, 5], [3, 5]], run: add, ref: ([a, b]) => zip(a, b, (x, y) => x + y) },
  {
    prim: "add", label: "add with broadcasting [3,5] + [5]", shapes: [[3, 5], [5]], run: add,
    ref: ([a, b]) => a.map((v, i) => v + b[i % 5]),
  },
  { prim: "sub", label: "sub", shapes: [[4, 3], [4, 3]], run: sub, ref: ([a, b]) => zip(a, b, (x, y) => x - y) },
  { prim: "mul", label: "mul", shapes: [[2, 7], [2, 7]], values: withKinks, run: mul, ref: ([a, b]) => zip(a, b, (x, y) => x * y) },
  {
    prim: "div", label: "div", shapes: [[3, 4], [3, 4]], values: (i, n) => (i === 0 ? withKinks(i, n) : positive(i, n)),
    run: div, ref: ([a, b]) => zip(a, b, (x, y) => x / y),
  },
  { prim: "neg", label: "neg", shapes: [[5]], run: neg, ref: ([a]) => map(a, (x) => -x) },
  { prim: "scale", label: "scale by -1.5", shapes: [[2, 3]], run: (x) => scale(x, -1.5), ref: ([a]) => map(a, (x) => -1.5 * x) },
  { prim: "scale", label: "mean over axis 1", shapes: [[3, 4]], run: (x) => mean(x, 1), ref: ([a]) => refReduce(a, 3, 4, 1, (s, v) => s + v / 4, 0) },
  { prim: "exp", label: "exp", shapes: [[6]], values: withKinks, run: exp, ref: ([a]) => map(a, Math.exp) },
  { prim: "log", label: "log", shapes: [[6]], values: positive, run: log, ref: ([a]) => map(a, Math.log) },
  { prim: "relu", label: "relu at 0 and elsewhere", shapes: [[4, 5]], values: withKinks, run: relu, ref: ([a]) => map(a, (x) => Math.max(x, 0)) },
  { prim: "matmul", label: "matmul [3,4]·[4,5]", shapes: [[3, 4], [4, 5]], run: (a, b) => matmul(a, b), ref: ([a, b]) => refMatmul(a, b, 3, 4, 5) },
  {
    prim: "matmul", label: "matmul aᵀ·bᵀ", shapes: [[4, 3], [5, 4]], run: (a, b) => matmul(a, b, { transA: true, transB: true }),
    ref: ([a, b]) => refMatmul(refTranspose(a, 4, 3), refTranspose(b, 5, 4), 3, 4, 5),
  },
  {
    prim: "matmul", label: "matmul of a stack by a matrix, aᵀ", shapes: [[2, 4, 3], [4, 5]], run: (a, b) => matmul(a, b, { transA: true }),
    ref: ([a, b]) => new Float64Array([...refMatmul(refTranspose(a.subarray(0, 12), 4, 3), b, 3, 4, 5), ...refMatmul(refTranspose(a.subarray(12), 4, 3), b, 3, 4, 5)]),
  },
  {
    prim: "matmul", label: "matmul of two stacks, bᵀ", shapes: [[2, 3, 4], [2, 5, 4]], run: (a, b) => matmul(a, b, { transB: true }),
    ref: ([a, b]) => new Float64Array([...refMatmul(a.subarray(0, 12), refTranspose(b.subarray(0, 20), 5, 4), 3, 4, 5), ...refMatmul(a.subarray(12), refTranspose(b.subarray(20), 5, 4), 3, 4, 5)]),
  },
  {
    prim: "conv", label: "conv1d [3,2,11] * [4,2,5], stride 2, padding 1", shapes: [[3, 2, 11], [4, 2, 5]],
    run: (x, w) => conv1d(x, w, { stride: 2, padding: 1 }), ref: ([x, w]) => refConv(x, w, CONV1D),
  },
  {
    prim: "conv", label: "conv2d [2,3,7,6] * [2,3,3,2], stride 2×1, padding 1×2, dilation 1×2", shapes: [[2, 3, 7, 6], [2, 3, 3, 2]],
    run: (x, w) => conv2d(x, w, CONV2D_OPTIONS), ref: ([x, w]) => refConv(x, w, CONV2D),
  },
  {
    prim: "convInputAdjoint", label: "conv2dTranspose (conv2d's input adjoint)", shapes: [[2, 2, ...CONV2D_OUT], [2, 3, 3, 2]],
    run: (y, w) => conv2dTranspose(y, w, [7, 6], CONV2D_OPTIONS), ref: ([y, w]) => refConvTranspose(y, w, CONV2D),
  },
  {
    prim: "convWeightAdjoint", label: "convWeightAdjoint (conv2d's weight adjoint)", shapes: [[2, 2, ...CONV2D_OUT], [2, 3, 7, 6]],
    run: (y, x) => {
      const g = { stride: [2, 1], padding: [1, 2], dilation: [1, 2], input: [7, 6], kernel: [3, 2], output: CONV2D_OUT } as const;
      return apply("convWeightAdjoint", [y, x], g);
    },
    // ⟨convWeightAdjoint(y, x), w⟩ = ⟨y, conv(x, w)⟩ for all w: entry (o, c, p, q) is conv's derivative in w there.
    ref: ([y, x]) => new Float64Array(2 * 3 * 3 * 2).map((_, e) => {
      const unit = new Float64Array(36);
      unit[e] = 1;
      return refConv(x, unit, CONV2D).reduce((s, v, i) => s + v * y[i], 0);
    }),
  },
  {
    prim: "transpose", label: "transpose [2,3,4]", shapes: [[2, 3, 4]], run: transpose,
    ref: ([a]) => new Float64Array([...refTranspose(a.subarray(0, 12), 3, 4), ...refTranspose(a.subarray(12), 3, 4)]),
  },
  { prim: "reshape", label: "reshape [2,6] to [3,-1]", shapes: [[2, 6]], run: (x) => mul(reshape(x, [3, -1]), reshape(x, [3, 4])), ref: ([a]) => map(a, (x) => x * x) },
  {
    prim: "broadcast", label: "broadcast [3,1] to [2,3,4]", shapes: [[3, 1]], run: (x) => broadcast(x, [2, 3, 4]),
    ref: ([a]) => new Float64Array(24).map((_, i) => a[Math.floor(i / 4) % 3]),
  },
  { prim: "sum", label: "sum over axis 1 keepdims", shapes: [[2, 3, 4]], run: (x) => sum(x, 1, { keepdims: true }), ref: ([a]) => refReduce(a, 2, 3, 4, (s, v) => s + v, 0) },
  { prim: "sum", label: "sum over the last axis", shapes: [[3, 5]], run: (x) => sum(x, -1), ref: ([a]) => refReduce(a, 3, 5, 1, (s, v) => s + v, 0) },
  { prim: "sum", label: "sum of everything", shapes: [[2, 5]], run: (x) => sum(x), ref: ([a]) => new Float64Array([a.reduce((s, v) => s + v, 0)]) },
  { prim: "max", label: "max with ties over axis 0", shapes: [[5, 3]], values: withKinks, run: (x) => max(x, 0), ref: ([a]) => refReduce(a, 1, 5, 3, Math.max, -Infinity) },
  { prim: "max", label: "max over axis 1", shapes: [[4, 6]], values: withKinks, run: (x) => max(x, 1), ref: ([a]) => refReduce(a, 4, 6, 1, Math.max, -Infinity) },
  {
    prim: "max", label: "maxPool2d 2×2 of [2,3,4,6] (two max reductions)", shapes: [[2, 3, 4, 6]], values: withKinks, run: (x) => maxPool2d(x, 2),
    ref: ([a]) => new Float64Array(2 * 3 * 2 * 3).map((_, e) => {
      const plane = Math.floor(e / 6), i = Math.floor((e % 6) / 3), j = e % 3;
      let m = -Infinity;
      for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) m = Math.max(m, a[plane * 24 + (2 * i + p) * 6 + 2 * j + q]);
      return m;
    }),
  },
  {
    prim: "gatherRows", label: "gatherRows with repeats", shapes: [[5, 3]], run: (x) => gatherRows(x, ROWS),
    ref: ([a]) => new Float64Array(ROWS.flatMap((r) => [...a.subarray(r * 3, r * 3 + 3)])),
  },
  {
    prim: "softmaxCrossEntropy", label: "softmaxCrossEntropy [4,6]", shapes: [[4, 6]], values: (i, n) => inputs(5).uniform(n, -30, 30),
    run: (z) => softmaxCrossEntropy(z, LABELS),
    ref: ([z]) => new Float64Array(4).map((_, r) => {
      const row = z.subarray(r * 6, r * 6 + 6);
      const m = Math.max(...row);
      return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[LABELS[r]];
    }),
  },
  // The linear maps inside tangent rules, and their transposes: each linear in its first input.
  {
    prim: "gate", label: "gate (relu's tangent)", shapes: [[4, 5], [4, 5]], values: (i, n) => (i === 1 ? withKinks(i, n) : inputs(3).uniform(n, -2, 2)),
    run: (dx, x) => apply("gate", [dx, x], {}), ref: ([dx, x]) => dx.map((v, i) => (x[i] > 0 ? v : 0)), active: [0],
  },
  {
    prim: "scatterRows", label: "scatterRows with repeats", shapes: [[5, 3]],
    run: (x) => apply("scatterRows", [x], { indexPtr: indexBuffer("test", ROWS, 6), count: 5, rows: 6 }),
    ref: ([a]) => {
      const out = new Float64Array(18);
      ROWS.forEach((r, i) => { for (let j = 0; j < 3; j++) out[r * 3 + j] += a[i * 3 + j]; });
      return out;
    },
  },
  {
    prim: "selectMax", label: "selectMax over axis 1", shapes: [[4, 6], [4, 6]],
    run: (dx, x) => apply("selectMax", [dx, x, max(x, 1)], { axis: 1, keepdims: false }),
    ref: ([dx, x]) => Float64Array.from(refArgmax(x, 4, 6), (c, r) => dx[r * 6 + c]), active: [0],
  },
  {
    prim: "placeMax", label: "placeMax over axis 1", shapes: [[4], [4, 6]],
    run: (ct, x) => apply("placeMax", [ct, x, max(x, 1)], { axis: 1, keepdims: false }),
    ref: ([ct, x]) => {
      const out = new Float64Array(24);
      refArgmax(x, 4, 6).forEach((c, r) => (out[r * 6 + c] = ct[r]));
      return out;
    },
    active: [0],
  },
  {
    prim: "crossEntropyTangent", label: "crossEntropyTangent [4,6]", shapes: [[4, 6], [4, 6]],
    run: (dz, z) => apply("crossEntropyTangent", [dz, z], { labelPtr: labelPtr() }),
    ref: ([dz, z]) => new Float64Array(4).map((_, r) => refSoftmax(z, r, 6).reduce((s, p, c) => s + p * dz[r * 6 + c], 0) - dz[r * 6 + LABELS[r]]),
    active: [0],
  },
  {
    prim: "crossEntropyCotangent", label: "crossEntropyCotangent [4,6]", shapes: [[4], [4, 6]],
    run: (c, z) => apply("crossEntropyCotangent", [c, z], { labelPtr: labelPtr() }),
    ref: ([c, z]) => new Float64Array(24).map((_, i) => {
      const r = Math.floor(i / 6), col = i % 6;
      return c[r] * (refSoftmax(z, r, 6)[col] - (col === LABELS[r] ? 1 : 0));
    }),
    active: [0],
  },
  // inject's value ignores its second input, whose tangent it adds: finite differences see x only
  // (its tangent is checked in a test of its own below).
  { prim: "inject", label: "inject (value and x's tangent)", shapes: [[3, 4], [3, 4]], run: (x, y) => apply("inject", [x, y], {}), ref: ([x]) => x, active: [0] },
];

const DIRECTIONS = 3;
const H = 1e-6;
const Prims = suite("primitives: value and tangent vs f64 finite differences");

Prims("every primitive has a row", () => {
  const covered = new Set(ROWS_TABLE.map((r) => r.prim));
  const missing = (Object.keys(PRIMS) as PrimName[]).filter((p) => !covered.has(p));
  assert.equal(missing, [], `primitives without a JVP test row: ${missing.join(", ")}`);
});

for (const row of ROWS_TABLE) {
  Prims(row.label, () => {
    const m = mark();
    const values = row.shapes.map((s, i) => (row.values ?? ((j, n) => inputs(11 + j).uniform(n, -2, 2)))(i, size(s)));
    const x64 = values.map((v) => Float64Array.from(v));
    const primals = values.map((v, i) => tensor(v, row.shapes[i]));
    // Each input alone, then all inputs together: exercises the null-tangent paths of every rule.
    const patterns = row.active
      ? [row.shapes.map((_, i) => row.active!.includes(i))]
      : row.shapes.length === 1 ? [[true]] : [...row.shapes.map((_, i) => row.shapes.map((__, j) => i === j)), row.shapes.map(() => true)];
    for (const active of patterns) {
      const dirs = row.shapes.map((s, i) => inputs(97 + i).uniform(DIRECTIONS * size(s)));
      const tangents = row.shapes.map((s, i) => (active[i] ? tensor(dirs[i], [DIRECTIONS, ...s]) : null));
      const [out, dout] = jvp(row.run, primals, tangents);
      const expected = row.ref(x64);
      assertClose(out.toArray(), expected, `${row.label}: value`, 1e-5, 1e-5);
      assert.equal(dout.shape, [DIRECTIONS, ...out.shape], `${row.label}: tangent shape`);
      const dt = dout.toArray();
      for (let d = 0; d < DIRECTIONS; d++) {
        const at = (t: number) => row.ref(x64.map((x, i) => (active[i] ? x.map((v, j) => v + t * dirs[i][d * x.length + j]) : x)));
        const plus = at(H), minus = at(-H), mid = at(0);
        for (let e = 0; e < expected.length; e++) {
          const central = (plus[e] - minus[e]) / (2 * H);
          const right = (plus[e] - mid[e]) / H, left = (mid[e] - minus[e]) / H;
          const tol = 2e-4 * (1 + Math.abs(central));
          const got = dt[d * expected.length + e];
          const lo = Math.min(central, left, right) - tol, hi = Math.max(central, left, right) + tol;
          if (!(got >= lo && got <= hi)) {
            assert.unreachable(`${row.label} (inputs ${active.map(Number).join("")}): direction ${d} element ${e}: tangent ${got}, finite differences ${central} (one-sided ${left}, ${right})`);
          }
        }
      }
    }
    release(m);
  });
}

Prims.run();

// Reverse mode: vjp is the transpose of jvp. For random u (output space) and v (input space),
// ⟨u, jvp(v)⟩ = ⟨vjp(u), v⟩, both sides accumulated in f64.
const Duality = suite("primitives: ⟨u, jvp(v)⟩ = ⟨vjp(u), v⟩ (transpose rules)");
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
const absDot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v * b[i]), 0);
const exercised = new Set<string>();

for (const row of ROWS_TABLE.filter((r) => r.prim !== "inject")) {
  Duality(row.label, () => {
    const m = mark();
    const values = row.shapes.map((s, i) => (row.values ?? ((j, n) => inputs(11 + j).uniform(n, -2, 2)))(i, size(s)));
    const primals = values.map((v, i) => tensor(v, row.shapes[i]));
    const active = row.active ?? row.shapes.map((_, i) => i);
    // f of the differentiated inputs, the others closed over as constants.
    const f = (...xs: Tensor[]) => row.run(...primals.map((p, i) => (active.includes(i) ? xs[active.indexOf(i)] : p)));
    const at = active.map((i) => primals[i]);
    const v = active.map((i, n) => tensor(inputs(200 + n).uniform(size(row.shapes[i])), row.shapes[i]));
    const [out, jv] = jvp(f, at, v);
    const u = tensor(inputs(300).uniform(out.size), out.shape);
    const [, pullback] = vjp(f, at);
    const ct = pullback([u]);
    const left = dot(u.toArray(), jv.toArray());
    const right = ct.reduce((s, c, n) => s + dot(c.toArray(), v[n].toArray()), 0);
    const scale = absDot(u.toArray(), jv.toArray()) + ct.reduce((s, c, n) => s + absDot(c.toArray(), v[n].toArray()), 0);
    assert.ok(Math.abs(left - right) <= 1e-5 * (1 + scale), `${row.label}: ⟨u, jvp(v)⟩ = ${left}, ⟨vjp(u), v⟩ = ${right}`);
    const [, program] = linearize(f, at);
    for (const eq of program.equations) exercised.add(eq.name);
    // The recorded program, run again on the same tangents, gives jvp's tangent (JAX's linearize).
    const [replayed] = applyLinear(program, v.map((t) => tensor(t.toArray(), [1, ...t.shape])));
    assertClose(replayed ? replayed.toArray() : new Float32Array(jv.size), Float64Array.from(jv.toArray()), `${row.label}: applyLinear`, 1e-6, 1e-6);
    release(m);
  });
}

Duality("every linear primitive's transpose rule is exercised by some row", () => {
  const linear = (Object.keys(PRIMS) as PrimName[]).filter((p) => "transpose" in PRIMS[p]) as LinearPrimName[];
  const missing = linear.filter((p) => !exercised.has(p));
  assert.equal(missing, [], `linear primitives no row's linearization uses: ${missing.join(", ")}`);
});

Duality("inject adds its tangent inside jvp and is refused under vjp", () => {
  const m = mark();
  const x = tensor(inputs(5).uniform(6), [2, 3]);
  const guess = tensor(inputs(6).uniform(12), [2, 2, 3]);
  const [, dy] = jvp((a: Tensor) => mul(inject(a, guess), 2), [x], [tensor(inputs(7).uniform(12), [2, 2, 3])]);
  const [, only] = jvp((a: Tensor) => mul(inject(a, guess), 2), [x], [null]);
  const [, plain] = jvp((a: Tensor) => mul(a, 2), [x], [tensor(inputs(7).uniform(12), [2, 2, 3])]);
  const expected = plain.toArray().map((p, i) => p + 2 * guess.toArray()[i]);
  assertClose(dy.toArray(), Float64Array.from(expected), "inject: dx + guess", 1e-6, 1e-6);
  assertClose(only.toArray(), Float64Array.from(guess.toArray(), (g) => 2 * g), "inject on a constant", 1e-6, 1e-6);
  assert.throws(() => vjp((a: Tensor) => inject(a, zeros([1, 2, 3])), [x]), /inject/);
  release(m);
});

Duality.run();
