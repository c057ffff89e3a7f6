// Decompositions against algebraic properties (a = u·diag(s)·vᵀ, orthonormal factors, eigen-
// residuals), hard inputs, the TS twins bit for bit, top-k against the full decomposition, and
// Newton–Schulz against the polynomial's action on the singular values (checked through svd).
import { eigh, matmul, newtonSchulz, qr, rng, svd, tensor, mark, release, useKernels, type Tensor } from "../../index.ts";
import { assert, assertFwdgradError, assertSameBits, suite } from "../harness.ts";

const Linalg = suite("linalg");

type Mat = { rows: number; cols: number; data: Float64Array };
const mat = (t: Tensor, offset = 0): Mat => {
  const [rows, cols] = t.shape.slice(-2);
  return { rows, cols, data: Float64Array.from(t.toArray().subarray(offset * rows * cols, (offset + 1) * rows * cols)) };
};
function mulT(a: Mat, b: Mat, transA = false, transB = false): Mat {
  const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
  const n = transB ? b.rows : b.cols;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += (transA ? a.data[p * a.cols + i] : a.data[i * a.cols + p]) * (transB ? b.data[j * b.cols + p] : b.data[p * b.cols + j]);
    out[i * n + j] = s;
  }
  return { rows: m, cols: n, data: out };
}
const frob = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
/** max |xᵀx − I| over the columns of x. */
function orthError(x: Mat): number {
  const g = mulT(x, x, true);
  let worst = 0;
  for (let i = 0; i < g.rows; i++) for (let j = 0; j < g.cols; j++) worst = Math.max(worst, Math.abs(g.data[i * g.cols + j] - (i === j ? 1 : 0)));
  return worst;
}
function reconstructionError(a: Mat, u: Mat, s: Float32Array, v: Mat): number {
  const us = { ...u, data: u.data.map((x, i) => x * (s[i % u.cols] ?? 0)) };
  const usTrim = { rows: u.rows, cols: s.length, data: new Float64Array(u.rows * s.length).map((_, i) => us.data[Math.floor(i / s.length) * u.cols + (i % s.length)]) };
  const vTrim = { rows: v.rows, cols: s.length, data: new Float64Array(v.rows * s.length).map((_, i) => v.data[Math.floor(i / s.length) * v.cols + (i % s.length)]) };
  const r = mulT(usTrim, vTrim, false, true);
  const norm = frob(a.data);
  return frob(r.data.map((x, i) => x - a.data[i])) / (norm === 0 ? 1 : norm);
}

function checkSvd(label: string, a: Tensor, full = false): Float32Array {
  const { u, s, v } = svd(a, { full });
  const [m, n] = a.shape;
  const r = Math.min(m, n);
  assert.equal(u.shape, [m, full ? m : r], `${label}: u shape`);
  assert.equal(v.shape, [n, full ? n : r], `${label}: v shape`);
  const sv = s.toArray();
  assert.is(sv.length, r);
  for (let i = 0; i < r; i++) {
    assert.ok(sv[i] >= 0, `${label}: s[${i}] = ${sv[i]} is negative`);
    if (i > 0) assert.ok(sv[i] <= sv[i - 1], `${label}: s not descending at ${i}`);
  }
  const err = reconstructionError(mat(a), mat(u), sv, mat(v));
  assert.ok(err <= 1e-5, `${label}: ‖a − u·s·vᵀ‖/‖a‖ = ${err}`);
  assert.ok(orthError(mat(u)) <= 1e-5, `${label}: uᵀu − I = ${orthError(mat(u))}`);
  assert.ok(orthError(mat(v)) <= 1e-5, `${label}: vᵀv − I = ${orthError(mat(v))}`);
  return sv;
}

/** q·diag(sigma)·rᵀ with random orthonormal q, r: a matrix with chosen singular values. */
function withSingularValues(m: number, n: number, sigma: number[], seed = 9): Tensor {
  const q = mat(qr(rng(seed).normal([m, sigma.length])).q);
  const r = mat(qr(rng(seed + 1).normal([n, sigma.length])).q);
  const qs = { ...q, data: q.data.map((x, i) => x * sigma[i % sigma.length]) };
  return tensor(Float32Array.from(mulT(qs, r, false, true).data), [m, n]);
}

Linalg("svd: properties at odd shapes, thin and full", () => {
  for (const [m, n] of [[1, 1], [1, 7], [7, 1], [3, 3], [17, 5], [5, 17], [65, 64], [64, 65], [40, 128], [128, 40]]) {
    const m0 = mark();
    checkSvd(`${m}x${n}`, rng(m * 100 + n).normal([m, n]));
    checkSvd(`${m}x${n} full`, rng(m * 100 + n).normal([m, n]), true);
    release(m0);
  }
});

Linalg("svd: hard inputs", () => {
  const zero = checkSvd("zero", tensor(new Float32Array(12 * 5), [12, 5]));
  assert.equal([...zero], [0, 0, 0, 0, 0]);
  const rank2 = checkSvd("rank 2", matmul(rng(1).normal([20, 2]), rng(2).normal([2, 10])));
  assert.ok(rank2[2] < 1e-5 * rank2[0], `rank-deficient tail ${rank2[2]}`);
  const repeated = checkSvd("repeated", withSingularValues(30, 12, [3, 3, 3, 2, 2, 1, 1, 1, 1, 0.5, 0.5, 0.5]));
  assert.ok(Math.abs(repeated[0] - 3) < 1e-5 && Math.abs(repeated[11] - 0.5) < 1e-5, "repeated values recovered");
  checkSvd("clustered", withSingularValues(25, 10, [1, 1 + 1e-6, 1 + 2e-6, 1 - 1e-6, 2, 2 + 1e-7, 0.1, 0.1 + 1e-7, 5, 5].sort((a, b) => b - a)));
  for (const scale of [1e-30, 1e30]) {
    const a = tensor(rng(3).normal([9, 6]).toArray().map((x) => x * scale), [9, 6]);
    checkSvd(`scale ${scale}`, a);
  }
  const diag = tensor([0, 0, 3, 0, -5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], [5, 3]);
  const ds = checkSvd("diagonal-like", diag);
  assert.equal([...ds], [5, 3, 1]);
  const orthogonal = checkSvd("orthogonal", qr(rng(4).normal([16, 16])).q);
  assert.ok(orthogonal.every((x) => Math.abs(x - 1) < 1e-5), "orthogonal matrix has unit singular values");
});

Linalg("svd: batched equals one at a time; WASM and TS twins agree bit for bit", () => {
  const stack = rng(5).normal([4, 9, 6]);
  const batched = svd(stack);
  const m0 = mark();
  for (let b = 0; b < 4; b++) {
    const one = svd(tensor(stack.toArray().subarray(b * 54, (b + 1) * 54), [9, 6]));
    assertSameBits(batched.s.toArray().subarray(b * 6, (b + 1) * 6), one.s.toArray(), `s of matrix ${b}`);
    assertSameBits(batched.u.toArray().subarray(b * 54, (b + 1) * 54), one.u.toArray(), `u of matrix ${b}`);
  }
  release(m0);
  for (const [m, n] of [[17, 5], [5, 17], [65, 64], [32, 32]]) {
    const a = rng(m + n).normal([m, n]);
    const wasm = svd(a, { full: true });
    useKernels("ts");
    try {
      const ts = svd(a, { full: true });
      for (const key of ["u", "s", "v"] as const) assertSameBits(wasm[key].toArray(), ts[key].toArray(), `${m}x${n} ${key}`);
      const e1 = eigh(matmul(a, a, { transA: true }));
      useKernels("wasm");
      const e2 = eigh(matmul(a, a, { transA: true }));
      assertSameBits(e1.values.toArray(), e2.values.toArray(), `${m}x${n} eigh values`);
      assertSameBits(e1.vectors.toArray(), e2.vectors.toArray(), `${m}x${n} eigh vectors`);
      useKernels("ts");
      const q1 = qr(a);
      useKernels("wasm");
      const q2 = qr(a);
      assertSameBits(q1.q.toArray(), q2.q.toArray(), `${m}x${n} qr q`);
      assertSameBits(q1.r.toArray(), q2.r.toArray(), `${m}x${n} qr r`);
    } finally {
      useKernels("wasm");
    }
  }
});

Linalg("svd, eigh, qr: bad input and non-convergence are reported", () => {
  assertFwdgradError(() => svd(tensor([1, NaN, 3, 4], [2, 2])), /svd: input \[2, 2\] has a non-finite value \(NaN\) at flat index 1/);
  assertFwdgradError(() => eigh(tensor([1, Infinity, 3, 4], [2, 2])), /eigh: input \[2, 2\] has a non-finite value \(Infinity\)/);
  assertFwdgradError(() => qr(tensor([1, 2, 3])), /qr: expects a matrix or a stack of matrices, got shape \[3\]/);
  assertFwdgradError(() => eigh(rng(1).normal([3, 4])), /eigh: expects square matrices, got shape \[3, 4\]/);
  assertFwdgradError(() => svd(rng(1).normal([5, 4]), { k: 5 }), /svd: k must be an integer in \[1, 4\], got 5/);
  assertFwdgradError(() => svd(rng(1).normal([5, 4]), { k: 2, full: true }), /cannot be combined/);
  assertFwdgradError(() => svd(rng(1).normal([40, 30]), { maxIter: 1 }), /svd: Golub–Kahan QR did not converge within maxIter = 1 sweeps for \[40, 30\]/);
  const g = rng(2).normal([30, 30]);
  assertFwdgradError(() => eigh(matmul(g, g, { transA: true }), { maxIter: 1 }), /eigh: QL iteration did not converge within maxIter = 1/);
  assertFwdgradError(() => svd(rng(3).normal([200, 200]), { k: 10, maxIter: 12, tol: 1e-9 }), /svd: top-10 Lanczos did not converge to tol = 1e-9 within maxIter = 12 steps/);
  assertFwdgradError(() => svd(rng(3).normal([200, 200]), { k: 10, maxIter: 4 }), /svd: maxIter \(4\) must be at least k \(10\)/);
  assertFwdgradError(() => svd(rng(3).normal([60, 60]), { k: 10, warmStart: rng(1).normal([60, 5]), maxIter: 2, tol: 1e-9 }), /svd: top-10 subspace iteration did not converge/);
  assertFwdgradError(() => eigh(matmul(g, g, { transA: true }), { k: 3, maxIter: 2, tol: 1e-9 }), /eigh: top-3 subspace iteration did not converge/);
  assertFwdgradError(() => newtonSchulz(rng(1).normal([4, 4]), { coeffs: [1, NaN] }), /newtonSchulz: coeffs must be 1 to 4 finite numbers/);
  assertFwdgradError(() => newtonSchulz(rng(1).normal([4, 4]), { preset: "quartic" as never }), /unknown preset "quartic"/);
});

Linalg("eigh: residuals, orthonormal vectors, descending values, repeated values", () => {
  for (const n of [1, 3, 17, 64, 65]) {
    const x = rng(n).normal([n + 3, n]);
    const a = matmul(x, x, { transA: true });
    const { values, vectors } = eigh(a);
    const lam = values.toArray();
    for (let i = 1; i < n; i++) assert.ok(lam[i] <= lam[i - 1], `n=${n}: values descending`);
    const av = mulT(mat(a), mat(vectors));
    const vl = mat(vectors).data.map((v, i) => v * lam[i % n]);
    const scale = Math.max(1, Math.abs(lam[0]));
    assert.ok(frob(av.data.map((v, i) => v - vl[i])) / scale < 1e-5 * n, `n=${n}: ‖av − vλ‖`);
    assert.ok(orthError(mat(vectors)) < 1e-5, `n=${n}: vᵀv − I`);
  }
  const { values } = eigh(tensor([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]));
  assert.equal([...values.toArray()], [2, 2, 2]);
  const zero = eigh(tensor(new Float32Array(16), [4, 4]));
  assert.equal([...zero.values.toArray()], [0, 0, 0, 0]);
});

Linalg("eigh: a non-symmetric input is refused, naming the worst pair; rounded Grams pass", () => {
  assertFwdgradError(() => eigh(tensor([1, 2, 3, 4], [2, 2])), /^eigh: input \[2, 2\] is not symmetric: a\[1\]\[0\] = 3 but a\[0\]\[1\] = 2/);
  assertFwdgradError(() => eigh(rng(1).normal([6, 6]), { k: 2 }), /^eigh: input \[6, 6\] is not symmetric/);
  const stack = Float32Array.from([1, 0, 0, 1, 2, 1, 1, 2, 5, 0.5, 0.1, 5]);
  assertFwdgradError(() => eigh(tensor(stack, [3, 2, 2])), /^eigh: input \[3, 2, 2\] is not symmetric \(matrix 2\): a\[1\]\[0\] = 0\.1/);
  // Just past the tolerance fails, just inside passes (1e-5·max|a|, max|a| = 1000).
  assertFwdgradError(() => eigh(tensor([1000, 1, 1.02, 3], [2, 2])), /a gap above 1e-5·max\|a\| = 0\.01/);
  assert.equal(eigh(tensor([1000, 1, 1.005, 3], [2, 2])).values.shape, [2]);
  // Products that round differently on the two sides: (xᵀ·d)·x with d a positive diagonal.
  for (const [rows, n] of [[512, 64], [3000, 40]]) {
    const m = mark();
    const x = rng(rows).normal([rows, n]);
    const d = rng(rows + 1).uniform([rows, 1]).toArray().map((v) => 0.5 + v);
    const weighted = tensor(x.toArray().map((v, i) => v * d[Math.floor(i / n)]), [rows, n]);
    const gram = matmul(weighted, x, { transA: true });
    const g = gram.toArray();
    let asymmetric = false;
    for (let i = 0; i < n && !asymmetric; i++) for (let j = 0; j < i; j++) if (g[i * n + j] !== g[j * n + i]) asymmetric = true;
    assert.ok(asymmetric, `${rows}x${n}: this Gram is not bit-symmetric`);
    assert.equal(eigh(gram).values.shape, [n]);
    assert.equal(eigh(gram, { k: 3 }).values.shape, [3]);
    release(m);
  }
  const tiny = eigh(tensor([1e-40, 2e-45, 0, 1e-40], [2, 2]));
  assert.equal(tiny.values.shape, [2], "subnormal rounding noise passes");
});

Linalg("qr: orthonormal q, upper-triangular r, q·r = a, tall and wide", () => {
  for (const [m, n] of [[1, 1], [5, 3], [3, 5], [65, 17], [64, 64]]) {
    const a = rng(m * n).normal([m, n]);
    const { q, r } = qr(a);
    const kk = Math.min(m, n);
    assert.equal(q.shape, [m, kk]);
    assert.equal(r.shape, [kk, n]);
    assert.ok(orthError(mat(q)) < 1e-5, `${m}x${n}: qᵀq − I`);
    const rv = r.toArray();
    for (let i = 0; i < kk; i++) for (let j = 0; j < i; j++) assert.is(rv[i * n + j], 0, `${m}x${n}: r below the diagonal`);
    const qr64 = mulT(mat(q), mat(r));
    assert.ok(frob(qr64.data.map((v, i) => v - mat(a).data[i])) / frob(mat(a).data) < 1e-6, `${m}x${n}: q·r = a`);
  }
});

Linalg("top-k svd and eigh match the full decomposition; warm starts converge sooner", () => {
  const sigma = Array.from({ length: 60 }, (_, i) => 10 * 0.9 ** i);
  const a = withSingularValues(120, 80, sigma, 21);
  const fullS = svd(a).s.toArray();
  const top = svd(a, { k: 8 });
  const ts = top.s.toArray();
  assert.equal(top.u.shape, [120, 8]);
  assert.equal(top.v.shape, [80, 8]);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(ts[i] - fullS[i]) <= 1e-4 * fullS[i], `σ${i}: ${ts[i]} vs ${fullS[i]}`);
  // a·v = u·s for each triplet
  const av = mulT(mat(a), mat(top.v));
  const us = mat(top.u).data.map((x, i) => x * ts[i % 8]);
  assert.ok(frob(av.data.map((x, i) => x - us[i])) / fullS[0] < 1e-4, "a·v = u·s");
  assert.ok(orthError(mat(top.u)) < 1e-4 && orthError(mat(top.v)) < 1e-4, "orthonormal top-k bases");
  const cold = svd(a, { k: 8, method: "subspace" });
  assert.ok([...cold.s.toArray()].every((x, i) => Math.abs(x - fullS[i]) <= 1e-4 * fullS[i]), "subspace iteration values");
  const warm = svd(a, { k: 8, warmStart: cold.v });
  assert.ok(warm.iterations < cold.iterations, `warm start: ${warm.iterations} vs cold ${cold.iterations} iterations`);

  const g = matmul(a, a, { transA: true });
  const full = eigh(g).values.toArray();
  const topE = eigh(g, { k: 5 });
  const te = topE.values.toArray();
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(te[i] - full[i]) <= 1e-4 * full[i], `λ${i}: ${te[i]} vs ${full[i]}`);
  assert.ok(orthError(mat(topE.vectors)) < 1e-4, "orthonormal eigenvectors");
});

Linalg("Newton–Schulz maps each singular value through the polynomial", () => {
  const sigma = [4, 3, 2.5, 1, 0.5, 0.2];
  const a = withSingularValues(12, 6, sigma, 31);
  const apply = (coeffs: readonly number[], x: number) => coeffs.reduce((s, c, i) => s + c * x ** (2 * i + 1), 0);
  const cases: Array<[string, readonly number[], number]> = [["cubic", [1.5, -0.5], 1], ["cubic", [1.5, -0.5], 3], ["muon", [3.4445, -4.775, 2.0315], 2], ["degree 7", [2.2, -2.1, 1.2, -0.3], 2]];
  for (const [label, coeffs, steps] of cases) {
    const out = svd(newtonSchulz(a, { coeffs, steps, powerIters: 60 })).s.toArray();
    const expected = sigma.map((s) => {
      let x = s / sigma[0];
      for (let i = 0; i < steps; i++) x = apply(coeffs, x);
      return Math.abs(x);
    }).sort((p, q) => q - p);
    for (let i = 0; i < sigma.length; i++) assert.ok(Math.abs(out[i] - expected[i]) < 1e-4, `${label} × ${steps}: σ${i} ${out[i]} vs ${expected[i]}`);
  }
  const stack = rng(3).normal([3, 5, 8]);
  const polar = newtonSchulz(stack, { preset: "cubic", steps: 40 });
  for (let b = 0; b < 3; b++) {
    const s = svd(tensor(polar.toArray().subarray(b * 40, (b + 1) * 40), [5, 8])).s.toArray();
    assert.ok(s.every((x) => Math.abs(x - 1) < 1e-4), `stack ${b}: polar factor has unit singular values (${[...s]})`);
  }
});

Linalg.run();
