// Estimators against statistics and algebra: unbiased ones average to the true gradient at the rate
// their variance predicts; guess covariances match their formulas; the closed-form variance matches
// Monte Carlo; wperp's fast and exact routes agree; wp equals V·Uᵀ·ε; backprop equals forward-mode
// Jacobian columns; metrics equal hand computations; bad options are rejected.
import {
  add, backprop, stepInput, methodOptions, createEstimator, createMethod, keepsWarmStarts, createMlp, ESTIMATORS, estimateStep, isMethodId, jvp, mark, measureQuality, METHOD_IDS, prepareStep, release, rng, tensor,
  heapBytes, heapPeakBytes, matmul, mul, newtonSchulz, qr, relu, resetHeapPeak, sgd, type EstimatorId, type Mlp, type Tensor,
} from "../../index.ts";
import { fitFor, NS_FITS, NS_STEPS } from "../../estimators/newton-schulz-coefficients.ts";
import { maskedJacobians } from "../../estimators/orthogonal-guess.ts";
import { DEFAULT_WARM_START_BYTES, warmStartBytesFor } from "../../estimators/wperp/warm-starts.ts";
import { jacobianSvd, preconditionedGuess } from "../../estimators/preconditioned-guess.ts";
import { forward } from "../../models/mlp.ts";
import { mean, softmaxCrossEntropy } from "../../engine/ops.ts";
import { SMALL_SIZES, smallProblem } from "../oracles.ts";
import { assert, assertClose, assertFwdgradError, assertSameBits, suite } from "../harness.ts";

const Estimators = suite("estimators");

const SIZES = SMALL_SIZES;
const setup = smallProblem;

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Mean weight-gradient estimate over `draws` steps of K guesses each, and the per-draw variance. */
function meanEstimate(id: EstimatorId, model: Mlp, x: Tensor, labels: Int32Array, draws: number, guesses: number, seed = 100, options: object = {}) {
  const estimator = createEstimator(id, { guesses, ...options });
  const sums = model.layers.map((l) => new Float64Array(l.w.size));
  const squares = model.layers.map((l) => new Float64Array(l.w.size));
  for (let d = 0; d < draws; d++) {
    const m = mark();
    const out = estimateStep(estimator, prepareStep(model, x, labels, rng(seed).split(d)));
    out.grads.w.forEach((g, i) => g.toArray().forEach((v, j) => {
      sums[i][j] += v / draws;
      squares[i][j] += (v * v) / draws;
    }));
    release(m);
  }
  // Σ_j Var(estimate_j): the predicted squared error of the mean is this over `draws`.
  const totalVariance = sums.map((s, i) => s.reduce((t, mu, j) => t + squares[i][j] - mu * mu, 0));
  return { mean: sums, totalVariance };
}

Estimators("backprop equals forward-mode Jacobian columns of the mean loss", () => {
  const { model, x, labels, truth } = setup();
  model.layers.forEach((layer, i) => {
    const n = layer.w.size;
    const eye = new Float32Array(n * n);
    for (let j = 0; j < n; j++) eye[j * n + j] = 1;
    const loss = (w: Tensor) => {
      const withW = { ...model, layers: model.layers.map((l, k) => (k === i ? { ...l, w } : l)) };
      const pre = forward(withW, x).pre;
      return mean(softmaxCrossEntropy(pre[pre.length - 1], labels));
    };
    const [, columns] = jvp(loss, [layer.w], [tensor(eye, [n, ...layer.w.shape])]);
    assertClose(truth.grads.w[i].toArray(), columns.toArray(), `layer ${i}`, 1e-4, 1e-6);
  });
});

Estimators("unbiased estimators average to the true gradient at the predicted rate", () => {
  const { model, x, labels, truth } = setup();
  // Rademacher tangents (E[vvᵀ] = I too) and weight perturbation of the output layer are as unbiased.
  const cases: Array<[EstimatorId, object]> = [
    ["forward-gradient", {}], ["forward-gradient", { tangents: "rademacher" }], ["forward-gradient", { tangents: "rademacher", output: "weights" }],
    ["activation-perturbation", {}], ["activation-perturbation-masked", {}],
  ];
  for (const [estimatorId, options] of cases) {
    const id = `${estimatorId} ${JSON.stringify(options)}`;
    const draws = 400;
    const { mean: average, totalVariance } = meanEstimate(estimatorId, model, x, labels, draws, 16, 100, options);
    truth.grads.w.forEach((t, i) => {
      const g = t.toArray();
      const squaredError = average[i].reduce((s, v, j) => s + (v - g[j]) ** 2, 0);
      // Unbiased: E‖mean − g‖² = Σ Var / draws (a χ²-like ratio, near 1).
      const ratio = squaredError / (totalVariance[i] / draws);
      assert.ok(ratio > 0.4 && ratio < 2.2, `${id} layer ${i}: squared error / predicted = ${ratio}`);
      assert.ok(cos(average[i], g) > 0.97, `${id} layer ${i}: cosine ${cos(average[i], g)}`);
    });
  }
  // Wᵀ is biased by design, but its mean is a descent direction.
  const wt = meanEstimate("wt", model, x, labels, 200, 16).mean;
  truth.grads.w.forEach((t, i) => assert.ok(cos(wt[i], t.toArray()) > 0.5, `wt layer ${i} is a descent direction`));
});

/** Empirical covariance of one example's guesses for hidden layer `layer`, from K guesses. */
function empiricalCovariance(id: EstimatorId, model: Mlp, x: Tensor, labels: Int32Array, layer: number, example: number, guesses: number): Float64Array {
  const estimator = createEstimator(id, { guesses, ...("k" in methodOptions(id) ? { k: 3 } : {}) });
  const input = prepareStep(model, x, labels, rng(9));
  const y = estimator.seed(input).activations[layer]!.toArray();
  const [batch, d] = [x.shape[0], model.sizes[layer + 1]];
  const cov = new Float64Array(d * d);
  for (let g = 0; g < guesses; g++) {
    const off = (g * batch + example) * d;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += (y[off + i] * y[off + j]) / guesses;
  }
  return cov;
}

Estimators("guess covariances: masked → M, wt → M·WᵀW·M, wperp → V_kV_kᵀ", () => {
  const { model, x, labels } = setup();
  const input = prepareStep(model, x, labels, rng(9));
  const layer = 0, example = 2, d = SIZES[1];
  const mask = input.masks[layer].toArray().slice(example * d, (example + 1) * d);
  const K = 20000;
  const tolerance = 6 / Math.sqrt(K);
  const masked = empiricalCovariance("activation-perturbation-masked", model, x, labels, layer, example, K);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    const expected = i === j ? mask[i] : 0;
    assert.ok(Math.abs(masked[i * d + j] - expected) < tolerance, `masked Cov[${i},${j}] ${masked[i * d + j]} vs ${expected}`);
  }
  const w = model.layers[1].w.toArray(), out = SIZES[2];
  const wt = empiricalCovariance("wt", model, x, labels, layer, example, K);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let g = 0;
    for (let o = 0; o < out; o++) g += w[o * d + i] * w[o * d + j];
    const expected = mask[i] * g * mask[j];
    assert.ok(Math.abs(wt[i * d + j] - expected) < tolerance, `wt Cov[${i},${j}] ${wt[i * d + j]} vs ${expected}`);
  }
  const perp = empiricalCovariance("wperp", model, x, labels, layer, example, K);
  const v = createEstimator("wperp", { k: 3, route: "exact" }).covariance(input, layer)!.basis()!.toArray();
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let p = 0;
    for (let c = 0; c < 3; c++) p += v[(example * d + i) * 3 + c] * v[(example * d + j) * 3 + c];
    assert.ok(Math.abs(perp[i * d + j] - p) < tolerance, `wperp Cov[${i},${j}] ${perp[i * d + j]} vs ${p}`);
  }
});

Estimators("closed-form variance of activation perturbation matches Monte Carlo", () => {
  const { model, x, labels, truth } = setup();
  const K = 6000;
  const estimator = createEstimator("activation-perturbation", { guesses: 1 });
  const input = prepareStep(model, x, labels, rng(11));
  const seeds = createEstimator("activation-perturbation", { guesses: K }).seed(input);
  const run = estimateStepWith(model, x, labels, seeds);
  const layer = 1, d = SIZES[2], batch = 5;
  const g = truth.activationGrads.map((t) => t.toArray());
  const y = seeds.activations[layer]!.toArray();
  for (let b = 0; b < batch; b++) {
    // E‖ĝ − g‖² = tr(I)·Σ_j ‖g_j‖² + ‖g_i‖² for Σ = I in every layer
    let total = 0;
    g.forEach((gj, j) => {
      const dj = SIZES[j + 1];
      for (let u = 0; u < dj; u++) total += gj[b * dj + u] ** 2;
    });
    let own = 0;
    for (let u = 0; u < d; u++) own += g[layer][b * d + u] ** 2;
    const predicted = d * total + own;
    let empirical = 0;
    for (let k = 0; k < K; k++) {
      const jv = run[k * batch + b];
      for (let u = 0; u < d; u++) empirical += (jv * y[(k * batch + b) * d + u] - g[layer][b * d + u]) ** 2 / K;
    }
    assert.ok(Math.abs(empirical - predicted) / predicted < 0.08, `example ${b}: Monte Carlo ${empirical} vs closed form ${predicted}`);
  }
  assert.is(estimator.guesses, 1);
});

/**
 * Per-guess, per-example directional derivatives of the mean loss for given activation seeds: [K·B].
 * The oracle for estimateStep's tangent pass: the engine's jvp through a forward pass written here,
 * with each layer's seed added to its pre-activation as a zero-valued tensor carrying the guess.
 */
function estimateStepWith(model: Mlp, x: Tensor, labels: Int32Array, seeds: { activations: (Tensor | null)[] }): Float32Array {
  const batch = x.shape[0];
  const zeros = model.layers.map((_, i) => tensor(new Float32Array(batch * model.sizes[i + 1]), [batch, model.sizes[i + 1]]));
  const perExample = (...zs: Tensor[]) => {
    let h = x;
    model.layers.forEach((layer, i) => {
      let s = matmul(h, layer.w, { transB: true });
      if (layer.b) s = add(s, layer.b);
      s = add(s, zs[i]);
      h = i < model.layers.length - 1 ? relu(s) : s;
    });
    return softmaxCrossEntropy(h, labels);
  };
  const [, d] = jvp(perExample, zeros, seeds.activations);
  return d.toArray().map((v) => v / batch);
}

Estimators("wperp: fast and exact routes agree; wp equals V·Uᵀ·ε", () => {
  const model = createMlp([10, 24, 24, 24, 4], { seed: 3 });
  const x = rng(4).normal([16, 10]);
  const labels = Int32Array.from({ length: 16 }, (_, i) => i % 4);
  const fast = measureQuality(model, x, labels, createEstimator("wperp", { k: 5, route: "fast", tol: 1e-5 }), { draws: 2, rng: rng(1) });
  const exact = measureQuality(model, x, labels, createEstimator("wperp", { k: 5, route: "exact" }), { draws: 2, rng: rng(1) });
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(fast[i].overlap! - exact[i].overlap!) < 0.01, `layer ${i}: overlap fast ${fast[i].overlap} vs exact ${exact[i].overlap}`);
  }
  // principal angles between the two bases: all cosines ≈ 1
  const input = prepareStep(model, x, labels, rng(2));
  const vf = createEstimator("wperp", { k: 5, tol: 1e-6 }).covariance(input, 0)!.basis()!;
  const ve = createEstimator("wperp", { k: 5, route: "exact" }).covariance(input, 0)!.basis()!;
  const cross = matmul(vf, ve, { transA: true }).toArray();
  for (let b = 0; b < 16; b++) {
    let frob = 0;
    for (let j = 0; j < 25; j++) frob += cross[b * 25 + j] ** 2;
    assert.ok(frob > 5 - 1e-2, `example ${b}: Σ cos² of principal angles ${frob} (5 means identical subspaces)`);
  }
  const eps = rng(5).normal([16, 24, 1]);
  const factors = jacobianSvd(input, 0);
  const y = preconditionedGuess(factors, eps, 1e-5).toArray();
  const direct = matmul(factors.v, matmul(factors.u, eps, { transA: true })).toArray();
  assertClose(y, direct, "wp = V·Uᵀ·ε", 1e-3, 1e-5);
  assert.equal(maskedJacobians(model.layers[1].w, input.masks[0]).shape, [16, 24, 24]);
});

Estimators("metrics equal hand-computed values on a tiny network", () => {
  const { model, x, labels, truth } = setup();
  const input = prepareStep(model, x, labels, rng(1));
  const masked = measureQuality(model, x, labels, createEstimator("activation-perturbation-masked"), { draws: 3, rng: rng(1) });
  const d = SIZES[1];
  const m = input.masks[0].toArray();
  let expectedFrobenius = 0;
  for (let b = 0; b < 5; b++) {
    let inactive = 0;
    for (let j = 0; j < d; j++) inactive += 1 - m[b * d + j];
    expectedFrobenius += Math.sqrt(inactive) / 5;
  }
  assert.ok(Math.abs(masked[0].covFrobenius! - expectedFrobenius) < 1e-9, `covFrobenius ${masked[0].covFrobenius} vs ${expectedFrobenius}`);
  assert.ok(Math.abs(masked[0].covRms! - expectedFrobenius / d) < 1e-9, "covRms = covFrobenius / d");
  assert.ok(masked[0].bias! < 1e-9, "masking loses nothing of g: no bias");
  // wt bias: ‖mean_b (M WᵀW M − I) g_b‖, by hand in f64
  const wt = measureQuality(model, x, labels, createEstimator("wt"), { draws: 2, rng: rng(1) });
  const w = model.layers[1].w.toArray(), g = truth.activationGrads[0].toArray(), out = SIZES[2];
  const biasVector = new Float64Array(d);
  for (let b = 0; b < 5; b++) {
    for (let i = 0; i < d; i++) {
      let cg = 0;
      for (let j = 0; j < d; j++) {
        let gram = 0;
        for (let o = 0; o < out; o++) gram += w[o * d + i] * w[o * d + j];
        cg += m[b * d + i] * gram * m[b * d + j] * g[b * d + j];
      }
      biasVector[i] += (cg - g[b * d + i]) / 5;
    }
  }
  const expectedBias = Math.sqrt(biasVector.reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(wt[0].bias! - expectedBias) < 1e-6 * Math.max(1, expectedBias), `wt bias ${wt[0].bias} vs ${expectedBias}`);
  assert.is(wt[2].overlap, null);
  const plain = measureQuality(model, x, labels, createEstimator("activation-perturbation"), { draws: 2, rng: rng(1) });
  assert.is(plain[0].bias, 0);
  assert.is(plain[0].covFrobenius, 0);
  const fg = measureQuality(model, x, labels, createEstimator("forward-gradient"), { draws: 2, rng: rng(1) });
  assert.is(fg[0].cosine, null);
  assert.ok(typeof fg[0].cosineWeights === "number");
});

Estimators("wperp-ns: the fitted polynomial approaches the top-k projector as it is composed", () => {
  // W̃ = Q·diag(σ)·Rᵀ with 5 values above the 0.5 threshold (relative to σ₁) and 5 below.
  const sigma = [1, 0.9, 0.8, 0.7, 0.62, 0.38, 0.3, 0.2, 0.1, 0.05];
  const q = qr(rng(1).normal([10, 10])).q, r = qr(rng(2).normal([16, 10])).q;
  const a = matmul(mul(q, tensor(Float32Array.from(sigma), [1, 10])), r, { transB: true });
  const fit = NS_FITS.find((f) => f.threshold === 0.5)!;
  const projector = (() => {
    const v = r.toArray();
    const out = new Float64Array(256);
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) for (let c = 0; c < 5; c++) out[i * 16 + j] += v[i * 10 + c] * v[j * 10 + c];
    return out;
  })();
  let previous = Infinity;
  for (let steps = 1; steps <= NS_STEPS; steps++) {
    const p = newtonSchulz(a, { coeffs: fit.coeffs, steps, powerIters: 60 });
    const ptp = matmul(p, p, { transA: true }).toArray();
    const distance = Math.sqrt(ptp.reduce((sum2, v, i) => sum2 + (v - projector[i]) ** 2, 0));
    assert.ok(distance < previous, `${steps} compositions: ‖PᵀP − V_kV_kᵀ‖ = ${distance}, not below ${previous}`);
    previous = distance;
  }
  assert.ok(previous < 1e-3, `after ${NS_STEPS} compositions: ${previous}`);
  for (const f of NS_FITS) {
    assert.ok(f.worst < 0.2 && f.rmse < 0.04, `fit for ${f.threshold}: documented errors ${f.rmse}, ${f.worst}`);
    // Values slightly above 1 (an underestimated spectral norm) must not diverge under composition.
    const p = (x: number) => x * (f.coeffs[0] + x * x * (f.coeffs[1] + x * x * (f.coeffs[2] + x * x * f.coeffs[3])));
    for (let i = 0; i <= 110; i++) {
      let y = i / 100;
      for (let s2 = 0; s2 < NS_STEPS; s2++) y = p(y);
      assert.ok(Math.abs(y) < 1.2, `fit for ${f.threshold}: p⁵(${i / 100}) = ${y}`);
    }
    assert.ok(Math.abs(fitFor(f.threshold + 0.02).threshold - f.threshold) < 1e-9, "nearest fit");
  }
  const { model, x, labels } = setup();
  const ns = measureQuality(model, x, labels, createEstimator("wperp-ns", { k: 3 }), { draws: 2, rng: rng(1) });
  assert.ok(ns[0].covFrobenius! > 0 && ns[0].overlap === null, "wperp-ns reports covariance distance, no strict subspace");
});

Estimators("wperp-ns: the fast route's covariance V·f(Σ)²·Vᵀ equals the matrix polynomial's, its guesses have it, and its tail bound is kept", () => {
  // Width 48 with 24 pairs: LOBPCG's block (26) is below the rank in hidden layers 0 and 1, so the
  // tail bound is at work; layer 2, before the output layer's 10 rows, takes the thin route. The exact route normalises
  // by 20 power iterations by default, which underestimate ‖W̃‖₂; 400 converge, and the two
  // routes then compute the same function of the same singular values.
  const model = createMlp([40, 48, 48, 48, 10], { seed: 0 });
  const x = rng(4).normal([16, 40]);
  const labels = Int32Array.from({ length: 16 }, (_, i) => i % 10);
  const input = prepareStep(model, x, labels, rng(3), Int32Array.from({ length: 16 }, (_, i) => i));
  const fast = createEstimator("wperp-ns", { tol: 1e-4 });
  const exact = createEstimator("wperp-ns", { route: "exact", powerIters: 400 });
  for (const layer of [0, 1, 2]) {
    const d = model.sizes[layer + 1];
    const cf = fast.covariance(input, layer)!, ce = exact.covariance(input, layer)!;
    const g = rng(5 + layer).normal([16, d]);
    const a = cf.times(g).toArray(), b = ce.times(g).toArray();
    let diff = 0, norm = 0;
    for (let i = 0; i < a.length; i++) [diff, norm] = [diff + (a[i] - b[i]) ** 2, norm + b[i] ** 2];
    assert.ok(Math.sqrt(diff / norm) < 1e-3, `layer ${layer}: ‖(Cov_fast − Cov_exact)·g‖ / ‖Cov_exact·g‖ = ${Math.sqrt(diff / norm)}`);
    assertClose(cf.distanceSquared(), ce.distanceSquared(), `layer ${layer}: ‖Cov − I‖² per example`, 1e-3);
  }
  const tails = fast.diagnostics!();
  assert.equal(Object.keys(tails).sort(), ["tail.0", "tail.1", "tail.2"]);
  assert.ok(tails["tail.0"] < 1e-2 && tails["tail.1"] < 1e-2 && tails["tail.2"] === 0, JSON.stringify(tails));
  // The guesses: y = V·f(Σ)·z has that covariance (20000 draws, one example).
  const K = 20000, example = 3, d = 48;
  const y = createEstimator("wperp-ns", { tol: 1e-4, guesses: K }).seed(input).activations[1]!.toArray();
  const basis = Array.from({ length: d }, (_, u) => {
    const e = new Float32Array(16 * d);
    e[example * d + u] = 1;
    return fast.covariance(input, 1)!.times(tensor(e, [16, d])).toArray().slice(example * d, (example + 1) * d);
  });
  const top = Math.max(...basis.map((row, u) => row[u]));
  for (let i = 0; i < d; i += 5) for (let j = 0; j < d; j += 7) {
    let c = 0;
    for (let k = 0; k < K; k++) c += (y[(k * 16 + example) * d + i] * y[(k * 16 + example) * d + j]) / K;
    assert.ok(Math.abs(c - basis[j][i]) < 6 * top / Math.sqrt(K), `Cov[${i},${j}]: sampled ${c}, expected ${basis[j][i]}`);
  }
});

Estimators("wperp-ns: the fast route throws when its pairs may leave more than tailTol of Σ f² out; pairs below k are refused", () => {
  const model = createMlp([40, 48, 48, 10], { seed: 0 });
  const x = rng(4).normal([16, 40]);
  const input = prepareStep(model, x, Int32Array.from({ length: 16 }, (_, i) => i % 10), rng(3));
  assertFwdgradError(() => createEstimator("wperp-ns", { k: 3, pairs: 3, oversample: 0, tailTol: 1e-6 }).seed(input), /wperp-ns: in hidden layer 0, the singular pairs past the 3 found may hold up to .* \(tailTol = 0\.000001\); raise pairs, or use route "exact"/);
  assertFwdgradError(() => createEstimator("wperp-ns", { k: 10, pairs: 8 }), /wperp-ns: pairs = 8 must be at least k = 10/);
});

Estimators("wp's fast route has the SVD route's covariance: I where the next layer is as wide, the row-space projector where thinner", () => {
  const model = createMlp([6, 8, 8, 3], { seed: 5 });
  const x = rng(6).normal([12, 6]);
  const labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const input = prepareStep(model, x, labels, rng(7));
  const exact = createEstimator("wp"), fast = createEstimator("wp", { route: "fast" });
  const masks = input.masks[1].toArray();
  for (const layer of [0, 1]) {
    const d = model.sizes[layer + 1];
    const g = rng(8 + layer).normal([12, d]);
    const a = exact.covariance(input, layer)!.times(g).toArray(), b = fast.covariance(input, layer)!.times(g).toArray();
    for (let e = 0; e < 12; e++) {
      // A thin W̃ of lower rank than its rows: the SVD completes V arbitrarily, the fast route does not.
      let active = 0;
      for (let u = 0; u < d; u++) active += layer === 1 ? masks[e * d + u] : 1;
      if (active < model.sizes[layer + 2]) continue;
      for (let u = 0; u < d; u++) assert.ok(Math.abs(a[e * d + u] - b[e * d + u]) < 1e-4, `layer ${layer}, example ${e}, unit ${u}: ${a[e * d + u]} vs ${b[e * d + u]}`);
    }
  }
  const step = estimateStep(fast, input);
  assert.ok(step.grads.w.every((w) => w.toArray().every(Number.isFinite)), "finite gradients");
  assertFwdgradError(() => createEstimator("wp", { route: "slow" as never }), /wp: route must be one of "fast", "exact", got "slow"/);
});

Estimators("wperp's kept blocks stay within warmStartBytes; a state past it is refused", () => {
  const model = createMlp([6, 16, 16, 16, 4], { seed: 1 });
  // k 4, oversample 2: a block is 6 × 16 floats, 384 bytes; ten fit the budget, over both layers.
  const budget = 10 * 384;
  const estimator = createEstimator("wperp", { k: 4, warmStartBytes: budget });
  for (let step = 0; step < 3; step++) {
    const m = mark();
    const rows = Int32Array.from({ length: 8 }, (_, i) => step * 8 + i);
    estimateStep(estimator, prepareStep(model, rng(2 + step).normal([8, 6]), Int32Array.from(rows, (r) => r % 4), rng(step), rows));
    release(m);
  }
  const saved = estimator.state!()!;
  const kept = Object.entries(saved.arrays).filter(([key]) => key.startsWith("bases.")).reduce((sum, [, values]) => sum + values.length * 4, 0);
  assert.is(kept, budget, "the blocks fill the budget exactly");
  assert.equal(saved.numbers["rows.0"], [0, 1, 2, 3, 4, 5, 6, 7], "layer 0 keeps the first batch's rows");
  assert.equal(saved.numbers["rows.1"], [0, 1], "layer 1 keeps what was left");
  const smaller = createEstimator("wperp", { k: 4, warmStartBytes: budget - 1 });
  assertFwdgradError(() => smaller.restore!(saved, model.sizes), /its blocks take 3840 bytes, more than warmStartBytes = 3839/);
  assertFwdgradError(() => createEstimator("wperp", { warmStartBytes: -1 }), /wperp: warmStartBytes must be an integer ≥ 0, got -1/);
});

Estimators("warmStartBytesFor is what keeps every row's block: at it all rows are kept, a byte less drops one", () => {
  // Layer 2's next layer (3 rows) is no wider than k, so it keeps no blocks; layer 0's blocks are
  // 6 × 16 floats, layer 1's 6 × 12 (w = k + oversample = 6).
  const model = createMlp([6, 16, 12, 12, 3], { seed: 1 });
  const rows = 12;
  const needed = warmStartBytesFor(model.sizes, rows, 4);
  assert.is(needed, rows * 6 * (16 + 12) * 4, "rows × w × d × 4 over the layers that keep blocks");
  const keptRows = (budget: number) => {
    const estimator = createEstimator("wperp", { k: 4, warmStartBytes: budget });
    for (let batch = 0; batch < rows / 4; batch++) {
      const m = mark();
      const indices = Int32Array.from({ length: 4 }, (_, i) => batch * 4 + i);
      estimateStep(estimator, prepareStep(model, rng(2 + batch).normal([4, 6]), Int32Array.from(indices, (r) => r % 3), rng(batch), indices));
      release(m);
    }
    const saved = estimator.state!()!;
    return [0, 1, 2].map((layer) => saved.numbers[`rows.${layer}`]?.length ?? 0);
  };
  assert.equal(keptRows(needed), [rows, rows, 0], "every row in both layers that keep blocks");
  assert.equal(keptRows(needed - 1), [rows, rows - 1, 0], "one row's block short");
  assert.is(warmStartBytesFor([40, 1024, 1024, 1024, 10], 4000, 10), 4000 * 12 * 1024 * 4 * 2, "MNIST-1D at width 1024: 393 MB, past the default");
  assert.ok(keepsWarmStarts("wperp") && !keepsWarmStarts("wt") && !keepsWarmStarts("backprop"), "only W̃⊥ keeps warm starts");
  assert.ok(warmStartBytesFor([40, 1024, 1024, 1024, 10], 4000, 10) > DEFAULT_WARM_START_BYTES && warmStartBytesFor([40, 512, 512, 512, 10], 4000, 10) <= DEFAULT_WARM_START_BYTES);
});

Estimators("a step with K guesses keeps, per hidden layer, only its guesses and the tangent it passes on: its peak grows by under 3·K·B·d floats per layer", () => {
  // Each hidden layer keeps its guesses and the tangent it passes on (2·K·B·d floats); its partial
  // sums and the estimate's products are freed as the pass goes (else 5·K·B·d and more).
  const [guesses, batch, width] = [16, 32, 64];
  const peakOf = (depth: number) => {
    const model = createMlp([12, ...new Array(depth).fill(width), 5], { seed: 1 });
    const x = rng(2).normal([batch, 12]);
    const labels = Int32Array.from({ length: batch }, (_, b) => b % 5);
    const m = mark();
    const input = stepInput(model, x, labels, rng(3));
    resetHeapPeak();
    const from = heapPeakBytes();
    estimateStep(createEstimator("activation-perturbation", { guesses }), input);
    const peak = heapPeakBytes() - from;
    release(m);
    return peak;
  };
  const perLayer = (peakOf(6) - peakOf(3)) / 3;
  const tangent = 4 * guesses * batch * width;
  assert.ok(perLayer > 2 * tangent && perLayer < 3 * tangent, `${(perLayer / tangent).toFixed(2)} tangents of K·B·d floats per hidden layer`);
});

Estimators("bad options are rejected", () => {
  const { model, x, labels } = setup();
  // A misspelt id is a compile error (npm run typecheck fails if this line compiles) and a FwdgradError at run time.
  // @ts-expect-error "nope" is not an EstimatorId
  assertFwdgradError(() => createEstimator("nope"), /unknown estimator "nope"; known: forward-gradient/);
  assertFwdgradError(() => createEstimator("wperp", { k: 0 }), /wperp: k must be an integer ≥ 1, got 0/);
  assertFwdgradError(() => createEstimator("wt", { guesses: 0 }), /wt: guesses must be an integer ≥ 1, got 0/);
  assertFwdgradError(() => createEstimator("wperp", { route: "slow" as never }), /wperp: route must be one of "fast", "exact", got "slow"/);
  // Options come from each estimator's table: one it does not declare is refused, naming those it takes.
  assertFwdgradError(() => createEstimator("wt", { k: 10 }), /^wt takes no option "k"; its options: guesses, combine, passes$/);
  assertFwdgradError(() => createMethod("backprop", { guesses: 2 }), /^backprop takes no option "guesses"; its options: none$/);
  assertFwdgradError(() => createEstimator("wperp", { tol: 1 }), /wperp: tol must be a number in \(0, 1\), got 1/);
  assertFwdgradError(() => createEstimator("wp", { sigma: 0 }), /wp: sigma must be a number > 0, got 0/);
  const tooWide = createEstimator("wperp", { k: 9 });
  assertFwdgradError(() => tooWide.seed(prepareStep(model, x, labels, rng(1))), /wperp: k = 9 is larger than the width 8 of hidden layer 0/);
  // Each estimator checks a model's sizes itself, before any work.
  assertFwdgradError(() => tooWide.checkModel!([40, 16, 8, 10]), /wperp: k = 9 is larger than the width 8 of hidden layer 1/);
  assertFwdgradError(() => createEstimator("wperp-ns", { k: 20 }).checkModel!([40, 16, 10]), /wperp-ns: k = 20 is larger than the width 16 of hidden layer 0/);
  createEstimator("wperp", { k: 8 }).checkModel!([40, 8, 8, 10]);
  assertFwdgradError(() => prepareStep(model, x, Int32Array.from([1, 2]), rng(1)), /2 labels for a batch of 5/);
  assertFwdgradError(() => createMlp([4]), /createMlp: sizes must be at least two positive integers/);
});

Estimators("one registry of gradient methods: backprop is an entry, every estimator another", () => {
  assert.equal([...METHOD_IDS], ["backprop", ...Object.keys(ESTIMATORS)]);
  for (const id of ["toString", "__proto__", "constructor", "nope", ""]) {
    assert.not.ok(isMethodId(id), id);
    assertFwdgradError(() => createMethod(id), /unknown method .*; known: backprop, forward-gradient/);
  }
  const { model, x, labels } = setup();
  const exact = createMethod("backprop");
  assert.is(exact.estimator, null);
  const viaRegistry = exact.step(model, x, labels, rng(1));
  const direct = backprop(model, x, labels);
  assert.is(viaRegistry.loss, direct.loss);
  viaRegistry.grads.w.forEach((g, i) => assertSameBits(g.toArray(), direct.grads.w[i].toArray(), `layer ${i}`));
  const wt = createMethod("wt");
  assert.is(wt.estimator!.id, "wt");
  const estimated = wt.step(model, x, labels, rng(1));
  const byHand = estimateStep(createEstimator("wt"), prepareStep(model, x, labels, rng(1)));
  assert.is(estimated.loss, byHand.loss);
  estimated.grads.w.forEach((g, i) => assertSameBits(g.toArray(), byHand.grads.w[i].toArray(), `wt layer ${i}`));
  assertFwdgradError(() => createMethod("wperp", { k: 9 }).checkModel([40, 8, 8, 10]), /wperp: k = 9 is larger than the width 8 of hidden layer 0/);
  exact.checkModel([40, 1, 10]);
});

Estimators("wperp's guesses keep their bits when the weights are scaled by powers of two, down to 2^-36 (a forged checkpoint's 1e-11)", () => {
  const { x, labels } = setup();
  // Layer l's weights and bias times c^l: pre-activations scale by positive factors, so the masks
  // stay; the subspaces depend on the next layer's weights only up to scale.
  const draw = (route: "fast" | "exact", c: number) => {
    const model = createMlp(SIZES, { seed: 1 });
    model.layers.forEach((layer, l) => {
      const factor = c ** l;
      layer.w = tensor(layer.w.toArray().map((v) => v * factor), layer.w.shape);
      if (layer.b) layer.b = tensor(layer.b.toArray().map((v) => v * factor), layer.b.shape);
    });
    const input = prepareStep(model, x, labels, rng(7), Int32Array.from([0, 1, 2, 3, 4]));
    return createEstimator("wperp", { k: 2, route }).seed(input).activations.slice(0, -1).map((t) => t!.toArray());
  };
  for (const route of ["fast", "exact"] as const) {
    const reference = draw(route, 1);
    for (const c of [2 ** -36, 2 ** 20]) draw(route, c).forEach((g, i) => assertSameBits(g, reference[i], `${route}, scale ${c}, layer ${i}`));
  }
});


Estimators("forward gradient: drawn tangents give the stored tangents' step bit for bit, with a peak heap flat in depth", () => {
  const x = rng(2).normal([5, 6]);
  const labels = Int32Array.from([0, 1, 2, 1, 0]);
  for (const options of [{}, { tangents: "rademacher" }, { guesses: 3 }, { guesses: 2, combine: "project" }, { output: "weights" }] as const) {
    const model = createMlp([6, 7, 9, 5, 3], { seed: 1 });
    const drawn = createEstimator("forward-gradient", options);
    // The same estimator with every tangent drawn into memory first: the route the engine had before.
    const stored = { ...drawn, weightGuess: (input: Parameters<NonNullable<typeof drawn.weightGuess>>[0], i: number) => {
      const v = drawn.weightGuess!(input, i);
      return v && tensor(v.toArray(), v.shape);
    } };
    const m = mark();
    const a = estimateStep(drawn, stepInput(model, x, labels, rng(4)));
    const b = estimateStep(stored, stepInput(model, x, labels, rng(4)));
    assert.ok(a.grads.w.slice(0, -1).every((g) => g.deferred), `${JSON.stringify(options)}: hidden updates deferred`);
    assert.is(a.loss, b.loss);
    assertSameBits(a.jvp.toArray(), b.jvp.toArray(), `${JSON.stringify(options)} jvp`);
    a.grads.w.forEach((g, i) => assertSameBits(g.toArray(), b.grads.w[i].toArray(), `${JSON.stringify(options)} layer ${i}`));
    release(m);
  }
  // Peak heap of a training step (estimate and update) above the parameters, at depth 2 and 12.
  // Batch 64, width 256: a layer's activations and update (64 KiB to 256 KiB) outweigh gemm's scratch.
  const wide = rng(3).normal([64, 6]);
  const wideLabels = Int32Array.from({ length: 64 }, (_, i) => i % 3);
  const peakAbove = (id: EstimatorId, depth: number) => {
    const model = createMlp([6, ...Array(depth).fill(256), 3], { seed: 1 });
    const estimator = createEstimator(id);
    const m = mark();
    const base = heapBytes();
    resetHeapPeak();
    const { grads } = estimateStep(estimator, stepInput(model, wide, wideLabels, rng(4)));
    sgd({ lr: 0.1 }).step(model.layers.map((l) => l.w), grads.w);
    release(m);
    return heapPeakBytes() - base;
  };
  const [shallow, deep] = [peakAbove("forward-gradient", 2), peakAbove("forward-gradient", 12)];
  assert.ok(deep <= shallow + 4096, `forward gradient: ${deep} bytes at depth 12 against ${shallow} at depth 2`);
  // The measure sees depth where a pass keeps every layer (activation guesses).
  assert.ok(peakAbove("activation-perturbation", 12) > 2 * peakAbove("activation-perturbation", 2), "activation perturbation grows with depth");
});

Estimators("passes 2: the same step as one pass, bit for bit, keeping O(1) layers; refused where it cannot be", () => {
  const x = rng(2).normal([5, 6]);
  const labels = Int32Array.from([0, 1, 2, 1, 0]);
  const cases: Array<[EstimatorId, object]> = [
    ["activation-perturbation", {}], ["activation-perturbation", { guesses: 3 }], ["activation-perturbation-masked", {}],
    ["wt", {}], ["wt", { guesses: 2 }], ["forward-gradient", {}], ["wp", {}],
  ];
  for (const [id, options] of cases) {
    for (const bias of [false, true]) {
      if (bias && id === "forward-gradient") continue;
      const model = createMlp([6, 7, 9, 5, 3], { seed: 1, bias });
      const m = mark();
      const one = estimateStep(createEstimator(id, options), stepInput(model, x, labels, rng(4)));
      const two = estimateStep(createEstimator(id, { ...options, passes: 2 }), stepInput(model, x, labels, rng(4)));
      const what = `${id} ${JSON.stringify(options)} bias ${bias}`;
      assert.is(two.loss, one.loss, `${what}: loss`);
      assertSameBits(two.jvp.toArray(), one.jvp.toArray(), `${what}: jvp`);
      one.grads.w.forEach((g, i) => assertSameBits(two.grads.w[i].toArray(), g.toArray(), `${what}: layer ${i} weights`));
      one.grads.b.forEach((g, i) => g && assertSameBits(two.grads.b[i]!.toArray(), g.toArray(), `${what}: layer ${i} bias`));
      release(m);
    }
  }
  // Peak heap above the weights, less the gradients (which both keep): flat in depth with two passes.
  const wide = rng(3).normal([64, 6]);
  const wideLabels = Int32Array.from({ length: 64 }, (_, i) => i % 3);
  const peakBeyondGradients = (passes: number, depth: number) => {
    const model = createMlp([6, ...Array(depth).fill(256), 3], { seed: 1 });
    const estimator = createEstimator("activation-perturbation", { passes });
    const m = mark();
    const base = heapBytes();
    resetHeapPeak();
    estimateStep(estimator, stepInput(model, wide, wideLabels, rng(4)));
    const peak = heapPeakBytes() - base;
    release(m);
    return peak - 4 * model.layers.reduce((n, l) => n + l.w.size, 0);
  };
  const [shallow, deep] = [peakBeyondGradients(2, 2), peakBeyondGradients(2, 12)];
  assert.ok(deep <= shallow + 4096, `passes 2: ${deep} bytes beyond the gradients at depth 12 against ${shallow} at depth 2`);
  assert.ok(peakBeyondGradients(1, 12) > deep + 10 * 3 * 64 * 256 * 4, "one pass keeps every layer");
  assertFwdgradError(() => createEstimator("wperp", { passes: 2 }), /wperp: passes 2 needs guesses that a second pass draws again/);
  assertFwdgradError(() => createEstimator("wt", { passes: 2, combine: "project", guesses: 2 }), /passes 2 cannot combine guesses by "project"/);
  assertFwdgradError(() => createEstimator("wt", { passes: 3 }), /passes/);
});

Estimators.run();
