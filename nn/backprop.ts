// The exact baseline: a hand-written reverse pass through the MLP for the mean softmax cross-entropy.
// It gives the true activation gradients g_i = ∂L/∂s_i per example and the parameter gradients, the
// reference every estimator is measured against (and the backprop training curve).
import { div, exp, matmul, max, mean, mul, scale, softmaxCrossEntropy, sub, sum } from "../engine/ops.ts";
import { positiveMask } from "../engine/inplace.ts";
import { Tensor, tensor } from "../engine/tensor.ts";
import { forward, type ForwardTrace, type Mlp } from "./mlp.ts";

export interface Gradients {
  /** Per layer: ∂L/∂W_i [out, in]. */
  w: Tensor[];
  /** Per layer: ∂L/∂b_i [out], or null for layers without bias. */
  b: (Tensor | null)[];
}

export interface BackpropResult {
  loss: number;
  trace: ForwardTrace;
  /** Per layer: g_i = ∂L/∂s_i, [batch, out]; L is the mean loss, so each row carries 1/batch. */
  activationGrads: Tensor[];
  grads: Gradients;
}

/** softmax(z) − onehot(labels), row by row, from the engine's own exp (reproducible everywhere). */
function softmaxMinusOnehot(z: Tensor, labels: Int32Array): Tensor {
  const shifted = sub(z, max(z, 1, { keepdims: true }));
  const e = exp(shifted);
  const p = div(e, sum(e, 1, { keepdims: true }));
  const [rows, classes] = z.shape;
  const onehot = new Float32Array(rows * classes);
  labels.forEach((label, r) => (onehot[r * classes + label] = 1));
  return sub(p, tensor(onehot, [rows, classes]));
}

/** Mean cross-entropy of the MLP on (x, labels), its gradients and the per-example activation gradients. */
export function backprop(model: Mlp, x: Tensor, labels: Int32Array): BackpropResult {
  const trace = forward(model, x);
  const logits = trace.pre[trace.pre.length - 1];
  const loss = mean(softmaxCrossEntropy(logits, labels)).toArray()[0];
  const batch = x.shape[0];
  const g: Tensor[] = new Array(model.layers.length);
  g[model.layers.length - 1] = scale(softmaxMinusOnehot(logits, labels), 1 / batch);
  for (let i = model.layers.length - 1; i > 0; i--) {
    // g_{i−1} = (g_i·W_i) ⊙ 1[s_{i−1} > 0]
    const upstream = matmul(g[i], model.layers[i].w);
    g[i - 1] = mul(upstream, reluMask(trace.pre[i - 1]));
  }
  const grads: Gradients = {
    w: g.map((gi, i) => matmul(gi, trace.inputs[i], { transA: true })),
    b: g.map((gi, i) => (model.layers[i].b ? sum(gi, 0) : null)),
  };
  return { loss, trace, activationGrads: g, grads };
}

/** 1 where s > 0, else 0 (the subgradient choice of relu at 0). */
export const reluMask = positiveMask;
