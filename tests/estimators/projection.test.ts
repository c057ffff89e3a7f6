// Projected multi-guess estimates against their definition: with as many guesses as the joint guess
// space has dimensions the projection is exact (the true gradient, or its projection onto W̃⊥'s
// subspace) with no variance; one guess gives the one-guess estimate's direction; the mean and
// covariance of the projection onto K isotropic guesses match the closed form in the docs, by
// sampling; the semidefinite solver meets the normal equations on rank-deficient Grams.
import {
  backprop, createEstimator, createMlp, generateMnist1d, Trainer, estimateStep, mark, measureQuality, prepareStep, projectionCoefficients, release, rng, solveSemidefinite, tensor,
  type Seeds,
} from "../../index.ts";
import { jointGram } from "../../estimators/projection.ts";
import { parseCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { SMALL_SIZES, smallProblem } from "../oracles.ts";
import { assert, assertClose, assertFwdgradError, suite } from "../harness.ts";

const Projection = suite("projection");

const SIZES = SMALL_SIZES;
const setup = smallProblem;

/** The largest |a − b| over the largest |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

Projection("K equal to the joint dimension recovers the gradient exactly, every draw (activation perturbation, masked, and beyond it)", () => {
  const { model, x, labels, truth } = setup();
  const joint = SIZES.slice(1).reduce((s, d) => s + d, 0);
  for (const [id, guesses] of [["activation-perturbation", joint], ["activation-perturbation-masked", joint], ["activation-perturbation", joint + 9]] as const) {
    const estimator = createEstimator(id, { guesses, combine: "project" });
    for (let draw = 0; draw < 3; draw++) {
      const scope = mark();
      const estimate = estimateStep(estimator, prepareStep(model, x, labels, rng(40).split(draw)));
      estimate.activationGrads.forEach((g, i) => {
        const error = relativeError(g!.toArray(), truth.activationGrads[i].toArray());
        assert.ok(error < 2e-3, `${id} K=${guesses} draw ${draw} layer ${i}: relative error ${error}`);
      });
      estimate.grads.w.forEach((g, i) => {
        const error = relativeError(g.toArray(), truth.grads.w[i].toArray());
        assert.ok(error < 2e-3, `${id} K=${guesses} draw ${draw} weights ${i}: relative error ${error}`);
      });
      release(scope);
    }
  }
});

Projection("weight perturbation with K equal to the weights' dimension plus the output's gives the exact batch gradient", () => {
  const model = createMlp(SIZES, { seed: 1, bias: false });
  const x = rng(2).normal([5, 6]);
  const labels = Int32Array.from([0, 1, 2, 1, 0]);
  const truth = backprop(model, x, labels);
  const dimension = SIZES[0] * SIZES[1] + SIZES[1] * SIZES[2] + SIZES[3];
  const estimate = estimateStep(createEstimator("forward-gradient", { guesses: dimension, combine: "project" }), prepareStep(model, x, labels, rng(41)));
  estimate.grads.w.forEach((g, i) => {
    const error = relativeError(g.toArray(), truth.grads.w[i].toArray());
    assert.ok(error < 5e-3, `weights ${i}: relative error ${error}`);
  });
});

Projection("W̃⊥ with K = Σ k + classes is the exact projection onto each layer's W̃⊥ subspace, with no sampling noise", () => {
  const { model, x, labels, truth } = setup();
  const k = 2;
  const estimator = createEstimator("wperp", { k, guesses: 2 * k + SIZES[3], combine: "project", route: "exact" });
  const input = prepareStep(model, x, labels, rng(42));
  const first = estimateStep(estimator, input);
  const second = estimateStep(estimator, { ...input, rng: rng(43) });
  for (let i = 0; i < 2; i++) {
    const exact = estimator.covariance(input, i)!.times(truth.activationGrads[i]).toArray();
    for (const [name, estimate] of [["first", first], ["second", second]] as const) {
      const error = relativeError(estimate.activationGrads[i]!.toArray(), exact);
      assert.ok(error < 2e-3, `${name} draw, layer ${i}: relative error ${error} against V·Vᵀ·g`);
    }
  }
});

Projection("one guess: the projection points along the one-guess estimate, scaled per example by 1/‖y_b‖² over all layers", () => {
  const { model, x, labels } = setup();
  for (const id of ["wt", "activation-perturbation", "wperp"] as const) {
    const input = prepareStep(model, x, labels, rng(44));
    const options = id === "wperp" ? { k: 2, route: "exact" as const } : {};
    const seeds = createEstimator(id, options).seed(input);
    const mean = estimateStep(createEstimator(id, options), input);
    const projected = estimateStep(createEstimator(id, { ...options, combine: "project" }), input);
    const squares = new Float64Array(5);
    for (const y of seeds.activations) y!.toArray().forEach((v, j) => (squares[Math.floor(j / y!.shape[2])] += v * v));
    mean.activationGrads.forEach((g, i) => {
      const d = SIZES[i + 1];
      const expected = Float32Array.from(g!.toArray(), (v, j) => v / squares[Math.floor(j / d)]);
      assertClose(projected.activationGrads[i]!.toArray(), expected, `${id} layer ${i}`, 1e-4, 1e-9);
    });
  }
});

/**
 * N independent "examples", each projecting one fixed g ∈ R^n onto the span of its own K Gaussian
 * guesses, through projectionCoefficients: E ĝ = (K/n)·g and
 * Cov ĝ = (α − (K/n)²)·g·gᵀ + β·‖g‖²·I with β = K(n−K)/(n(n+2)(n−1)), α = K(K+2)/(n(n+2)) − β.
 */
Projection("mean and covariance of the projection onto K isotropic guesses match the closed form, by sampling", () => {
  const n = 6, K = 2, N = 40_000;
  const g = [0.9, -0.4, 0.3, 0, 0.5, -0.2];
  const y = rng(45).normal([K, N, n]);
  const values = y.toArray();
  const jvp = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let b = 0; b < N; b++) for (let j = 0; j < n; j++) jvp[k * N + b] += values[(k * N + b) * n + j] * g[j];
  const seeds: Seeds = { weights: [null], activations: [y] };
  const c = projectionCoefficients(seeds, tensor(jvp, [K, N])).toArray();
  const samples = new Float64Array(N * n);
  for (let b = 0; b < N; b++) for (let k = 0; k < K; k++) for (let j = 0; j < n; j++) samples[b * n + j] += c[k * N + b] * values[(k * N + b) * n + j];
  const gg = g.reduce((s, v) => s + v * v, 0);
  const beta = (K * (n - K)) / (n * (n + 2) * (n - 1));
  const alpha = (K * (K + 2)) / (n * (n + 2)) - beta;
  const mean = new Float64Array(n);
  for (let b = 0; b < N; b++) for (let j = 0; j < n; j++) mean[j] += samples[b * n + j] / N;
  for (let j = 0; j < n; j++) {
    // standard error of the mean from the sample's own spread
    let v = 0;
    for (let b = 0; b < N; b++) v += (samples[b * n + j] - mean[j]) ** 2 / N;
    const expected = (K / n) * g[j];
    assert.ok(Math.abs(mean[j] - expected) < 5 * Math.sqrt(v / N), `E ĝ[${j}] = ${mean[j]}, expected ${expected}`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let m = 0, m2 = 0;
      for (let b = 0; b < N; b++) {
        const p = (samples[b * n + i] - mean[i]) * (samples[b * n + j] - mean[j]);
        m += p / N;
        m2 += (p * p) / N;
      }
      const expected = (alpha - (K / n) ** 2) * g[i] * g[j] + (i === j ? beta * gg : 0);
      const standardError = Math.sqrt((m2 - m * m) / N);
      assert.ok(Math.abs(m - expected) < 5 * standardError + 1e-5, `Cov[${i}][${j}] = ${m}, expected ${expected} (±${standardError})`);
    }
  }
});

Projection("the joint Gram: exactly the f64 sums of the guesses' products in order, for K = 1, 3, 4, 5, 9, activation and weight guesses", () => {
  for (const guesses of [1, 3, 4, 5, 9]) {
    const [batch, widths] = [3, [5, 17]];
    const activations = widths.map((d, i) => rng(10 + i).normal([guesses, batch, d]));
    const weight = rng(20).normal([guesses, 4, 3]);
    const gram = jointGram({ weights: [null, null, weight], activations: [...activations, null] }, guesses, batch);
    // The oracle: one dot product at a time, j in order, the layers in order, the weights' block last.
    const dot = (v: Float32Array, a: number, b: number, n: number) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += v[a + j] * v[b + j];
      return s;
    };
    const w = weight.toArray();
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < guesses; k++) {
        for (let l = 0; l < guesses; l++) {
          let expected = 0;
          activations.forEach((y, i) => (expected += dot(y.toArray(), (Math.max(k, l) * batch + b) * widths[i], (Math.min(k, l) * batch + b) * widths[i], widths[i])));
          expected += dot(w, Math.max(k, l) * 12, Math.min(k, l) * 12, 12);
          assert.is(gram[(b * guesses + k) * guesses + l], expected, `K = ${guesses}, example ${b}, entry (${k}, ${l})`);
        }
      }
    }
  }
});

Projection("the semidefinite solver meets the normal equations on rank-deficient Grams and finds the rank", () => {
  for (const [k, rank] of [[1, 1], [3, 3], [4, 2], [5, 1], [17, 9]] as const) {
    const gen = rng(46 + k).normal([rank, k]).toArray();
    // A = GᵀG for G [rank + 3, k] whose columns span `rank` dimensions: G = H·F, H [rank + 3, rank]
    const h = rng(47 + k).normal([rank + 3, rank]).toArray();
    const m = rank + 3;
    const columns = new Float64Array(m * k);
    for (let r = 0; r < m; r++) for (let j = 0; j < k; j++) for (let t = 0; t < rank; t++) columns[r * k + j] += h[r * rank + t] * gen[t * k + j];
    const a = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let r = 0; r < m; r++) a[i * k + j] += columns[r * k + i] * columns[r * k + j];
    const target = Array.from({ length: m }, (_, r) => Math.sin(r + 1));
    const rhs = Array.from({ length: k }, (_, j) => target.reduce((s, t, r) => s + columns[r * k + j] * t, 0));
    const c = new Float64Array(k);
    assert.is(solveSemidefinite(a, 0, k, rhs, c), rank, `k ${k}: rank`);
    const residual = Array.from({ length: k }, (_, i) => a.slice(i * k, i * k + k).reduce((s, v, j) => s + v * c[j], 0) - rhs[i]);
    const scale = Math.max(...rhs.map(Math.abs));
    assert.ok(Math.max(...residual.map(Math.abs)) < 1e-8 * scale, `k ${k}: normal equations' residual ${Math.max(...residual.map(Math.abs))}`);
  }
  const zero = new Float64Array(9), c = new Float64Array(3).fill(7);
  assert.is(solveSemidefinite(zero, 0, 3, [1, 2, 3], c), 0);
  assert.equal(Array.from(c), [0, 0, 0]);
});

Projection("quality metrics of a projected estimate: bias from the draws, no variance at K = dimension", () => {
  const { model, x, labels } = setup();
  const joint = SIZES.slice(1).reduce((s, d) => s + d, 0);
  const layers = measureQuality(model, x, labels, createEstimator("activation-perturbation", { guesses: joint, combine: "project" }), { draws: 4, rng: rng(48) });
  for (const l of layers) {
    assert.is(l.biasFrom, "draws");
    assert.ok(l.cosine! > 0.9999, `layer ${l.layer}: cosine ${l.cosine}`);
    assert.ok(l.bias! < 1e-5 && l.variance! < 1e-6, `layer ${l.layer}: bias ${l.bias}, variance ${l.variance}`);
  }
  const averaged = measureQuality(model, x, labels, createEstimator("activation-perturbation", { guesses: 3 }), { draws: 4, rng: rng(48) });
  assert.is(averaged[0].biasFrom, "covariance");
});

Projection("combine is checked: an unknown value names itself; checkpoints keep and check it", () => {
  assertFwdgradError(() => createEstimator("wt", { combine: "median" as never }), /wt: combine must be one of "mean", "project", got "median"/);
  const data = generateMnist1d({ numSamples: 100 });
  const trainer = new Trainer(data, { method: "wt", width: 8, depth: 1, epochs: 1, batch: 40, lr: 1e-3, seed: 0, guesses: 3, combine: "project" });
  trainer.runEpoch();
  const text = serializeCheckpoint(trainer.state());
  // The trainer keeps the options in one place, and a checkpoint's are judged by the method's table.
  assert.equal({ ...parseCheckpoint(text).config.options }, { guesses: 3, combine: "project" });
  assertFwdgradError(() => parseCheckpoint(text.replace('"combine":"project"', '"combine":"sum"')), /config\.options.*wt: combine must be one of "mean", "project", got "sum"/);
  assertFwdgradError(() => parseCheckpoint(text.replace('"combine":"project"', '"k":4')), /config\.options.*wt takes no option "k"/);
});
Projection.run();
