// Multi-layer perceptrons as data plus functions: layers hold weights [out, in] (PyTorch's layout)
// and optional biases; `forward` runs s_i = x_i·W_iᵀ + b_i, x_{i+1} = relu(s_i) and keeps every
// layer's input and pre-activation. The estimators' tangent pass (estimators/estimator.ts) reuses
// that trace and propagates only tangents; backprop (nn/backprop.ts) walks it in reverse.
import { FwdgradError } from "../engine/errors.ts";
import { add, matmul, relu, scale, sub } from "../engine/ops.ts";
import { Rng, rng as seeded } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";

export interface Linear {
  /** [out, in] */
  w: Tensor;
  /** [out], or null without bias. */
  b: Tensor | null;
}

export interface Mlp {
  sizes: readonly number[];
  layers: Linear[];
}

export interface MlpOptions {
  /** Biases on every layer. Default false (as the W̃⊥ paper trains). */
  bias?: boolean;
  /** Seed of the initialisation. Default 0. */
  seed?: number;
}

/** U(−bound, bound) of the given shape from `r`. */
function uniformTensor(r: Rng, shape: number[], bound: number): Tensor {
  return sub(scale(r.uniform(shape), 2 * bound), bound);
}

/**
 * An MLP with layer sizes `sizes` (input first), ReLU between layers, PyTorch's default
 * initialisation: weights and biases U(−1/√fan_in, 1/√fan_in) (kaiming-uniform with a = √5).
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
  const layers = sizes.slice(1).map((out, i) => {
    const fanIn = sizes[i];
    const bound = 1 / Math.sqrt(fanIn);
    const layerRng = r.split(i);
    return { w: uniformTensor(layerRng, [out, fanIn], bound), b: options.bias ? uniformTensor(layerRng.split(1), [out], bound) : null };
  });
  return { sizes: sizes.slice(), layers };
}

/** Layer sizes of the MLPs the papers train: `features` → `width` × `depth` hidden layers → `classes`. */
export function mlpSizes(features: number, width: number, depth: number, classes: number): number[] {
  return [features, ...new Array<number>(depth).fill(width), classes];
}

/** Each row's index of its largest value, the first on ties: the predicted classes of logits [rows, classes]. */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const rows = values.length / classes;
  const best = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best[r]]) best[r] = c;
  }
  return best;
}

/** What a forward pass keeps: the input of every layer and every pre-activation. */
export interface ForwardTrace {
  /** inputs[i] = x_i, [batch, sizes[i]] (inputs[0] is the batch itself). */
  inputs: Tensor[];
  /** pre[i] = s_i, [batch, sizes[i + 1]]; the last one is the logits. */
  pre: Tensor[];
}

/** Runs the MLP on x [batch, sizes[0]], keeping every layer's input and pre-activation. */
export function forward(model: Mlp, x: Tensor): ForwardTrace {
  if (x.rank !== 2 || x.shape[1] !== model.sizes[0]) {
    throw new FwdgradError(`forward: input must be [batch, ${model.sizes[0]}], got [${x.shape.join(", ")}]`);
  }
  const inputs = [x];
  const pre: Tensor[] = [];
  model.layers.forEach((layer, i) => {
    let s = matmul(inputs[i], layer.w, { transB: true });
    if (layer.b) s = add(s, layer.b);
    pre.push(s);
    if (i < model.layers.length - 1) inputs.push(relu(s));
  });
  return { inputs, pre };
}
