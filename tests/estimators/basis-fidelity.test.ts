// basisFidelity against matrices with known singular values, built in f64 here (W = U·diag(σ)·Vᵀ with
// U, V products of Householder reflections), and the routes of wperp on a small real model.
import { basisFidelity, createEstimator, createMlp, measureBasisFidelity, rng, tensor } from "../../index.ts";
import { jacobiEigen, orthogonal } from "../oracles.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

/** |actual − expected| ≤ tol. */
function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual}, expected ${expected} ± ${tol}`);
}

const Fidelity = suite("basis fidelity");

/** W = U·diag(σ)·Vᵀ [out, d] and V [d, d] (its columns are the right singular vectors). */
function withSingularValues(out: number, d: number, sigma: number[], seed: number) {
  const u = orthogonal(out, seed);
  const v = orthogonal(d, seed + 1);
  const w = new Float32Array(out * d);
  for (let i = 0; i < out; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let t = 0; t < sigma.length; t++) s += u[i * out + t] * sigma[t] * v[j * d + t];
    w[i * d + j] = s;
  }
  return { w: tensor(w, [out, d]), v };
}

/** One example's basis [1, d, k] from columns given as f64 vectors of length d. */
function basisOf(columns: ArrayLike<number>[], d: number) {
  const k = columns.length;
  const data = new Float32Array(d * k);
  columns.forEach((c, j) => { for (let i = 0; i < d; i++) data[i * k + j] = c[i]; });
  return tensor(data, [1, d, k]);
}

const column = (v: Float64Array, d: number, j: number) => Array.from({ length: d }, (_, i) => v[i * d + j]);
const mix = (a: number[], b: number[], c: number, s: number) => a.map((x, i) => c * x + s * b[i]);
const allActive = (d: number) => tensor(new Float32Array(d).fill(1), [1, d]);
const unit = (d: number, j: number) => Array.from({ length: d }, (_, i) => (i === j ? 1 : 0));

// Both Gram routes: columns (out ≥ active units) and rows (out < active units).
for (const [out, d] of [[12, 10], [6, 10]]) {
  const sigma = [5, 4, 3, 2.5, 1, 0.5].slice(0, Math.min(out, d));
  const k = 3;
  const { w, v } = withSingularValues(out, d, sigma, 7 + out);
  const vk = [0, 1, 2].map((j) => column(v, d, j));
  const top = sigma.slice(0, k).reduce((s, x) => s + x * x, 0);

  Fidelity(`exact basis: energy 1, agreement 1 (${out}×${d})`, () => {
    const f = basisFidelity(w, allActive(d), basisOf(vk, d));
    assertClose(f.energyRatio!, 1, 1e-5, "energy");
    assertClose(f.subspaceAgreement!, 1, 1e-5, "agreement");
    assert.ok(f.orthonormalityDefect < 1e-5);
    assert.is(f.examples[0].rank, sigma.length);
  });

  Fidelity(`a basis rotated within the top-k subspace: energy 1, agreement 1 (${out}×${d})`, () => {
    const q = orthogonal(k, 3);
    const rotated = [0, 1, 2].map((j) => vk[0].map((_, i) => vk[0][i] * q[j] + vk[1][i] * q[k + j] + vk[2][i] * q[2 * k + j]));
    const f = basisFidelity(w, allActive(d), basisOf(rotated, d));
    assertClose(f.energyRatio!, 1, 1e-5, "energy");
    assertClose(f.subspaceAgreement!, 1, 1e-5, "agreement");
  });

  Fidelity(`one vector swapped for v_{k+1}: the energy and agreement it loses (${out}×${d})`, () => {
    for (let j = 0; j < k; j++) {
      const swapped = vk.map((c, i) => (i === j ? column(v, d, k) : c));
      const f = basisFidelity(w, allActive(d), basisOf(swapped, d));
      assertClose(f.energyRatio!, (top - sigma[j] ** 2 + sigma[k] ** 2) / top, 1e-5, `energy, swapping ${j}`);
      assertClose(f.subspaceAgreement!, (k - 1) / k, 1e-5, `agreement, swapping ${j}`);
    }
  });
}

Fidelity("tied σ_k = σ_{k+1}: any basis of the tied space has energy 1", () => {
  const [out, d, sigma] = [9, 8, [4, 3, 2, 2, 1, 0.5]];
  const { w, v } = withSingularValues(out, d, sigma, 21);
  for (const angle of [0, 0.3, 0.9, Math.PI / 2]) {
    const third = mix(column(v, d, 2), column(v, d, 3), Math.cos(angle), Math.sin(angle));
    const f = basisFidelity(w, allActive(d), basisOf([column(v, d, 0), column(v, d, 1), third], d));
    assertClose(f.energyRatio!, 1, 1e-5, `energy at ${angle}`);
    // The reference picks some basis of the tied plane: agreement is anywhere in [2/3, 1].
    assert.ok(f.subspaceAgreement! > 2 / 3 - 1e-5 && f.subspaceAgreement! < 1 + 1e-5, `agreement ${f.subspaceAgreement}`);
  }
});

Fidelity("clustered σ_k ≈ σ_{k+1}: energy barely moves while agreement drops by sin²θ/k", () => {
  const [out, d, sigma] = [10, 10, [6, 5, 3, 2.999, 2.998, 1, 0.1]];
  const { w, v } = withSingularValues(out, d, sigma, 33);
  const top = 36 + 25 + 9;
  for (const angle of [0, 0.5, 1.2]) {
    const third = mix(column(v, d, 2), column(v, d, 3), Math.cos(angle), Math.sin(angle));
    const f = basisFidelity(w, allActive(d), basisOf([column(v, d, 0), column(v, d, 1), third], d));
    const c2 = Math.cos(angle) ** 2;
    assertClose(f.energyRatio!, (36 + 25 + c2 * 9 + (1 - c2) * 2.999 ** 2) / top, 1e-5, `energy at ${angle}`);
    assert.ok(f.energyRatio! > 0.9997);
    assertClose(f.subspaceAgreement!, (2 + c2) / 3, 1e-4, `agreement at ${angle}`);
  }
});

Fidelity("fewer active units than k, and masked columns: the rank is the denominator", () => {
  // Orthogonal columns with norms σ_j: the right singular vectors are the unit vectors.
  const [out, d] = [12, 10];
  const sigma = [1, 9, 2, 8, 3, 7, 4, 6, 5, 0.5];
  const u = orthogonal(out, 5);
  const data = new Float32Array(out * d);
  for (let i = 0; i < out; i++) for (let j = 0; j < d; j++) data[i * d + j] = u[i * out + j] * sigma[j];
  const w = tensor(data, [out, d]);
  const mask = new Float32Array(d);
  for (const j of [1, 4, 7]) mask[j] = 1;
  const masks = tensor(mask, [1, d]);
  // k = 4 > 3 active units: the active unit vectors plus an inactive one capture everything.
  const whole = basisFidelity(w, masks, basisOf([unit(d, 1), unit(d, 4), unit(d, 7), unit(d, 0)], d));
  assert.is(whole.examples[0].rank, 3);
  assertClose(whole.energyRatio!, 1, 1e-6, "energy");
  assertClose(whole.subspaceAgreement!, 1, 1e-6, "agreement");
  const partial = basisFidelity(w, masks, basisOf([unit(d, 1), unit(d, 4), unit(d, 2), unit(d, 0)], d));
  assertClose(partial.energyRatio!, (81 + 9) / (81 + 9 + 36), 1e-6, "energy");
  assertClose(partial.subspaceAgreement!, 2 / 3, 1e-6, "agreement");
  // A zero column is allowed (the exact route's basis of a thin W̃ has fewer columns than k).
  const zero = basisFidelity(w, masks, basisOf([unit(d, 1), unit(d, 4), unit(d, 7), new Array(d).fill(0)], d));
  assertClose(zero.energyRatio!, 1, 1e-6, "energy with a zero column");
  assert.is(zero.orthonormalityDefect, 0);
});

Fidelity("a thin next layer (rank out < k): agreement divides by the rank", () => {
  const [out, d] = [2, 8];
  const { w, v } = withSingularValues(out, d, [3, 1], 41);
  const f = basisFidelity(w, allActive(d), basisOf([0, 1, 5, 6].map((j) => column(v, d, j)), d));
  assert.is(f.examples[0].rank, 2);
  assertClose(f.energyRatio!, 1, 1e-5, "energy");
  assertClose(f.subspaceAgreement!, 1, 1e-5, "agreement");
});

Fidelity("all units inactive: both measures null; summaries skip such examples", () => {
  const [out, d] = [5, 6];
  const { w, v } = withSingularValues(out, d, [2, 1, 0.5], 51);
  const masks = tensor(new Float32Array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), [2, d]);
  const one = basisOf([column(v, d, 0), column(v, d, 1)], d).toArray();
  const basis = tensor(Float32Array.from([...one, ...one]), [2, d, 2]);
  const f = basisFidelity(w, masks, basis);
  assert.is(f.examples[0].energyRatio, null);
  assert.is(f.examples[0].subspaceAgreement, null);
  assert.is(f.examples[0].rank, 0);
  assertClose(f.energyRatio!, 1, 1e-5, "mean over the one live example");
  const none = basisFidelity(w, masks, basis, [0]);
  assert.is(none.energyRatio, null);
  assert.is(none.subspaceAgreementMin, null);
});

Fidelity("a basis that is not orthonormal is flagged", () => {
  const [out, d] = [7, 7];
  const { w, v } = withSingularValues(out, d, [3, 2, 1, 0.5], 61);
  const f = basisFidelity(w, allActive(d), basisOf([0, 1].map((j) => column(v, d, j).map((x) => 1.1 * x)), d));
  assertClose(f.energyRatio!, 1.21, 1e-5, "inflated energy");
  assertClose(f.orthonormalityDefect, 0.21, 1e-5, "defect");
  const skew = basisFidelity(w, allActive(d), basisOf([column(v, d, 0), mix(column(v, d, 0), column(v, d, 1), 0.6, 0.8)], d));
  assertClose(skew.orthonormalityDefect, 0.6, 1e-5, "off-diagonal defect");
});

Fidelity("Jacobi: eigenpairs of a symmetric matrix; bad input refused", () => {
  const n = 6;
  const q = orthogonal(n, 71);
  const lambda = [3, -1, 2, 2, 0, 7];
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let t = 0; t < n; t++) a[i * n + j] += q[i * n + t] * lambda[t] * q[j * n + t];
  const { values } = jacobiEigen(a.slice(), n);
  assert.equal(Array.from(values).sort((x, y) => x - y).map((x) => Math.round(x * 1e9) / 1e9), [-1, 0, 2, 2, 3, 7]);
  const { w } = withSingularValues(3, 3, [1, 1, 1], 81);
  assertFwdgradError(() => basisFidelity(w, allActive(4), basisOf([unit(3, 0)], 3)), /match/);
  assertFwdgradError(() => basisFidelity(w, allActive(3), basisOf([unit(3, 0)], 3), [1]), /example/);
  assertFwdgradError(() => basisFidelity(w, allActive(3), basisOf([[NaN, 0, 0]], 3)), /non-finite/);
});

Fidelity("wperp on a small MLP: the exact route's bases are exact, the fast route's capture ≥ 99 %", () => {
  const model = createMlp([40, 32, 32, 32, 10], { seed: 3 });
  const x = rng(4).normal([96, 40]);
  const labels = Int32Array.from({ length: 96 }, (_, i) => i % 10);
  const exact = measureBasisFidelity(model, x, labels, createEstimator("wperp", { k: 4, route: "exact" }), { examples: 32, rng: rng(5) });
  const fast = measureBasisFidelity(model, x, labels, createEstimator("wperp", { k: 4 }), { examples: 32, rng: rng(5) });
  assert.is(exact.length, 4);
  assert.is(exact[3].energyRatio, null);
  for (const layer of [0, 1, 2]) {
    assertClose(exact[layer].energyRatio!, 1, 1e-4, `exact energy, layer ${layer}`);
    assertClose(exact[layer].energyRatioMin!, 1, 1e-4, `exact min energy, layer ${layer}`);
    assert.ok(exact[layer].subspaceAgreement! > 0.99, `exact agreement ${exact[layer].subspaceAgreement}, layer ${layer}`);
    assert.ok(fast[layer].energyRatio! >= 0.99, `fast energy ${fast[layer].energyRatio}, layer ${layer}`);
    assert.ok(fast[layer].energyRatio! <= 1 + 1e-4, `fast energy ${fast[layer].energyRatio}, layer ${layer}`);
    assert.ok(exact[layer].orthonormalityDefect! < 1e-4 && fast[layer].orthonormalityDefect! < 1e-4, `orthonormality defect, layer ${layer}`);
  }
  // Activation perturbation has no basis.
  const none = measureBasisFidelity(model, x, labels, createEstimator("activation-perturbation"), { rng: rng(5) });
  assert.ok(none.every((l) => l.energyRatio === null && l.subspaceAgreementMin === null && l.orthonormalityDefect === null));
});

Fidelity.run();
