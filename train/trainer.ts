// Training an MLP with any estimator or with backprop: seeded shuffling and batching (the last batch
// smaller), AdamW, evaluation on the full train and test sets after every epoch, an early stop on a
// non-finite loss that keeps the last good weights, and checkpoints of the whole state. Every random
// draw is a Philox substream fixed by (seed, epoch, step), so a resumed run repeats the same numbers.
import { mark, release, tidy } from "../engine/arena.ts";
import { allFinite, assign } from "../engine/inplace.ts";
import { FwdgradError, FwdgradFault, fmt } from "../engine/errors.ts";
import { sum } from "../engine/ops.ts";
import { rng, type Rng } from "../engine/rng.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { createEstimator, createMethod, isEstimatorId, optionsTakenBy, type Combine, type Estimator, type EstimatorOptions, type EstimatorState, type GradientMethod, type Objective } from "../estimators/index.ts";
import { lossFor, type Loss, type LossId } from "../models/loss.ts";
import { measureBasisFidelity, measureQuality, type LayerFidelity, type LayerMetrics } from "../estimators/metrics.ts";
import { fisherYates, gatherTableRows, type Dataset, type Split } from "../data/dataset.ts";
import { cnnSizes, createCnn } from "../models/cnn.ts";
import { argmaxRows, createMlp, forward, mlpSizes, type Mlp } from "../models/mlp.ts";
import type { Model } from "../models/sequential.ts";
import { checkWorkingSet, EVALUATION_ROWS } from "./memory.ts";
import { adamW, type Optimizer, type OptimizerState } from "./optim.ts";

/** A training run's configuration: the method, the model's shape and the schedule. */
export interface TrainConfig {
  /** A gradient method's id (`METHOD_IDS`): an estimator, or "backprop" for the exact gradient. */
  method: string;
  /**
   * The architecture: "mlp" (default), dense layers with ReLU between them, or "cnn", the MNIST-1D
   * repository's ConvBase (`createCnn`): `depth` 1-D convolutions of `width` channels (ConvBase: 3 of
   * 25) with ReLU, then a linear head.
   */
  model?: ModelKind;
  /** Units in each hidden layer (a CNN: channels of each convolution), an integer ≥ 1. */
  width: number;
  /** Hidden layers (a CNN: convolutions), an integer ≥ 1 (the MLP has depth + 1 linear layers: `mlpSizes`). */
  depth: number;
  /** Biases on every layer. Default false. */
  bias?: boolean;
  /** Epochs to train, an integer ≥ 0. */
  epochs: number;
  /** Rows per step, at most the training split's. */
  batch: number;
  /** AdamW's learning rate, > 0. */
  lr: number;
  /** AdamW's decoupled weight decay. Default 0.01. */
  weightDecay?: number;
  /** Seed of the initialisation, the batch order and the estimator's guesses, an integer ≥ 0. */
  seed: number;
  /**
   * Set by `Trainer.startFrom`: the hash (`hashArrays`) of the weights the run started from instead
   * of its seeded initialisation (`fwdgrad train --init`). A checkpoint keeps it, so a resumed run
   * knows its weights need not lie within reach of the seeded initialisation.
   */
  init?: string;
  /** The loss (`LOSS_IDS`): "cross-entropy" (default) against class labels, or "mse" against a regression set's targets. */
  loss?: LossId;
  /** The estimator's options, by the names its table declares (`methodOptions(method)`); one it does not take is refused. */
  options?: EstimatorOptions;
  /** @deprecated Use `options.k`. Read, as before, only by methods that take it; the trainer folds it into `options`. */
  k?: number;
  /** @deprecated Use `options.guesses`. */
  guesses?: number;
  /** @deprecated Use `options.combine`. */
  combine?: Combine;
  /** @deprecated Use `options.route`. */
  route?: "fast" | "exact";
}

/** The architectures a run can train (`TrainConfig.model`). */
export const MODEL_KINDS = ["mlp", "cnn"] as const;
/** An architecture a run can train: a key of {@link MODEL_KINDS}. */
export type ModelKind = (typeof MODEL_KINDS)[number];

/**
 * The layer sizes of a config's model on data of this shape (features after each linear layer, the
 * input first): what the estimators and the memory plan check before a model is built.
 * @throws {FwdgradError} when the config's model is unknown, or a CNN does not fit the data's features.
 */
export function modelSizes(config: Pick<TrainConfig, "model" | "width" | "depth">, data: { features: number; classes: number }): number[] {
  const kind = config.model ?? "mlp";
  if (kind === "cnn") return cnnSizes({ length: data.features, classes: data.classes, channels: config.width, convs: config.depth });
  if (kind !== "mlp") throw new FwdgradError(`train: model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(kind)}`);
  return mlpSizes(data.features, config.width, config.depth, data.classes);
}

/** The config's model, initialised from its seed. */
export function createModel(config: Pick<TrainConfig, "model" | "width" | "depth" | "bias" | "seed">, data: { features: number; classes: number }): Model {
  const sizes = modelSizes(config, data);
  if (config.model === "cnn") {
    return createCnn({ length: data.features, classes: data.classes, channels: config.width, convs: config.depth, bias: config.bias ?? false, seed: config.seed });
  }
  return createMlp(sizes, { bias: config.bias, seed: config.seed });
}

/** The config's deprecated top-level option fields, in the order they were added. */
const NAMED_OPTIONS = ["k", "guesses", "combine", "route"] as const;

/**
 * The options a run's estimator is made with: `config.options`, after the deprecated top-level
 * fields (k, guesses, combine, route) where the method takes them (elsewhere they were always
 * ignored, and still are).
 */
export function estimatorOptions(config: TrainConfig): EstimatorOptions {
  const named = optionsTakenBy(config.method, Object.fromEntries(NAMED_OPTIONS.map((key) => [key, config[key]])));
  return { ...named, ...config.options };
}

/** The config with its options in one place (`options`), as the trainer keeps and checkpoints write it. */
export function normalizeConfig(config: TrainConfig): TrainConfig {
  const { k: _k, guesses: _guesses, combine: _combine, route: _route, options: _options, ...rest } = config;
  const options = estimatorOptions(config);
  return Object.keys(options).length > 0 ? { ...rest, options } : rest;
}

/** What {@link Trainer.runEpoch} reports for one epoch. */
export interface EpochReport {
  /** The epoch's number, from 1. */
  epoch: number;
  /** Mean loss on the training split after the epoch. */
  trainLoss: number;
  /** Accuracy on the train split; NaN (null in JSON) for a regression loss. */
  trainAcc: number;
  /** Accuracy on the test split; NaN (null in JSON) for a regression loss. */
  testAcc: number;
  /** Wall-clock milliseconds the epoch took, its evaluation included. */
  ms: number;
  /** Mean loss on the test split after the epoch. */
  testLoss: number;
}

/** Which data set a run trained on: its sizes and a fingerprint of its bytes (`describeData`). */
export interface DataIdentity {
  /** Features per row. */
  features: number;
  /** The model's outputs: classes, or regression targets. */
  classes: number;
  /** Regression sets only: the number of target columns. */
  targets?: number;
  /** Rows of the training split. */
  trainRows: number;
  /** Rows of the test split. */
  testRows: number;
  /** FNV-1a (`hashBytes`) of the train and test features and labels. */
  fingerprint: string;
}

/**
 * Everything a resumed run needs: the configuration, the data set's identity, weights, optimiser
 * moments, the estimator's cross-step state and progress.
 */
export interface TrainerState {
  /** The run's configuration (options folded into `options`). */
  config: TrainConfig;
  /** The data set it trained on. */
  data: DataIdentity;
  /** Epochs completed. */
  epoch: number;
  /** Steps completed, over all epochs. */
  step: number;
  /** Every parameter's values: the layers' weights, then their biases. */
  weights: Float32Array[];
  /** AdamW's step count and moments. */
  optimizer: OptimizerState;
  /** The estimator's `state()`, or null where it keeps none (and for backprop). */
  estimator: EstimatorState | null;
  /** Every epoch's report so far. */
  history: EpochReport[];
}

/** The identity a checkpoint records of the data set it was trained on. */
export function describeData(data: Dataset): DataIdentity {
  const bytes = (a: Float32Array | Uint8Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const parts = [data.train.x, data.train.y, data.test.x, data.test.y, ...(data.train.t && data.test.t ? [data.train.t, data.test.t] : [])];
  return {
    features: data.features,
    classes: data.classes,
    ...(data.targets === undefined ? {} : { targets: data.targets }),
    trainRows: data.train.n,
    testRows: data.test.n,
    fingerprint: hashBytes(parts.map(bytes)),
  };
}

const describeIdentity = (d: DataIdentity) =>
  `${d.trainRows} + ${d.testRows} rows of ${d.features} features, ${d.targets === undefined ? `${d.classes} classes` : `${d.targets} targets`}, fingerprint ${d.fingerprint}`;

function checkConfig(c: TrainConfig): void {
  const positive = (name: keyof TrainConfig, allowZero = false) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new FwdgradError(`train: ${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${v}`);
  };
  if (c.model !== undefined && !(MODEL_KINDS as readonly string[]).includes(c.model)) throw new FwdgradError(`train: model must be one of ${MODEL_KINDS.join(", ")}, got ${JSON.stringify(c.model)}`);
  positive("width");
  positive("depth");
  positive("epochs", true);
  positive("batch");
  positive("seed", true);
  if (!Number.isFinite(c.lr) || c.lr <= 0) throw new FwdgradError(`train: lr must be a positive number, got ${c.lr}`);
}

/** Replays of one epoch after worker-thread faults before the fault is the caller's. */
const MAX_THREAD_RETRIES = 3;

/**
 * Trains a model (an MLP or the MNIST-1D CNN) on a data set with one method; `runEpoch()` trains and evaluates one epoch.
 * @example
 * ```ts
 * const trainer = new Trainer(generateMnist1d(), { method: "wperp", width: 128, depth: 3, epochs: 300, batch: 512, lr: 1e-4, seed: 0 });
 * while (trainer.epoch < 300) console.log(trainer.runEpoch());
 * ```
 */
export class Trainer {
  /** The model being trained (its tensors are updated in place). */
  readonly model: Mlp;
  /** The configuration, options folded into `options`. */
  readonly config: TrainConfig;
  /** Every completed epoch's report. */
  readonly history: EpochReport[] = [];
  /** The worker-thread faults this trainer survived, each by replaying its epoch on the threads left (the same numbers). */
  readonly threadFaults: string[] = [];
  /** Epochs completed. */
  epoch = 0;
  /** Steps completed, over all epochs. */
  step = 0;
  /** Why training stopped early, or null. */
  stopped: string | null = null;
  /** How each step gets its gradient (the run's estimator, or the exact gradient). */
  readonly method: GradientMethod;
  private readonly estimator: Estimator | null;
  private readonly optimizer: Optimizer;
  private readonly params: Tensor[];
  private readonly dataIdentity: DataIdentity;
  /** The run's loss (`config.loss`, cross-entropy by default). */
  readonly loss: Loss;

  /**
   * A trainer for `config` on `data`, continuing from `resume` when given (a checkpoint's state).
   * @throws {FwdgradError} when the config is invalid (a size not a positive integer, lr ≤ 0, batch
   * larger than the training split, an unknown method or option, a loss that does not fit the data),
   * the run would not fit in memory, or `resume` does not match this run's model, data or schedule.
   */
  constructor(private readonly data: Dataset, config: TrainConfig, resume?: TrainerState) {
    checkConfig(config);
    if (config.batch > data.train.n) throw new FwdgradError(`train: batch ${config.batch} is larger than the training set (${data.train.n})`);
    this.loss = lossFor(config.loss ?? "cross-entropy");
    const regression = data.targets !== undefined;
    if (this.loss.labels === regression) {
      throw new FwdgradError(`train: loss ${this.loss.id} takes ${this.loss.labels ? "class labels" : "regression targets"}, but the data set holds ${regression ? `${data.targets} regression targets per row` : "class labels"}`);
    }
    this.config = normalizeConfig(config);
    this.method = createMethod(config.method, estimatorOptions(config));
    this.estimator = this.method.estimator;
    this.method.checkModel(modelSizes(config, data));
    checkWorkingSet(this.config, data);
    this.model = createModel(config, data);
    this.params = [...this.model.layers.map((l) => l.w), ...this.model.layers.flatMap((l) => (l.b ? [l.b] : []))];
    this.optimizer = adamW({ lr: config.lr, weightDecay: config.weightDecay ?? 0.01 });
    this.dataIdentity = describeData(data);
    if (resume) this.restore(resume);
  }

  /** Checks the state against this trainer's model, data and schedule, all before changing anything. */
  private restore(state: TrainerState): void {
    const fail = (why: string): never => {
      throw new FwdgradError(`train: the checkpoint${why}`);
    };
    const mine = this.dataIdentity, theirs = state.data;
    if (!theirs || (Object.keys(mine) as (keyof DataIdentity)[]).some((key) => mine[key] !== theirs[key])) {
      fail(` was trained on other data (${theirs ? describeIdentity(theirs) : "unrecorded"}) than this run's (${describeIdentity(mine)})`);
    }
    const shapes = this.params.map((p) => `[${p.shape.join(", ")}]`).join(", ");
    if (state.weights.length !== this.params.length || state.weights.some((w, i) => w.length !== this.params[i].size)) {
      fail(`'s weights do not match the model's shapes (${state.weights.length} arrays of ${state.weights.map((w) => w.length).join(", ")} values for ${shapes})`);
    }
    const stepsPerEpoch = Math.ceil(this.data.train.n / this.config.batch);
    if (state.step !== state.epoch * stepsPerEpoch) fail(` says step ${state.step} after epoch ${state.epoch}; with ${stepsPerEpoch} steps per epoch that is ${state.epoch * stepsPerEpoch}`);
    if (state.history.length !== state.epoch) fail(` has ${state.history.length} history entries for ${state.epoch} epochs`);
    const { buffers } = state.optimizer;
    if (state.optimizer.step !== state.step) fail(`'s optimizer is at step ${state.optimizer.step}, the run at step ${state.step}`);
    // No moments is right only before the first step; any moments must fit the parameters.
    if ((state.step > 0 || buffers.length > 0) && (buffers.length !== 2 * this.params.length || buffers.some((b, i) => b.length !== this.params[i % this.params.length].size))) {
      fail(`'s optimizer moments (${buffers.length} arrays) do not match the model's parameters (${shapes}, m and v each)`);
    }
    // Weights no run of this configuration could reach from its initialisation (the parameters
    // still hold it) would overflow a later step's decompositions: refuse them here.
    const reach = this.config.init === undefined ? this.optimizer.reach?.(state.step) : undefined;
    if (reach) {
      this.params.forEach((p, i) => {
        const initial = p.toArray(), saved = state.weights[i];
        const beyond = saved.findIndex((w, j) => {
          const limit = reach.scale * Math.abs(initial[j]) + reach.shift;
          return Number.isFinite(limit) && !(Math.abs(w) <= limit);
        });
        if (beyond >= 0) {
          fail(`'s weights[${i}] hold ${saved[beyond]} at index ${beyond}, beyond what ${state.step} AdamW steps at lr ${this.config.lr} reach from the initialisation (${initial[beyond]})`);
        }
      });
    }
    if (state.estimator && !this.estimator?.restore) fail(` holds estimator state, which ${this.config.method} does not keep`);
    if (!state.estimator && this.estimator?.restore) fail(` lacks the state ${this.config.method} carries between steps`);
    try {
      if (state.estimator) this.estimator!.restore!(state.estimator, this.model.sizes);
      this.optimizer.restore(state.optimizer);
    } catch (error) {
      if (error instanceof FwdgradError) fail(` does not restore: ${error.message}`);
      throw error;
    }
    this.assignWeights(state.weights);
    this.epoch = state.epoch;
    this.step = state.step;
    this.history.push(...state.history);
  }

  /**
   * Starts the run from `model`'s weights instead of the seeded initialisation (before the first
   * step only): the model must be this run's MLP (sizes and biases). Records their hash as
   * `config.init`. Throws a FwdgradError naming both models otherwise.
   */
  startFrom(model: Model): void {
    if (this.step > 0) throw new FwdgradError(`train: startFrom must come before the first step (the run is at step ${this.step})`);
    const layout = (m: Model) => `${m.layers.map((l) => `${fmt(l.w.shape)}${l.b ? "+b" : ""}`).join(" ")} ${m.sequence.map((l) => l.kind).join()}`;
    const same = layout(model) === layout(this.model);
    if (!same) throw new FwdgradError(`train: the initial model (sizes ${fmt(model.sizes)}${model.layers.some((l) => l.b) ? ", with biases" : ""}) is not this run's (sizes ${fmt(this.model.sizes)}${this.config.bias ? ", with biases" : ""})`);
    const weights = [...model.layers.map((l) => l.w.toArray()), ...model.layers.flatMap((l) => (l.b ? [l.b.toArray()] : []))];
    this.assignWeights(weights);
    this.config.init = hashArrays(weights);
  }

  private assignWeights(weights: Float32Array[]): void {
    weights.forEach((w, i) => assign(this.params[i], w));
  }

  /** The whole state, copied, for a checkpoint. */
  state(): TrainerState {
    return {
      config: { ...this.config },
      data: { ...this.dataIdentity },
      epoch: this.epoch,
      step: this.step,
      weights: this.params.map((p) => p.toArray()),
      optimizer: this.optimizer.state(),
      estimator: this.estimator?.state?.() ?? null,
      history: this.history.slice(),
    };
  }

  /** The probes' batch: the first `rows` (default 512) training examples. */
  private probeBatch(rows = 512): { x: Tensor; labels: Int32Array; objective?: Objective } {
    const { features, train } = this.data;
    const n = Math.min(rows, train.n);
    return { x: tensor(train.x.subarray(0, n * features), [n, features]), ...this.targetsOf(train, Int32Array.from({ length: n }, (_, i) => i)) };
  }

  /** Labels of `rows` of a split, and for a regression loss the objective with their targets. */
  private targetsOf(split: Split, rows: Int32Array): { labels: Int32Array; objective?: Objective } {
    if (this.loss.labels) return { labels: Int32Array.from(rows, (row) => split.y[row]) };
    const outputs = this.data.classes;
    return { labels: new Int32Array(0), objective: { loss: this.loss, targets: tensor(gatherTableRows(split.t!, outputs, rows), [rows.length, outputs]) } };
  }

  /**
   * The run's gradient quality now, per layer (`measureQuality`), on the first `rows` training
   * examples: a fresh estimator with the run's options, so probing never touches the run's own
   * warm starts. Null for the exact gradient.
   */
  probeQuality(options: { rows?: number; draws: number; rng: Rng }): LayerMetrics[] | null {
    if (!this.estimator || !isEstimatorId(this.config.method)) return null;
    const scope = mark();
    const { x, labels, objective } = this.probeBatch(options.rows);
    const probe = createEstimator(this.config.method, estimatorOptions(this.config));
    const layers = measureQuality(this.model, x, labels, probe, { draws: options.draws, rng: options.rng, objective });
    release(scope);
    return layers;
  }

  /**
   * The fidelity of the run's own guess basis (`measureBasisFidelity`) on the first `rows` training
   * examples, given their data set rows, so W̃⊥'s fast route starts from each example's basis of its
   * last visit exactly as a training step would. The estimator's cross-step state is put back
   * afterwards, so probing leaves the run's numbers unchanged. Null for the exact gradient.
   */
  probeBasisFidelity(options: { rows?: number; examples?: number; rng: Rng }): LayerFidelity[] | null {
    const estimator = this.estimator;
    if (!estimator) return null;
    const putBack = this.estimatorPoint();
    const scope = mark();
    try {
      const { x, labels, objective } = this.probeBatch(options.rows);
      const indices = Int32Array.from({ length: x.shape[0] }, (_, i) => i);
      return measureBasisFidelity(this.model, x, labels, estimator, { examples: options.examples, rng: options.rng, indices, objective });
    } finally {
      release(scope);
      putBack?.();
    }
  }

  /** The way back to the estimator's cross-step state as it is now (null where it keeps none). */
  private estimatorPoint(): (() => void) | null {
    const estimator = this.estimator;
    if (estimator?.statePoint) return estimator.statePoint();
    const saved = estimator?.state?.();
    return saved ? () => estimator!.restore!(saved, this.model.sizes) : null;
  }

  /**
   * Mean loss and accuracy (NaN for a regression loss) on a split, in chunks (no tangents, scratch released).
   * @throws {FwdgradError} when the split's rows do not have the model's features.
   */
  evaluate(split: Split): { loss: number; acc: number } {
    const { features } = this.data;
    let lossSum = 0, correct = 0;
    for (let from = 0; from < split.n; from += EVALUATION_ROWS) tidy(() => {
      const rows = Math.min(EVALUATION_ROWS, split.n - from);
      const x = tensor(split.x.subarray(from * features, (from + rows) * features), [rows, features]);
      const { labels, objective } = this.targetsOf(split, Int32Array.from({ length: rows }, (_, r) => from + r));
      const pre = forward(this.model, x).pre;
      const outputs = pre[pre.length - 1];
      lossSum += sum(this.loss.perExample(outputs, objective ? objective.targets : labels)).toArray()[0];
      if (this.loss.labels) {
        argmaxRows(outputs.toArray(), this.data.classes).forEach((predicted, r) => {
          if (predicted === labels[r]) correct++;
        });
      }
    });
    return { loss: lossSum / split.n, acc: this.loss.labels ? correct / split.n : NaN };
  }

  /** The epoch's order of the training examples: Fisher–Yates driven by the epoch's Philox stream. */
  private order(epoch: number): Int32Array {
    const n = this.data.train.n;
    return fisherYates(tidy(() => rng(this.config.seed).split(0).split(epoch).uniform([n]).toArray()), n);
  }

  /**
   * Trains one epoch and evaluates. Returns null (and sets `stopped`) if a step's loss or gradient
   * was not finite: the weights and optimiser state of the epoch's start are restored. A step that
   * throws (a FwdgradFault when memory or a thread fails) puts back the epoch's start too, weights,
   * optimiser, step count and the estimator's cross-step state, and frees the epoch's heap, so
   * calling `runEpoch()` again replays the epoch: the same bits as a run that never failed. A
   * worker thread's fault is retried so, up to MAX_THREAD_RETRIES times an epoch, on the threads
   * the engine has left (`threadFaults` records each); a memory fault is thrown to the caller.
   * `onStep` is called after every step with its number, the epoch's step count and its loss.
   * @throws {FwdgradFault} when the heap is exhausted, or worker threads fail more than
   * MAX_THREAD_RETRIES times in the epoch; the epoch's start is restored first, so it can be retried.
   */
  runEpoch(onStep?: (step: number, steps: number, loss: number) => void): EpochReport | null {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.runEpochOnce(onStep);
      } catch (error) {
        if (!(error instanceof FwdgradFault && error.kind === "thread") || attempt >= MAX_THREAD_RETRIES) throw error;
        this.threadFaults.push(`${error.message}; epoch ${this.epoch + 1} ran again from its start`);
      }
    }
  }

  private runEpochOnce(onStep?: (step: number, steps: number, loss: number) => void): EpochReport | null {
    if (this.stopped) return null;
    const started = performance.now();
    const snapshot: EpochStart = {
      weights: this.params.map((p) => p.toArray()), optimizer: this.optimizer.state(), step: this.step, epoch: this.epoch,
      estimator: this.estimatorPoint(),
    };
    try {
      return this.trainEpoch(snapshot, started, onStep);
    } catch (error) {
      // Each step's and evaluation chunk's scope is freed as the error leaves it (tidy).
      this.putBack(snapshot);
      throw hostFault(error);
    }
  }

  /** Puts the epoch's start back: weights, optimiser, progress and the estimator's state. */
  private putBack(snapshot: EpochStart): void {
    this.assignWeights(snapshot.weights);
    this.optimizer.restore(snapshot.optimizer);
    snapshot.estimator?.();
    this.step = snapshot.step;
    this.epoch = snapshot.epoch;
  }

  /**
   * One step on the training rows `rows`, in its own arena scope: the update, or why it was not
   * made (a non-finite loss, gradient or updated weights).
   */
  private trainStep(rows: Int32Array): { loss: number; fault: string | null } {
    const { features } = this.data;
    const x = tensor(gatherTableRows(this.data.train.x, features, rows), [rows.length, features]);
    const { labels, objective } = this.targetsOf(this.data.train, rows);
    const { loss, grads } = this.method.step(this.model, x, labels, rng(this.config.seed).split(1).split(this.step), Int32Array.from(rows), objective);
    const update = [...grads.w, ...grads.b.filter((b): b is Tensor => b !== null)];
    if (!Number.isFinite(loss)) return { loss, fault: `non-finite loss (${loss})` };
    this.optimizer.step(this.params, update);
    // One scan per step: a non-finite gradient makes the updated weights non-finite too, and so
    // can a huge learning rate with a finite one (the next step would then fail inside a
    // decomposition instead of here). The gradients are read only to name the cause.
    const badWeight = this.params.findIndex((p) => !allFinite(p));
    if (badWeight < 0) return { loss, fault: null };
    const badGradient = update.findIndex((g) => !allFinite(g));
    return { loss, fault: badGradient >= 0 ? `a non-finite gradient (parameter ${badGradient})` : `non-finite weights after the update (parameter ${badWeight})` };
  }

  private trainEpoch(snapshot: EpochStart, started: number, onStep?: (step: number, steps: number, loss: number) => void): EpochReport | null {
    const order = this.order(this.epoch);
    const steps = Math.ceil(order.length / this.config.batch);
    for (let s = 0; s < steps; s++) {
      const rows = order.subarray(s * this.config.batch, Math.min(order.length, (s + 1) * this.config.batch));
      const { loss, fault } = tidy(() => this.trainStep(rows));
      if (fault) {
        this.stopped = `${fault} at epoch ${this.epoch + 1}, step ${s + 1}; the weights of epoch ${this.epoch} are kept`;
        this.putBack(snapshot);
        return null;
      }
      this.step++;
      onStep?.(s + 1, steps, loss);
    }
    this.epoch++;
    const train = this.evaluate(this.data.train);
    const test = this.evaluate(this.data.test);
    const report = { epoch: this.epoch, trainLoss: train.loss, trainAcc: train.acc, testAcc: test.acc, ms: performance.now() - started, testLoss: test.loss };
    this.history.push(report);
    return report;
  }

  /** A 64-bit FNV-1a hash (as 16 hex digits) of the parameters' bytes, for comparing runs. */
  weightsHash(): string {
    return hashArrays(this.params.map((p) => p.toArray()));
  }
}

/** What a failed epoch puts back (`runEpoch`). */
interface EpochStart {
  weights: Float32Array[];
  optimizer: OptimizerState;
  step: number;
  epoch: number;
  /** The way back to the estimator's cross-step state (`estimatorPoint`). */
  estimator: (() => void) | null;
}

/**
 * The model a trainer state holds (a checkpoint's, `parseCheckpoint`): its MLP with the state's
 * weights, for export (`saveWeights`) and prediction. Throws a FwdgradError when the weights do not
 * fit the recorded architecture.
 */
export function modelFromState(state: TrainerState): Mlp {
  const { config, data } = state;
  const model = createModel(config, data);
  const params = [...model.layers.map((l) => l.w), ...model.layers.flatMap((l) => (l.b ? [l.b] : []))];
  if (state.weights.length !== params.length || state.weights.some((w, i) => w.length !== params[i].size)) {
    throw new FwdgradError(`checkpoint: its weights (${state.weights.length} arrays) do not fit its model (sizes ${fmt(model.sizes)}${config.bias ? ", with biases" : ""})`);
  }
  params.forEach((p, i) => assign(p, state.weights[i]));
  return model;
}

/** A host allocation that failed (a RangeError of an array buffer) as the memory fault it is; anything else as it was. */
function hostFault(error: unknown): unknown {
  if (!(error instanceof RangeError) || !/allocat|array buffer|typed array length|memory/i.test(error.message)) return error;
  return new FwdgradFault("memory", `out of memory: the host could not allocate an array (${error.message})`);
}

/** FNV-1a over the bytes of several f32 arrays (`hashBytes` of their bytes). */
export function hashArrays(arrays: Float32Array[]): string {
  return hashBytes(arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
}

/** FNV-1a over several byte arrays in order, two 32-bit lanes with different offsets, as 16 hex digits. */
export function hashBytes(parts: Uint8Array[]): string {
  let h1 = 0x811c9dc5, h2 = 0xcbf29ce4;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i++) {
      h1 = Math.imul(h1 ^ bytes[i], 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ bytes[i], 0x01000193) >>> 0;
      h2 = (h2 ^ (h1 >>> 7)) >>> 0;
    }
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}
