// The interface every gradient estimator implements, and the step that drives one. The step is one
// engine jvp over the model's own forward: weight guesses enter as the parameters' tangents, and at
// each site (a linear layer's output) the estimator supplies its K activation guesses from the primal
// values there, injected into the pass (engine `inject`). The pass gives each example's directional
// derivative of the mean loss per guess, and the estimator turns those into gradient estimates. The
// step knows neither the model's architecture nor which estimator it holds.
import { rollingScopes, tidy } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { inspect } from "../engine/inspect.ts";
import { inject, jvp, stopGradient } from "../engine/jvp.ts";
import { matmul, mul, reshape, scale, sum } from "../engine/ops.ts";
import { combineDraws, type Rng } from "../engine/rng.ts";
import { copyInto, empty, type Tensor } from "../engine/tensor.ts";
import type { Gradients } from "../models/gradient.ts";
import { kindOf } from "../models/index.ts";
import { LOSSES, type Loss, type Targets } from "../models/loss.ts";
import { forward, type ForwardTrace, type Mlp } from "../models/mlp.ts";
import { parameters, runModel, siteMask } from "../models/sequential.ts";
import type { OptionTable } from "./options.ts";
import { projectionCoefficients } from "./projection.ts";

/**
 * What an estimator sees of one step: the model, the batch and its primal values. From `prepareStep`
 * they are all there before the step; from `stepInput` the step's own pass fills them in site by
 * site, so at site i an estimator's `guess` finds the trace and masks up to layer i.
 */
export interface StepInput {
  /** The model being trained. */
  model: Mlp;
  /** [B, sizes[0]] */
  x: Tensor;
  /** Class labels [B] (unused by a regression loss, which reads `targets`). */
  labels: Int32Array;
  /** The forward pass so far: every layer's input and pre-activation. */
  trace: ForwardTrace;
  /** masks[i]: the derivative mask of the activation after site i (1[s_i > 0] for relu), [B, sizes[i + 1]], for every hidden layer i. */
  masks: Tensor[];
  /** Where the estimator draws its guesses. */
  rng: Rng;
  /** Data set rows of the batch, when known: lets estimators keep per-example state across epochs. */
  indices?: Int32Array;
  /** The loss; softmax cross-entropy against `labels` where absent. */
  loss?: Loss;
  /** Targets for a loss that takes other than class labels (regression: [B, out]). */
  targets?: Targets;
}

/**
 * Tangent seeds for one forward-mode pass, K guesses each, per layer: on the weights ([K, out, in])
 * or on the pre-activations ([K, B, out]); null where a layer has none.
 */
export interface Seeds {
  /** Per linear layer, tangents [K, out, in] on its weight, or null. */
  weights: (Tensor | null)[];
  /** Per linear layer, tangents [K, B, out] injected at its output, or null. */
  activations: (Tensor | null)[];
}

/** What an estimator makes of one forward-mode pass: the gradient estimates. */
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
  /** Named lists of exact numbers (counters, polynomial coefficients). */
  numbers: Record<string, number[]>;
  /** Named f32 arrays (e.g. per-example warm starts). */
  arrays: Record<string, Float32Array>;
}

/**
 * A forward-gradient estimator: what guesses it seeds at each layer for one forward-mode pass, and
 * how it turns the directional derivatives along them into gradient estimates. Made by
 * {@link createEstimator}; a training step is {@link estimateStep}.
 */
export interface Estimator {
  /** Its id in the registry (estimators/index.ts). */
  readonly id: string;
  /** Independent guesses per step (tangent directions in the one forward-mode pass). */
  readonly guesses: number;
  /** How the K guesses make one estimate; "mean" where absent. */
  readonly combine?: Combine;
  /**
   * 2: a training step keeps O(1) layers, making the estimate in a second primal pass that draws each
   * site's guesses again; 1 (where absent): one pass, every site's values kept for the estimate.
   */
  readonly passes?: number;
  /** Tangents [K, ...w.shape] of linear layer i's weight (weight perturbation), drawn before the pass; absent or null: none. */
  weightGuess?(input: StepInput, layer: number): Tensor | null;
  /**
   * Guesses [K, B, out] added to site i's output during the pass, computed from the primal values
   * there (`input.masks[i]`, `input.trace` up to layer i); null for none.
   */
  guess(input: StepInput, layer: number): Tensor | null;
  /** Every seed of a step at once, on a prepared input (`prepareStep`): for tests and inspection. */
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
  /**
   * A cheap point to come back to, where `state()` would copy much (W̃⊥'s warm starts): returns a
   * function that puts the cross-step state back as it is now (the trainer's put-back after a
   * failed epoch). Where absent, `state()` and `restore()` serve.
   */
  statePoint?(): () => void;
  /**
   * Figures about the estimator's own approximations at its last step, by name (W̃⊥-NS's fast
   * route: `tail.<i>`, the bound on the share of Σ f² its pairs left out in hidden layer i).
   */
  diagnostics?(): Record<string, number>;
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
  /** 1 (default): one pass, every site's values kept for the estimate; 2: a second primal pass makes it, keeping O(1) layers. */
  passes?: number;
}

/** Bytes of a f32 value on the engine's heap. */
export const F32 = 4;

/**
 * Bytes of the engine's heap the forward-mode pass of any estimator's step takes for a model of
 * layer sizes `sizes`, `batch` rows and K `guesses`, the gradients included: the batch, per layer
 * the primal values (input, output, mask) and K tangents (the guess and its partial sums), and a
 * copy of the parameters for the gradients. Calibrated against `heapPeakBytes` (tests/train/memory.test.ts).
 */
export function stepPassBytes(sizes: readonly number[], batch: number, guesses: number): number {
  const units = sizes.slice(1).reduce((a, b) => a + b, 0);
  return F32 * (parameterCount(sizes) + batch * sizes[0] + batch * units * (4 + 3 * guesses));
}

/** Weights (and biases, counted to be safe) of a model of layer sizes `sizes`. */
export function parameterCount(sizes: readonly number[]): number {
  let n = 0;
  for (let i = 0; i + 1 < sizes.length; i++) n += (sizes[i] + 1) * sizes[i + 1];
  return n;
}

/** Weights of the largest layer of a model of layer sizes `sizes`. */
export function largestLayer(sizes: readonly number[]): number {
  let most = 0;
  for (let i = 0; i + 1 < sizes.length; i++) most = Math.max(most, sizes[i] * sizes[i + 1]);
  return most;
}

/** The most any hidden layer i (width d, next layer out wide) needs of `bytes(d, out, i)`, 0 without hidden layers. */
export function largestHidden(sizes: readonly number[], bytes: (d: number, out: number, layer: number) => number): number {
  let most = 0;
  for (let i = 0; i + 2 < sizes.length; i++) most = Math.max(most, bytes(sizes[i + 1], sizes[i + 2], i));
  return most;
}

/**
 * `make(input, layer)` once per primal pass (the step's trace) and hidden layer: the guesses, the
 * covariance and repeated draws on one batch share its value, which goes with the pass.
 */
export function perPass<T>(make: (input: StepInput, layer: number) => T): (input: StepInput, layer: number) => T {
  const passes = new WeakMap<object, Map<number, T>>();
  return (input, layer) => {
    let layers = passes.get(input.trace);
    if (!layers) passes.set(input.trace, (layers = new Map()));
    if (!layers.has(layer)) layers.set(layer, make(input, layer));
    return layers.get(layer)!;
  };
}

/** Guesses per step at most in a method entry ("wperp:project:10") and on the command line: K tangents multiply the pass's memory. */
export const MAX_GUESSES = 1024;

/** The options every estimator takes, the first rows of each estimator's table. */
export const COMMON_OPTIONS = {
  guesses: { kind: "int", default: 1, min: 1, doc: "independent guesses per step (K tangent directions in the one pass)" },
  combine: { kind: "choice", choices: COMBINES, default: "mean", doc: "how the K guesses make one estimate: mean, or project (the gradient's projection onto their span)" },
  passes: { kind: "int", default: 1, min: 1, max: 2, doc: "1: one pass, every site's values kept for the estimate; 2: a second primal pass draws each guess again and makes the estimate, keeping O(1) layers" },
} as const satisfies OptionTable;

/** An estimator's guess count and combination (resolved by its table), and the estimate that goes with them. */
export function guessOptions(options: { guesses: number; combine: Combine; passes: number }): { guesses: number; combine: Combine; passes: number; estimate: Estimator["estimate"] } {
  const { guesses, combine, passes } = options;
  // The projection solves for every layer's guesses at once: a pass that makes one layer at a time cannot.
  if (passes === 2 && combine === "project") throw new FwdgradError('passes 2 cannot combine guesses by "project" (it needs every layer\'s guesses at once); use "mean"');
  return { guesses, combine, passes, estimate: (input, seeds, directional) => activationEstimate(input, seeds, directional, combine) };
}

/** Subspace estimators' condition on the model: every hidden layer at least k wide. */
export function checkRank(id: string, k: number, sizes: readonly number[]): void {
  const hidden = sizes.slice(1, -1);
  const narrow = hidden.findIndex((d) => d < k);
  if (narrow >= 0) throw new FwdgradError(`${id}: k = ${k} is larger than the width ${hidden[narrow]} of hidden layer ${narrow}`);
}

function checkBatch(x: Tensor, labels: Int32Array, indices?: Int32Array, objective?: Objective): void {
  // A loss with its own targets needs no labels (regression passes an empty array).
  if (!(objective && !objective.loss.labels) && labels.length !== x.shape[0]) throw new FwdgradError(`step: ${labels.length} labels for a batch of ${x.shape[0]}`);
  if (indices && indices.length !== x.shape[0]) throw new FwdgradError(`step: ${indices.length} indices for a batch of ${x.shape[0]}`);
}

/** A loss and the batch's targets for it, where the loss is not cross-entropy against `labels`. */
export interface Objective {
  loss: Loss;
  targets: Targets;
}

/**
 * The primal pass and the masks an estimator needs: for metrics and covariances before any step.
 * @throws {FwdgradError} when the labels (or `indices`) are not one per row of `x`, or `x` does not fit the model.
 */
export function prepareStep(model: Mlp, x: Tensor, labels: Int32Array, rng: Rng, indices?: Int32Array, objective?: Objective): StepInput {
  checkBatch(x, labels, indices, objective);
  const trace = forward(model, x);
  const masks = trace.pre.slice(0, -1).map((s, i) => siteMask(model, i, s));
  return { model, x, labels, trace, masks, rng, indices, loss: objective?.loss, targets: objective?.targets };
}

/**
 * A step's input whose primal values the step's own pass fills in (the training path: one pass, not two).
 * @throws {FwdgradError} when the labels (or `indices`) are not one per row of `x`.
 */
export function stepInput(model: Mlp, x: Tensor, labels: Int32Array, rng: Rng, indices?: Int32Array, objective?: Objective): StepInput {
  checkBatch(x, labels, indices, objective);
  return { model, x, labels, trace: { inputs: [], pre: [] }, masks: [], rng, indices, loss: objective?.loss, targets: objective?.targets };
}

/**
 * One estimated step: a single engine jvp over the model's forward. Weight guesses are the
 * parameters' tangents; at each site the estimator's guesses, computed from the primal values
 * there, are injected into the pass. Gives each example's directional derivative of the mean loss
 * per guess, and the estimator's gradients; returns the mean loss too. An input from `prepareStep`
 * keeps its primal values (the pass recomputes the same ones).
 * @throws {FwdgradError} when no guess reaches the output, or the input does not fit the model; a FwdgradFault when memory or a worker thread fails.
 * @example
 * ```ts
 * const model = createMlp([4, 8, 3]);
 * const input = stepInput(model, zeros([2, 4]), new Int32Array([0, 2]), rng(0));
 * const { loss, grads } = estimateStep(createEstimator("forward-gradient"), input);
 * ```
 */
export function estimateStep(estimator: Estimator, input: StepInput): Estimate & { loss: number; jvp: Tensor } {
  if (estimator.passes === 2 && input.trace.pre.length === 0) return twoPassStep(estimator, input);
  const pass = stepPass(estimator, input);
  const [losses, dLosses] = jvp(pass.perExample, pass.params, pass.tangents);
  if (dLosses.rank !== 2) throw new FwdgradError(`${estimator.id}: no guess reaches the output`);
  const value = sum(losses).toArray()[0];
  return { ...estimator.estimate(input, pass.seeds, dLosses), loss: value, jvp: dLosses };
}

/**
 * The programs one estimated step runs, as text (engine `inspect`): the primal program of the
 * model's forward with the estimator's guesses injected, and the tangent program of its one jvp.
 * @example
 * ```ts
 * console.log(inspectStep(createEstimator("wt"), stepInput(createMlp([4, 3, 2]), x, labels, rng(0))));
 * ```
 */
export function inspectStep(estimator: Estimator, input: StepInput): string {
  const pass = stepPass(estimator, input);
  return inspect(pass.perExample, pass.params, pass.tangents);
}

/** The step's one forward-mode pass: f of the parameters, their tangents, and the seeds it collects. */
function stepPass(estimator: Estimator, input: StepInput, keepNothing = false) {
  const { model, x } = input;
  const batch = x.shape[0];
  const last = model.layers.length - 1;
  const seeds: Seeds = { weights: [], activations: [] };
  const tangents: (Tensor | null)[] = [];
  model.layers.forEach((layer, i) => {
    const v = estimator.weightGuess?.(input, i) ?? null;
    seeds.weights.push(v);
    tangents.push(v, ...kindOf(layer).params(layer).slice(1).map(() => null));
  });
  const loss = input.loss ?? LOSSES["cross-entropy"];
  const targets = input.targets ?? input.labels;
  // What a site adds to the step's state, kept when its layer's scope closes (with K guesses each
  // partial sum of the tangent pass is K·B·width floats; only the tangent passed on outlives its layer).
  let kept: unknown[] = [];
  // A prepared input is kept whole for whoever prepared it (metrics read its caches after steps);
  // the training path's own input frees each layer's leftovers as the pass goes.
  const prepared = input.trace.pre.length > 0;
  const atSite = (i: number, s: Tensor, h: Tensor): Tensor => {
    input.trace.inputs[i] ??= stopGradient(h);
    input.trace.pre[i] ??= stopGradient(s);
    if (i < last) input.masks[i] ??= siteMask(model, i, input.trace.pre[i]);
    const y = estimator.guess(input, i);
    seeds.activations[i] = y;
    if (prepared || (y && !keepNothing)) {
      kept = [input.trace.inputs[i], input.trace.pre[i], input.masks[i] ?? null, y];
      return y ? inject(s, y) : s;
    }
    // No guess here (weight perturbation), or a second pass makes the estimate: nothing of this site
    // outlives its layer, and the step's memory stays flat in depth.
    delete input.trace.inputs[i];
    delete input.trace.pre[i];
    delete input.masks[i];
    return y ? inject(s, y) : s;
  };
  // A layer that keeps nothing (weight perturbation) lets the next layer's scope reach back over its
  // output, which dies once the next output is made: the pass then holds O(1) layers.
  const layerScope = rollingScopes();
  const scope = <R>(fn: () => R): R => {
    kept = [];
    return layerScope(() => ({ result: fn(), kept }), (made) => made.kept.length === 0).result;
  };
  const perExample = (...params: Tensor[]) => {
    const trace = runModel(model, x, params, atSite, prepared ? undefined : scope);
    return scale(loss.perExample(trace.pre[last], targets), 1 / batch);
  };
  return { perExample, params: parameters(model), tangents, seeds };
}

/**
 * The estimate shared by all estimators (paper P, step 5), from per-example coefficients c_{k,b} of
 * the guesses: ĝ_{s_i,b} = Σ_k c_{k,b}·y_{i,k,b}, weight gradient Σ_b ĝ_{s_i,b}·x_{i,b}ᵀ, bias
 * Σ_b ĝ_{s_i,b}; a weight guess V_k gets Σ_b c_{k,b}. "mean": c_{k,b} = jvp_{k,b}/K; "project":
 * c_b = (G_bᵀG_b)⁺·jvp_b, the projection onto the span of example b's guesses.
 */
export function activationEstimate(input: StepInput, seeds: Seeds, jvpPerGuess: Tensor, combine: Combine = "mean"): Estimate {
  const coefficients = combine === "project" ? projectionCoefficients(seeds, jvpPerGuess) : jvpPerGuess;
  const grads: Gradients = { w: [], b: [] };
  const activationGrads: (Tensor | null)[] = [];
  // Σ_b c_{k,b} per guess [K], which weight guesses take.
  const total = seeds.weights.some((v) => v) ? sum(coefficients, 1) : null;
  input.model.layers.forEach((_, i) => {
    const { w, b, g } = layerEstimate(input, i, seeds.activations[i], seeds.weights[i], coefficients, combine, total);
    grads.w.push(w);
    grads.b.push(b);
    activationGrads.push(g);
  });
  return { grads, activationGrads };
}

/**
 * Layer i's part of the estimate from its guesses (activation guesses y [K, B, out] or weight guesses
 * V [K, out, in]) and the coefficients c [K, B]: the weight and bias gradients, and for activation
 * guesses the per-example activation gradient. `total` is Σ_b c_{k,b} [K], for weight guesses.
 */
function layerEstimate(input: StepInput, i: number, y: Tensor | null, v: Tensor | null, coefficients: Tensor, combine: Combine, total: Tensor | null): { w: Tensor; b: Tensor | null; g: Tensor | null } {
  const [K, B] = coefficients.shape;
  // The mean scales once after summing over guesses (as it always has: same bits); the projection's
  // coefficients carry their own scale.
  const combined = (t: Tensor) => (combine === "project" ? t : scale(t, 1 / K));
  const layer = input.model.layers[i];
  if (y) {
    // Σ_k c_k ⊙ y_k: [B, out]
    const g = tidy(() => combined(sum(mul(y, reshape(coefficients, [K, B, 1])), 0)));
    const [gw, gb] = kindOf(layer).map!.paramGradients(layer, input.trace.inputs[i], g);
    return { w: gw!, b: gb, g };
  }
  if (v && total) {
    // Σ_k (Σ_b c_{k,b})·V_k
    // The weight's shape: [out, in] dense, [out, in, k…] a convolution.
    const shape = v.shape.slice(1);
    if (layer.b) throw new FwdgradError(`estimate: layer ${i} has a bias, which weight perturbation does not estimate`);
    // Over drawn tangents the update is deferred like them: drawn again when the optimiser reads
    // it, one layer at a time, so no step holds every layer's tangents or updates at once.
    const w = v.deferred?.draw
      ? combineDraws(v, total.toArray(), combine === "project" ? 1 : 1 / K)
      : combined(reshape(matmul(reshape(total, [1, K]), reshape(v, [K, v.size / K])), shape));
    return { w, b: null, g: null };
  }
  throw new FwdgradError(`estimate: layer ${i} has no guess`);
}

/** The refusal of `passes: 2` for an estimator that carries state from one pass to the next. */
export function statefulTwoPass(id: string): string {
  return `${id}: passes 2 needs guesses that a second pass draws again, but its state (warm starts, a fitted polynomial) changes with each pass; use passes 1`;
}

/**
 * A step in two passes that keeps O(1) layers (`passes: 2`): the jvp pass gives the coefficients
 * while every layer keeps nothing; a second, primal pass makes each layer's estimate, drawing its
 * guesses again (the same stream, the same primal values: the same guesses, so the same bits as one
 * pass) into gradient buffers made before it, and frees the layer. The time of one more forward pass
 * for the memory of every layer's input, mask and guesses.
 */
function twoPassStep(estimator: Estimator, input: StepInput): Estimate & { loss: number; jvp: Tensor } {
  if (estimator.state) throw new FwdgradError(statefulTwoPass(estimator.id));
  const pass = stepPass(estimator, input, true);
  const [losses, coefficients] = jvp(pass.perExample, pass.params, pass.tangents);
  if (coefficients.rank !== 2) throw new FwdgradError(`${estimator.id}: no guess reaches the output`);
  const value = sum(losses).toArray()[0];
  const { model, x } = input;
  const combine = estimator.combine ?? "mean";
  // Made now, below the second pass's scopes, which free each layer's allocations: Σ_b c_{k,b} for
  // weight guesses, and the gradient buffers of the layers with activation guesses (pass 1's seeds
  // say which), which the second pass writes into.
  const total = pass.seeds.weights.some((v) => v) ? sum(coefficients, 1) : null;
  const grads: Gradients = { w: [], b: [] };
  const buffers = model.layers.map((layer, i) => (pass.seeds.activations[i] ? { w: empty(layer.w.shape), b: layer.b ? empty(layer.b.shape) : null } : null));
  const again: StepInput = { ...input, trace: { inputs: [], pre: [] }, masks: [] };
  const scope = rollingScopes();
  runModel(model, x, parameters(model), (i, s, h) => {
    again.trace.inputs[i] = h;
    again.trace.pre[i] = s;
    if (i < model.layers.length - 1) again.masks[i] = siteMask(model, i, s);
    const made = layerEstimate(again, i, estimator.guess(again, i), estimator.weightGuess?.(again, i) ?? null, coefficients, combine, total);
    const buffer = buffers[i];
    if (buffer) {
      copyInto(buffer.w, made.w);
      if (made.b) copyInto(buffer.b!, made.b);
      grads.w[i] = buffer.w;
      grads.b[i] = buffer.b;
    } else {
      grads.w[i] = made.w;
      grads.b[i] = null;
    }
    return s;
  }, (fn) => scope(fn));
  return { grads, activationGrads: model.layers.map(() => null), loss: value, jvp: coefficients };
}

/**
 * An estimator's guess rules with activation guesses on every site: `hidden(input, i)` on hidden
 * layers, N(0, I) on the output; `seed` draws them all on a prepared input.
 */
export function activationGuesses(guesses: number, hidden: (input: StepInput, layer: number) => Tensor): Pick<Estimator, "guess" | "seed"> {
  const guess = (input: StepInput, i: number) => (i === input.model.layers.length - 1 ? isotropicGuess(input, i, guesses) : hidden(input, i));
  return { guess, seed: (input) => seedsOf({ guess }, input) };
}

/** All seeds of a step on a prepared input, from an estimator's guess rules. */
export function seedsOf(rules: Pick<Estimator, "guess" | "weightGuess">, input: StepInput): Seeds {
  return {
    weights: input.model.layers.map((_, i) => rules.weightGuess?.(input, i) ?? null),
    activations: input.model.layers.map((_, i) => rules.guess(input, i)),
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

