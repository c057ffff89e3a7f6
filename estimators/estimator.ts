// The interface every gradient estimator implements, and the step that drives one. An estimator
// turns a model, a batch and a seeded stream into tangent seeds (weight or activation guesses per
// layer); one forward-mode pass gives each example's directional derivative of the mean loss, and the
// estimator turns those into gradient estimates. The step never branches on which estimator it holds.
import { tidy } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { jvp } from "../engine/jvp.ts";
import { add, matmul, mul, reshape, scale, softmaxCrossEntropy, sum } from "../engine/ops.ts";
import type { Rng } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";
import { reluMask, type Gradients } from "../nn/backprop.ts";
import { forward, type ForwardTrace, type Mlp } from "../nn/mlp.ts";
import { projectionCoefficients } from "./projection.ts";

/** What an estimator sees of one step: the model, the batch and its primal forward pass. */
export interface StepInput {
  model: Mlp;
  /** [B, sizes[0]] */
  x: Tensor;
  labels: Int32Array;
  trace: ForwardTrace;
  /** masks[i] = 1[s_i > 0], [B, sizes[i + 1]], for every hidden layer i. */
  masks: Tensor[];
  rng: Rng;
  /** Data set rows of the batch, when known: lets estimators keep per-example state across epochs. */
  indices?: Int32Array;
}

/**
 * Tangent seeds for one forward-mode pass, K guesses each, per layer: on the weights ([K, out, in])
 * or on the pre-activations ([K, B, out]); null where a layer has none.
 */
export interface Seeds {
  weights: (Tensor | null)[];
  activations: (Tensor | null)[];
}

export interface Estimate {
  /** Parameter gradient estimates, the K guesses combined (their mean, or the projection onto their span). */
  grads: Gradients;
  /** Per layer, the per-example activation-gradient estimates ĝ_{s_i} [B, out]; null for weight perturbation. */
  activationGrads: (Tensor | null)[];
}

/** The guess distribution of one hidden layer, per example, for the metrics. */
export interface GuessCovariance {
  /** Cov_b·g_b for every example b: g [B, d] -> [B, d]. */
  times(g: Tensor): Tensor;
  /** ‖Cov_b − I‖_F² per example. */
  distanceSquared(): Float64Array;
  /** Orthonormal basis of each example's guess subspace, [B, d, k], where the guess has one. */
  basis(): Tensor | null;
}

/**
 * What an estimator carries from one step to the next (W̃⊥'s warm starts, W̃⊥-NS's fitted
 * polynomial), by name: exact numbers and f32 arrays, so a checkpoint can hold it and a resumed run
 * repeats the uninterrupted one bit for bit.
 */
export interface EstimatorState {
  numbers: Record<string, number[]>;
  arrays: Record<string, Float32Array>;
}

export interface Estimator {
  /** Its id in the registry (estimators/index.ts). */
  readonly id: string;
  /** Independent guesses per step (tangent directions in the one forward-mode pass). */
  readonly guesses: number;
  /** How the K guesses make one estimate; "mean" where absent. */
  readonly combine?: Combine;
  seed(input: StepInput): Seeds;
  /** jvp: [K, B], each example's directional derivative of the mean loss along guess k. */
  estimate(input: StepInput, seeds: Seeds, jvp: Tensor): Estimate;
  /** The guess covariance of hidden layer i, or null where guesses do not live in activation space. */
  covariance(input: StepInput, layer: number): GuessCovariance | null;
  /** Throws a FwdgradError, before any work, when a model of these layer sizes does not suit the estimator. */
  checkModel?(sizes: readonly number[]): void;
  /** Cross-step state (copied), for checkpoints; absent where an estimator keeps none. */
  state?(): EstimatorState;
  /**
   * Continues from `state()` of an estimator with the same options on a model of these layer sizes;
   * state that does not fit them, or is otherwise bad, throws a FwdgradError and changes nothing.
   */
  restore?(state: EstimatorState, sizes: readonly number[]): void;
}

/**
 * How the K one-guess estimates of a step become one: "mean" averages them (each is jvp_k·y_k);
 * "project" takes the orthogonal projection of each example's gradient onto the span of its K
 * guesses, joined over layers (estimators/projection.ts).
 */
export type Combine = "mean" | "project";

/** The values `combine` takes, in the order menus list them. */
export const COMBINES: readonly Combine[] = Object.freeze(["mean", "project"]);

/** Options every estimator takes. */
export interface CommonOptions {
  /** K independent guesses per step. Default 1. */
  guesses?: number;
  /** How the K guesses are combined. Default "mean". */
  combine?: Combine;
}

/** An estimator's checked guess count and combination, and the estimate that goes with them. */
export function guessOptions(id: string, options: CommonOptions): { guesses: number; combine: Combine; estimate: Estimator["estimate"] } {
  const guesses = options.guesses ?? 1;
  if (!Number.isInteger(guesses) || guesses < 1) throw new FwdgradError(`${id}: guesses must be an integer ≥ 1, got ${options.guesses}`);
  const combine = options.combine ?? "mean";
  if (!COMBINES.includes(combine)) throw new FwdgradError(`${id}: combine must be ${COMBINES.map((c) => JSON.stringify(c)).join(" or ")}, got ${JSON.stringify(String(combine))}`);
  return { guesses, combine, estimate: (input, seeds, jvp) => activationEstimate(input, seeds, jvp, combine) };
}

/** Subspace estimators' condition on the model: every hidden layer at least k wide. */
export function checkRank(id: string, k: number, sizes: readonly number[]): void {
  const hidden = sizes.slice(1, -1);
  const narrow = hidden.findIndex((d) => d < k);
  if (narrow >= 0) throw new FwdgradError(`${id}: k = ${k} is larger than the width ${hidden[narrow]} of hidden layer ${narrow}`);
}

/** The primal pass and the masks an estimator needs. */
export function prepareStep(model: Mlp, x: Tensor, labels: Int32Array, rng: Rng, indices?: Int32Array): StepInput {
  if (labels.length !== x.shape[0]) throw new FwdgradError(`step: ${labels.length} labels for a batch of ${x.shape[0]}`);
  const trace = forward(model, x);
  const masks = trace.pre.slice(0, -1).map(reluMask);
  if (indices && indices.length !== labels.length) throw new FwdgradError(`step: ${indices.length} indices for a batch of ${labels.length}`);
  return { model, x, labels, trace, masks, rng, indices };
}

/**
 * One estimated step: seeds from the estimator, one forward-mode pass carrying all K guesses, and
 * the estimator's gradients. The primal values are already in `input.trace`, so the pass propagates
 * tangents only: ṡ_i = ẋ_i·W_iᵀ + x_i·V_iᵀ + y_i and ẋ_{i+1} = M_i ⊙ ṡ_i (relu's tangent rule), and
 * the engine's jvp differentiates the loss at the logits. Returns the mean loss too.
 */
export function estimateStep(estimator: Estimator, input: StepInput): Estimate & { loss: number; jvp: Tensor } {
  const seeds = estimator.seed(input);
  const { model, x, labels, trace, masks } = input;
  const batch = x.shape[0];
  let dx: Tensor | null = null;
  let dz: Tensor | null = null;
  const last = model.layers.length - 1;
  model.layers.forEach((layer, i) => {
    // Only the tangent passed on outlives its layer: with K guesses each partial sum is K·B·width floats.
    const tangent = tidy(() => {
      const [out, inp] = layer.w.shape;
      let ds: Tensor | null = null;
      if (dx) ds = reshape(matmul(reshape(dx, [dx.shape[0] * batch, inp]), layer.w, { transB: true }), [dx.shape[0], batch, out]);
      const v = seeds.weights[i];
      if (v) ds = addTangent(ds, matmul(trace.inputs[i], v, { transB: true }));
      const y = seeds.activations[i];
      if (y) ds = addTangent(ds, y);
      return i < last ? ds && mul(ds, masks[i]) : ds;
    });
    if (i < last) dx = tangent;
    else dz = tangent;
  });
  if (!dz) throw new FwdgradError(`${estimator.id}: no guess reaches the output`);
  const logits = trace.pre[trace.pre.length - 1];
  const perExample = (z: Tensor) => scale(softmaxCrossEntropy(z, labels), 1 / batch);
  const [losses, dLosses] = jvp(perExample, [logits], [dz]);
  const loss = sum(losses).toArray()[0];
  return { ...estimator.estimate(input, seeds, dLosses), loss, jvp: dLosses };
}

function addTangent(a: Tensor | null, b: Tensor): Tensor {
  return a ? add(a, b) : b;
}

/**
 * The estimate shared by all estimators (paper P, step 5), from per-example coefficients c_{k,b} of
 * the guesses: ĝ_{s_i,b} = Σ_k c_{k,b}·y_{i,k,b}, weight gradient Σ_b ĝ_{s_i,b}·x_{i,b}ᵀ, bias
 * Σ_b ĝ_{s_i,b}; a weight guess V_k gets Σ_b c_{k,b}. "mean": c_{k,b} = jvp_{k,b}/K; "project":
 * c_b = (G_bᵀG_b)⁺·jvp_b, the projection onto the span of example b's guesses.
 */
export function activationEstimate(input: StepInput, seeds: Seeds, jvpPerGuess: Tensor, combine: Combine = "mean"): Estimate {
  const [K, B] = jvpPerGuess.shape;
  // The mean scales once after summing over guesses (as it always has: same bits); the projection's
  // coefficients carry their own scale.
  const coefficients = combine === "project" ? projectionCoefficients(seeds, jvpPerGuess) : jvpPerGuess;
  const combined = (t: Tensor) => (combine === "project" ? t : scale(t, 1 / K));
  // Σ_b c_{k,b} per guess, only for weight guesses.
  let total: Tensor | null = null;
  const grads: Gradients = { w: [], b: [] };
  const activationGrads: (Tensor | null)[] = [];
  input.model.layers.forEach((layer, i) => {
    const y = seeds.activations[i];
    const v = seeds.weights[i];
    if (y) {
      // Σ_k c_k ⊙ y_k: [B, out]
      const g = tidy(() => combined(sum(mul(y, reshape(coefficients, [K, B, 1])), 0)));
      activationGrads.push(g);
      grads.w.push(matmul(g, input.trace.inputs[i], { transA: true }));
      grads.b.push(layer.b ? sum(g, 0) : null);
    } else if (v) {
      // Σ_k (Σ_b c_{k,b})·V_k
      const [, out, inp] = v.shape;
      total ??= sum(coefficients, 1);
      grads.w.push(combined(reshape(matmul(reshape(total, [1, K]), reshape(v, [K, out * inp])), [out, inp])));
      if (layer.b) throw new FwdgradError(`estimate: layer ${i} has a bias, which weight perturbation does not estimate`);
      grads.b.push(null);
      activationGrads.push(null);
    } else {
      throw new FwdgradError(`estimate: layer ${i} has no guess`);
    }
  });
  return { grads, activationGrads };
}

/** Seeds with activation guesses on every layer: `hidden(i)` for hidden layers, N(0, I) on the output. */
export function activationSeeds(input: StepInput, guesses: number, hidden: (layer: number) => Tensor): Seeds {
  const layers = input.model.layers.length;
  return {
    weights: new Array<Tensor | null>(layers).fill(null),
    activations: input.model.layers.map((_, i) => (i === layers - 1 ? isotropicGuess(input, i, guesses) : hidden(i))),
  };
}

/** N(0, I) guesses for a layer of width d: [K, B, d]. */
export function isotropicGuess(input: StepInput, layer: number, guesses: number): Tensor {
  return input.rng.split(layer).normal([guesses, input.x.shape[0], input.model.sizes[layer + 1]]);
}

/** Cov = I: the covariance of plain activation perturbation. */
export function identityCovariance(input: StepInput, layer: number): GuessCovariance {
  return {
    times: (g) => g,
    distanceSquared: () => new Float64Array(input.x.shape[0]),
    basis: () => null,
  };
}

