// W̃⊥'s eigen-solvers (estimators/wperp/subspace.ts) against float64 oracles (cyclic Jacobi, written
// independently): batched Lanczos (the exact route) on masked Grams with clustered spectra, fewer
// active units than k and none, LOBPCG tracking slowly perturbed matrices from its own blocks, and
// the caps that turn non-convergence into errors.
import { matmul, mul, rng, tensor, mark, release, add, scale, type Tensor } from "../../../index.ts";
import { denseTop, orthogonal } from "../../oracles.ts";
import { maskedLanczos, maskedTopK } from "../../../estimators/wperp/subspace.ts";
import { denseGram } from "../../../estimators/wperp/gram.ts";
import { assert, assertFwdgradError, assertSameBits, inputs, suite } from "../../harness.ts";

const Subspace = suite("wperp: subspace");

/** W [out, d] with singular values `sigma` (random orthogonal factors from f64 Householder products). */
function withSpectrum(out: number, d: number, sigma: number[], seed: number): Tensor {
  const u = orthogonal(out, seed), v = orthogonal(d, seed + 1);
  const w = new Float32Array(out * d);
  for (let i = 0; i < out; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let t = 0; t < sigma.length; t++) s += u[i * out + t] * sigma[t] * v[j * d + t];
    w[i * d + j] = s;
  }
  return tensor(w, [out, d]);
}

/** ‖P − P̂‖_F per example between the f64 top-k projector of M·WᵀW·M and that of the rows found. */
function projectorErrors(w: Tensor, masks: Float32Array, found: Float32Array, batch: number, k: number): number[] {
  const [out, d] = w.shape;
  const wv = w.toArray();
  const errors: number[] = [];
  for (let b = 0; b < batch; b++) {
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      if (!masks[b * d + i] || !masks[b * d + j]) continue;
      let s = 0;
      for (let o = 0; o < out; o++) s += wv[o * d + i] * wv[o * d + j];
      a[i * d + j] = s;
    }
    const oracle = denseTop(a, d);
    const rank = oracle.values.filter((l) => l > 1e-9 * Math.max(oracle.values[0], 1e-300)).length;
    let error = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let p = 0, q = 0;
      for (let e = 0; e < Math.min(k, rank); e++) p += oracle.vector(e)[i] * oracle.vector(e)[j];
      for (let e = 0; e < k; e++) q += found[(b * d + i) * k + e] * found[(b * d + j) * k + e];
      error += (p - q) ** 2;
    }
    errors.push(Math.sqrt(error));
  }
  return errors;
}

function masksOf(d: number, actives: number[], seed: number): Float32Array {
  const r = inputs(seed);
  const masks = new Float32Array(actives.length * d);
  actives.forEach((count, b) => {
    const order = Array.from({ length: d }, (_, i) => i).sort(() => r.next() - 0.5);
    for (let i = 0; i < count; i++) masks[b * d + order[i]] = 1;
  });
  return masks;
}

Subspace("exact route (Lanczos, certified by LOBPCG's residual test) equals the float64 projector to 1e-4", () => {
  const k = 4, w = 6;
  // Full rank: a cluster at the top, then a spread tail, so Krylov spaces do not end early.
  const spectrum = (n: number, top: number[]) => [...top, ...Array.from({ length: n - top.length }, (_, i) => 3.9 - (3.8 * i) / n)];
  const clustered = [6, 5, 4.2, 4.1, 4.05, 4.0, 3.98];
  for (const [out, d, sigma] of [[20, 17, spectrum(17, clustered)], [40, 64, spectrum(40, clustered)], [64, 65, spectrum(64, [5, 4.5, 4.4, 4.35])]] as const) {
    const m = mark();
    const weights = withSpectrum(out, d, [...sigma], d);
    const gram = matmul(weights, weights, { transA: true });
    // All units, about half, fewer active units than k, and none.
    const actives = [d, Math.ceil(d / 2), Math.ceil(d / 3), 3, 0];
    const masks = masksOf(d, actives, d + 1);
    const maskTensor = tensor(masks, [actives.length, d]);
    const block = maskedLanczos(denseGram(gram), maskTensor, { k, w, tol: 1e-6, maxSteps: d, seed: 0 });
    // Examples run in groups when their bases would not fit at once: one example per group here.
    assertSameBits(maskedLanczos(denseGram(gram), maskTensor, { k, w, tol: 1e-6, maxSteps: d, seed: 0, basisFloats: 1 }).toArray(), block.toArray(), `d ${d}: one example per group`);
    const certified = maskedTopK(denseGram(gram), maskTensor, block, { k, tol: 1e-4, maxIter: 20 });
    assert.is(certified.iterations, 0, `d ${d}: the Lanczos blocks pass the residual test as they are`);
    const errors = projectorErrors(weights, masks, certified.vectors.toArray(), actives.length, k);
    errors.forEach((e, b) => assert.ok(e <= 1e-4, `d ${d}, ${actives[b]} active: ‖P − P̂‖_F = ${e}`));
    release(m);
  }
});

Subspace("fast route: LOBPCG from its own blocks tracks slowly perturbed matrices and stays at the exact subspace", () => {
  const k = 4, w = 6, d = 64, batch = 6;
  const m = mark();
  let weights = withSpectrum(48, d, Array.from({ length: 48 }, (_, i) => 6 / (1 + 0.15 * i)), 5);
  const masks = masksOf(d, [64, 40, 32, 32, 20, 10], 6);
  const maskTensor = tensor(masks, [batch, d]);
  const drift = scale(rng(3).normal([48, d]), 2e-3);
  let block = maskedLanczos(denseGram(matmul(weights, weights, { transA: true })), maskTensor, { k, w, tol: 1e-6, maxSteps: d, seed: 0 });
  let iterations = 0;
  for (let t = 0; t < 10; t++) {
    weights = add(weights, drift);
    const gram = matmul(weights, weights, { transA: true });
    const tracked = maskedTopK(denseGram(gram), maskTensor, block, { k, tol: 1e-3, maxIter: 50 });
    iterations += tracked.iterations;
    block = tensor(tracked.block, [batch, w, d]);
    const errors = projectorErrors(weights, masks, tracked.vectors.toArray(), batch, k);
    errors.forEach((e, b) => assert.ok(e <= 2e-2, `step ${t}, example ${b}: ‖P − P̂‖_F = ${e}`));
  }
  assert.ok(iterations <= 30, `tracking took ${iterations} LOBPCG steps over 10 perturbations`);
  release(m);
});

Subspace("LOBPCG keeps the norms of an example whose masked Gram is 2^-76 of another's (they would square to f32 zero)", () => {
  const k = 3, d = 32, m = mark();
  // Half the units carry weights scaled by 2^-38: an example that sees only those has a masked Gram
  // of ~1e-23, whose residuals' squares underflow f32.
  const columnScale = Float32Array.from({ length: d }, (_, u) => (u < d / 2 ? 1 : 2 ** -38));
  const weights = mul(withSpectrum(24, d, Array.from({ length: 24 }, (_, i) => 4 / (1 + 0.3 * i)), 12), tensor(columnScale, [1, d]));
  const masks = new Float32Array(2 * d);
  for (let u = 0; u < d; u++) masks[u] = 1;
  for (let u = d / 2; u < d; u++) masks[d + u] = 1;
  const found = maskedTopK(denseGram(matmul(weights, weights, { transA: true })), tensor(masks, [2, d]), rng(4).normal([2, k + 2, d]), { k, tol: 1e-3, maxIter: 100 });
  projectorErrors(weights, masks, found.vectors.toArray(), 2, k).forEach((e, b) => assert.ok(e <= 2e-2, `example ${b}: ‖P − P̂‖_F = ${e}`));
  release(m);
});

Subspace("caps: too few Lanczos steps or LOBPCG steps throw, naming the cap", () => {
  const m = mark();
  const weights = withSpectrum(30, 40, Array.from({ length: 30 }, (_, i) => 3 - 0.05 * i), 9);
  const gram = matmul(weights, weights, { transA: true });
  const masks = tensor(new Float32Array(2 * 40).fill(1), [2, 40]);
  assertFwdgradError(() => maskedLanczos(denseGram(gram), masks, { k: 4, w: 6, tol: 1e-9, maxSteps: 8, seed: 0 }), /did not reach tol = 1e-9 within maxSteps = 8 Lanczos steps/);
  const start = rng(1).normal([2, 6, 40]);
  assertFwdgradError(() => maskedTopK(denseGram(gram), masks, start, { k: 4, tol: 1e-7, maxIter: 1 }), /did not reach residual tol = 1e-7 within maxIter = 1 LOBPCG steps/);
  assertFwdgradError(() => maskedTopK(denseGram(gram), masks, rng(1).normal([2, 3, 40]), { k: 4, tol: 1e-3, maxIter: 5 }), /start must be \[2, ≥ 4, 40\]/);
  release(m);
});

Subspace.run();
