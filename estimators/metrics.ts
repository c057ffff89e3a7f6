// Gradient-quality metrics of an estimator against the exact baseline, per linear layer (P §5):
// cosine similarity (per-example activation gradients, mean over the batch; and the batch weight
// gradient), bias (eq. 17), variance (eq. 18), covariance distance ‖Cov − I‖ (RMS entry and
// Frobenius) and the overlap of the true gradient with the guess subspace, averaged over draws.
// Eq. 17's E ĝ = Cov·g holds for averaged guesses; a projected estimate's mean has no such closed
// form for every guess law, so its bias is the mean over the draws instead.
import { mark, release } from "../engine/arena.ts";
import { matmul, reshape, sub } from "../engine/ops.ts";
import type { Rng } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";
import { backprop } from "../models/gradient.ts";
import type { Mlp } from "../models/mlp.ts";
import { basisFidelity } from "./basis-fidelity.ts";
import { estimateStep, identityCovariance, prepareStep, type Estimator, type GuessCovariance, type Objective } from "./estimator.ts";
import { linearMatrix, nextLinear } from "../models/sequential.ts";

/**
 * One linear layer's gradient-quality metrics, from {@link measureQuality}: the activation-space
 * figures are null where the estimator does not guess in activation space at that layer.
 */
export interface LayerMetrics {
  /** The linear layer's index. */
  layer: number;
  /** Mean over the examples (with g_b ≠ 0) of cos(ĝ_b, g_b), the per-example activation gradients. */
  cosine: number | null;
  /** cos(Ĝ_W, G_W) of the batch's weight gradient, mean over the draws. */
  cosineWeights: number;
  /** ‖b‖, b = mean over examples of E ĝ_b − g_b (eq. 17). */
  bias: number | null;
  /** ‖mean (ĝ − g)^∘2 − b^∘2‖ (eq. 18). */
  variance: number | null;
  /** ‖Cov − I‖_F per example, divided by the layer width (an RMS-like entry). */
  covRms: number | null;
  /** ‖Cov_b − I‖_F, mean over the examples. */
  covFrobenius: number | null;
  /** Mean over examples of ‖V_bV_bᵀg_b‖/‖g_b‖: how much of the true gradient the guess subspace holds. */
  overlap: number | null;
  /** The mean of that ratio squared. */
  overlapSquared: number | null;
  /** Where the bias comes from: "covariance" (eq. 17, exact) or "draws" (the mean estimate over the draws). */
  biasFrom: "covariance" | "draws" | null;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>, offset = 0, length = a.length): number | null {
  let ab = 0, aa = 0, bb = 0;
  for (let i = offset; i < offset + length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 || bb === 0 ? null : ab / Math.sqrt(aa * bb);
}

function norm(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * The mean of a per-layer figure over the hidden layers (all but the last: the output layer's
 * guesses are isotropic for every estimator), skipping nulls; null when none has a value.
 */
export function hiddenLayerMean(perLayer: readonly (number | null)[]): number | null {
  const values = perLayer.slice(0, -1).filter((v): v is number => v !== null);
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : null;
}

/** Mean over the examples with a non-zero true gradient of cos(ĝ_b, g_b). */
function meanRowCosine(estimate: Float32Array, truth: Float32Array, rows: number, d: number): number | null {
  let total = 0, count = 0;
  for (let b = 0; b < rows; b++) {
    const c = cosine(estimate, truth, b * d, d);
    if (c === null) continue;
    total += c;
    count++;
  }
  return count === 0 ? null : total / count;
}

/**
 * The metrics of `estimator` on one batch, averaged over `draws` independent guesses.
 * @example
 * ```ts
 * const layers = measureQuality(model, x, labels, createEstimator("wperp"), { draws: 20, rng: rng(0) });
 * ```
 */
export function measureQuality(model: Mlp, x: Tensor, labels: Int32Array, estimator: Estimator, options: { draws: number; rng: Rng; objective?: Objective }): LayerMetrics[] {
  const start = mark();
  const { objective } = options;
  const truth = objective ? backprop(model, x, objective.targets, objective.loss) : backprop(model, x, labels);
  const layers = model.layers.length;
  const batch = x.shape[0];
  const g = truth.activationGrads.map((t) => t.toArray());
  const gw = truth.grads.w.map((t) => t.toArray());
  const projected = estimator.combine === "project";
  const sums = model.layers.map((_, i) => ({
    cosine: 0, cosineCount: 0, cosineWeights: 0, squaredError: new Float64Array(model.sizes[i + 1]),
    estimates: projected ? new Float64Array(batch * model.sizes[i + 1]) : null,
  }));
  const hasActivations = new Array<boolean>(layers).fill(true);
  // One primal pass serves every draw; the guess distributions are set up on it first, outside the
  // draws' scopes, so an estimator that keeps them per pass (W̃⊥'s bases) decomposes once.
  const input = prepareStep(model, x, labels, options.rng, undefined, objective);
  const covariances = model.layers.map((_, i): GuessCovariance | null => (i === layers - 1 ? identityCovariance(input, i) : estimator.covariance(input, i)));
  for (let draw = 0; draw < options.draws; draw++) {
    const scope = mark();
    const estimate = estimateStep(estimator, { ...input, rng: options.rng.split(draw) });
    for (let i = 0; i < layers; i++) {
      const d = model.sizes[i + 1];
      sums[i].cosineWeights += cosine(estimate.grads.w[i].toArray(), gw[i]) ?? 0;
      const ga = estimate.activationGrads[i];
      if (!ga) {
        hasActivations[i] = false;
        continue;
      }
      const values = ga.toArray();
      const c = meanRowCosine(values, g[i], batch, d);
      if (c !== null) {
        sums[i].cosine += c;
        sums[i].cosineCount++;
      }
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < d; j++) sums[i].squaredError[j] += (values[b * d + j] - g[i][b * d + j]) ** 2 / (batch * options.draws);
      }
      const estimates = sums[i].estimates;
      if (estimates) for (let e = 0; e < estimates.length; e++) estimates[e] += values[e] / options.draws;
    }
    release(scope);
  }
  const result = model.layers.map((_, i): LayerMetrics => {
    const d = model.sizes[i + 1];
    const cosineWeights = sums[i].cosineWeights / options.draws;
    const cov = covariances[i];
    if (!hasActivations[i] || !cov) {
      return { layer: i, cosine: null, cosineWeights, bias: null, variance: null, covRms: null, covFrobenius: null, overlap: null, overlapSquared: null, biasFrom: null };
    }
    // eq. 17: b = mean_b (E ĝ_b − g_b), E ĝ_b = Cov_b·g_b for averaged guesses;  eq. 18: ‖mean(ĝ − g)^∘2 − b^∘2‖
    const gi = truth.activationGrads[i];
    const meanEstimates = sums[i].estimates;
    const deviation = meanEstimates ? meanEstimates.map((e, index) => e - g[i][index]) : sub(cov.times(gi), gi).toArray();
    const biasVector = new Float64Array(d);
    for (let b = 0; b < batch; b++) for (let j = 0; j < d; j++) biasVector[j] += deviation[b * d + j] / batch;
    const varianceVector = sums[i].squaredError.map((mse, j) => mse - biasVector[j] ** 2);
    const distances = cov.distanceSquared();
    const frobenius = distances.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0) / batch;
    const overlaps = overlapOf(cov.basis(), gi, g[i], batch, d);
    return {
      layer: i,
      cosine: sums[i].cosineCount ? sums[i].cosine / sums[i].cosineCount : null,
      cosineWeights,
      bias: norm(biasVector),
      variance: norm(varianceVector),
      covRms: frobenius / d,
      covFrobenius: frobenius,
      overlap: overlaps && overlaps.plain,
      overlapSquared: overlaps && overlaps.squared,
      biasFrom: meanEstimates ? "draws" : "covariance",
    };
  });
  release(start);
  return result;
}

/** Mean over examples (with g_b ≠ 0) of ‖V_bV_bᵀg_b‖/‖g_b‖ and of its square. */
function overlapOf(basis: Tensor | null, gi: Tensor, g: Float32Array, batch: number, d: number): { plain: number; squared: number } | null {
  if (!basis) return null;
  const projected = matmul(basis, reshape(gi, [batch, d, 1]), { transA: true }).toArray();
  const k = basis.shape[2];
  let plain = 0, squared = 0, count = 0;
  for (let b = 0; b < batch; b++) {
    let gg = 0;
    for (let j = 0; j < d; j++) gg += g[b * d + j] ** 2;
    if (gg === 0) continue;
    let pp = 0;
    for (let j = 0; j < k; j++) pp += projected[b * k + j] ** 2;
    plain += Math.sqrt(pp / gg);
    squared += pp / gg;
    count++;
  }
  return count ? { plain: plain / count, squared: squared / count } : null;
}

/** Per linear layer, how well the estimator's guess basis captures the exact top-k subspace (`basisFidelity`). */
export interface LayerFidelity {
  /** The linear layer's index. */
  layer: number;
  /** Mean and minimum over the sampled examples; null where the layer has no basis (or every W̃_b = 0). */
  energyRatio: number | null;
  /** The minimum energy ratio over the sampled examples. */
  energyRatioMin: number | null;
  /** Mean subspace agreement over the sampled examples (see {@link ExampleFidelity}). */
  subspaceAgreement: number | null;
  /** The minimum subspace agreement over the sampled examples. */
  subspaceAgreementMin: number | null;
  /** The largest max|V̂ᵀV̂ − I| over the sampled examples: an energy ratio above 1 is only meaningful beside it. */
  orthonormalityDefect: number | null;
}

/**
 * The fidelity of the estimator's per-example bases on one batch: for every hidden layer whose
 * `covariance(input, layer).basis()` exists, `basisFidelity` on `examples` evenly spaced examples of
 * the batch against a float64 decomposition of each W̃_b. One entry per linear layer (the output
 * layer, and layers without a basis, are all null).
 * @example
 * ```ts
 * const layers = measureBasisFidelity(model, x, labels, createEstimator("wperp"), { examples: 64, rng: rng(0) });
 * ```
 */
export function measureBasisFidelity(model: Mlp, x: Tensor, labels: Int32Array, estimator: Estimator, options: { examples?: number; rng: Rng; indices?: Int32Array; objective?: Objective }): LayerFidelity[] {
  const start = mark();
  const input = prepareStep(model, x, labels, options.rng, options.indices, options.objective);
  const batch = x.shape[0];
  const count = Math.min(batch, options.examples ?? 64);
  const examples = Array.from({ length: count }, (_, i) => Math.floor((i * batch) / count));
  const result = model.layers.map((_, i): LayerFidelity => {
    const basis = i < model.layers.length - 1 ? estimator.covariance(input, i)?.basis() ?? null : null;
    if (!basis) return { layer: i, energyRatio: null, energyRatioMin: null, subspaceAgreement: null, subspaceAgreementMin: null, orthonormalityDefect: null };
    const f = basisFidelity(linearMatrix(nextLinear(model, i)), input.masks[i], basis, examples);
    return {
      layer: i, energyRatio: f.energyRatio, energyRatioMin: f.energyRatioMin, subspaceAgreement: f.subspaceAgreement,
      subspaceAgreementMin: f.subspaceAgreementMin, orthonormalityDefect: f.orthonormalityDefect,
    };
  });
  release(start);
  return result;
}
