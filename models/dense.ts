// A dense (fully connected) layer: s = x·Wᵀ + b, W [out, in] in PyTorch's layout, b optional.
// Initialised as PyTorch's nn.Linear: W and b ~ U(−1/√in, 1/√in) (kaiming-uniform with a = √5).
import { tidy } from "../engine/arena.ts";
import { add, matmul, scale, sub, sum } from "../engine/ops.ts";
import type { Rng } from "../engine/rng.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { Layer, LayerKind } from "./layer.ts";

/** A fully connected layer y = x·wᵀ + b: its weights and bias. Built by {@link dense}. */
export interface Dense extends Layer {
  /** Always `"dense"`. */
  readonly kind: "dense";
  /** [out, in] */
  w: Tensor;
  /** [out], or null without bias. */
  b: Tensor | null;
}

/** U(−bound, bound) of the given shape from `r` (its draws freed: the heap keeps the parameters alone). */
export function uniform(r: Rng, shape: number[], bound: number): Tensor {
  return tidy(() => sub(scale(r.uniform(shape), 2 * bound), bound));
}

/**
 * A dense layer in → out with PyTorch's default initialisation from `r` (the bias from `r.split(1)`).
 * @example
 * ```ts
 * const layer = dense(40, 64, rng(0), { bias: true }); // w [64, 40], b [64]
 * ```
 */
export function dense(inputs: number, outputs: number, r: Rng, options: { bias?: boolean } = {}): Dense {
  const bound = 1 / Math.sqrt(inputs);
  return { kind: "dense", w: uniform(r, [outputs, inputs], bound), b: options.bias ? uniform(r.split(1), [outputs], bound) : null };
}

export const DENSE: LayerKind<Dense> = {
  params: (layer) => (layer.b ? [layer.w, layer.b] : [layer.w]),
  apply: (layer, x, [w, b]) => {
    const s = matmul(x, w, { transB: true });
    return layer.b ? add(s, b) : s;
  },
  map: {
    inputSize: (layer) => layer.w.shape[1],
    outputSize: (layer) => layer.w.shape[0],
    times: (layer, y) => matmul(y, layer.w, { transB: true }),
    transposeTimes: (layer, e) => matmul(e, layer.w),
    matrix: (layer) => layer.w,
    gram: (layer) => matmul(layer.w, layer.w, { transA: true }),
    // ∂/∂W Σ_b ⟨g_b, W·x_b⟩ = Σ_b g_b·x_bᵀ = gᵀ·x;  ∂/∂b = Σ_b g_b
    paramGradients: (layer, x, g) => [matmul(g, x, { transA: true }), layer.b ? sum(g, 0) : null],
  },
};
