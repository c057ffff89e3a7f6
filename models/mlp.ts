// Multi-layer perceptrons, a builder on `sequential`: dense layers with ReLU between them,
// initialised as PyTorch's nn.Linear. `forward` runs any model and keeps every site's input and
// output (the trace the estimators and metrics read).
import { rollingScopes } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { rng as seeded } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";
import { dense } from "./dense.ts";
import type { Layer } from "./layer.ts";
import { reluLayer } from "./relu.ts";
import { runModel, sequential, type ForwardTrace, type Model } from "./sequential.ts";

export type { ForwardTrace, Linear } from "./sequential.ts";

/** An MLP: a sequential model of dense layers with ReLU between them. */
export type Mlp = Model;

/** Options of {@link createMlp}. */
export interface MlpOptions {
  /** Biases on every layer. Default false (as the W̃⊥ paper trains). */
  bias?: boolean;
  /** Seed of the initialisation. Default 0. */
  seed?: number;
}

/**
 * An MLP with layer sizes `sizes` (input first), ReLU between layers, PyTorch's default
 * initialisation: weights and biases U(−1/√fan_in, 1/√fan_in) (kaiming-uniform with a = √5).
 * @throws {FwdgradError} when `sizes` is not at least two positive integers.
 * @example
 * ```ts
 * const model = createMlp([40, 128, 128, 128, 10], { seed: 1 });
 * ```
 */
export function createMlp(sizes: readonly number[], options: MlpOptions = {}): Mlp {
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new FwdgradError(`createMlp: sizes must be at least two positive integers, got ${JSON.stringify(sizes)}`);
  }
  const r = seeded(options.seed ?? 0);
  const layers: Layer[] = [];
  sizes.slice(1).forEach((out, i) => {
    if (i > 0) layers.push(reluLayer());
    layers.push(dense(sizes[i], out, r.split(i), { bias: options.bias }));
  });
  return sequential(layers);
}

/**
 * Layer sizes of the MLPs the papers train: `features` → `width` × `depth` hidden layers → `classes`.
 * @example
 * ```ts
 * mlpSizes(40, 128, 3, 10); // [40, 128, 128, 128, 10]
 * ```
 */
export function mlpSizes(features: number, width: number, depth: number, classes: number): number[] {
  return [features, ...new Array<number>(depth).fill(width), classes];
}

/**
 * Each row's index of its largest value, the first on ties: the predicted classes of logits [rows, classes].
 * @example
 * ```ts
 * argmaxRows(new Float32Array([0.1, 0.9, 0.7, 0.3]), 2); // Int32Array [1, 0]
 * ```
 */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const rows = values.length / classes;
  const best = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best[r]]) best[r] = c;
  }
  return best;
}

/**
 * Runs the model on x [batch, sizes[0]], keeping every linear layer's input and output.
 * @throws {FwdgradError} when `x` is not [batch, sizes[0]] or is released.
 * @example
 * ```ts
 * const model = createMlp([4, 8, 3]);
 * const trace = forward(model, zeros([2, 4]));
 * ```
 */
export function forward(model: Model, x: Tensor): ForwardTrace {
  return runModel(model, x);
}

/**
 * The model's output (the last linear layer's, the logits) on x [batch, sizes[0]], as inference runs
 * it: each layer's values are freed once the next layer has made its own, so the heap it takes is
 * flat in depth (`forward` keeps every layer).
 * @throws {FwdgradError} when `x` is not [batch, sizes[0]] or is released.
 * @example
 * ```ts
 * const logits = forwardOutput(createMlp([4, 8, 3]), zeros([2, 4])); // [2, 3]
 * ```
 */
export function forwardOutput(model: Model, x: Tensor): Tensor {
  const scope = rollingScopes();
  const trace = runModel(model, x, undefined, undefined, (fn) => scope(fn));
  return trace.pre[trace.pre.length - 1];
}
