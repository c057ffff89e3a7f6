// The exact baseline: the gradient of the mean loss over the model, by the engine's reverse mode
// (linearize the model's own forward, transpose the linear program). It gives the parameter
// gradients and, as cotangents of the sites' tangents, the true activation gradients g_i = ∂L/∂s_i
// per example: the reference every estimator is measured against, and the backprop training curve.
import { linearize, stopGradient, tangentVariable, transposeLinear } from "../engine/jvp.ts";
import { mean } from "../engine/ops.ts";
import { empty, tensor, view, zeros, type Tensor } from "../engine/tensor.ts";
import { LOSSES, type Loss, type Targets } from "./loss.ts";
import { parameters, runModel, type ForwardTrace, type Model } from "./sequential.ts";

/** The gradients of a loss with respect to a model's parameters, one entry per linear layer. */
export interface Gradients {
  /** Per linear layer: ∂L/∂W_i [out, in]. */
  w: Tensor[];
  /** Per linear layer: ∂L/∂b_i [out], or null for layers without bias. */
  b: (Tensor | null)[];
}

/** What {@link backprop} returns. */
export interface BackpropResult {
  /** The mean loss over the batch. */
  loss: number;
  /** The forward pass: every layer's input and pre-activation, for the estimators. */
  trace: ForwardTrace;
  /** Per linear layer: g_i = ∂L/∂s_i, [batch, out]; L is the mean loss, so each row carries 1/batch. */
  activationGrads: Tensor[];
  /** ∂L/∂W and ∂L/∂b of every linear layer. */
  grads: Gradients;
}

/**
 * The mean loss of the model on (x, targets), its gradients and the per-example activation gradients,
 * by reverse mode; `loss` defaults to softmax cross-entropy against class labels.
 * @example
 * ```ts
 * const { loss, grads } = backprop(createMlp([40, 64, 10]), x, labels);
 * ```
 */
export function backprop(model: Model, x: Tensor, targets: Targets, loss: Loss = LOSSES["cross-entropy"]): BackpropResult {
  const params = parameters(model);
  // Each site's tangent variable, whose cotangent is that site's activation gradient.
  const sites: Tensor[] = [];
  let raw: ForwardTrace = { inputs: [], pre: [] };
  const [value, program] = linearize((...ps) => {
    raw = runModel(model, x, ps, (_, s) => {
      sites.push(tangentVariable(s) ?? empty([0, ...s.shape]));
      return s;
    });
    return mean(loss.perExample(raw.pre[raw.pre.length - 1], targets));
  }, params);
  const { inputs, wanted } = transposeLinear(program, [tensor([1], [1])], sites);
  const trace = { inputs: raw.inputs.map(stopGradient), pre: raw.pre.map(stopGradient) };
  let at = 0;
  const grads: Gradients = { w: [], b: [] };
  for (const layer of model.layers) {
    grads.w.push(gradientOf(inputs[at], params[at++]));
    grads.b.push(layer.b ? gradientOf(inputs[at], params[at++]) : null);
  }
  const activationGrads = wanted.map((g, i) => gradientOf(g, trace.pre[i]));
  return { loss: value.toArray()[0], trace, activationGrads, grads };
}

/** A cotangent [1, ...shape] as a gradient of `like`'s shape (zeros where none reached it). */
function gradientOf(ct: Tensor | null, like: Tensor): Tensor {
  return ct ? view(ct, like.shape) : zeros(like.shape);
}
