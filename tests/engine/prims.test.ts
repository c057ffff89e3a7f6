// The JVP table walk: every primitive's tangent rule against central finite differences of an
// independent f64 implementation, along three directions at once, on inputs that include 0 and kinks.
// At a kink the tangent must lie between the one-sided derivatives (a valid subgradient choice).
// A new primitive fails the coverage test until it has a row here.
import {
  add, broadcast, div, exp, gatherRows, log, matmul, max, mean, mul, neg, relu, reshape, scale, softmaxCrossEntropy, sub, sum,
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
    const patterns = row.shapes.length === 1 ? [[true]] : [...row.shapes.map((_, i) => row.shapes.map((__, j) => i === j)), row.shapes.map(() => true)];
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
