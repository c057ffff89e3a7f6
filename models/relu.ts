// The ReLU activation: max(s, 0); its derivative is the mask 1[s > 0] (subgradient 0 at s = 0).
import { positiveMask } from "../engine/inplace.ts";
import { relu as reluOp } from "../engine/ops.ts";
import type { Layer, LayerKind } from "./layer.ts";

/** A ReLU activation layer (no parameters). Built by {@link reluLayer}. */
export interface Relu extends Layer {
  /** Always `"relu"`. */
  readonly kind: "relu";
}

/**
 * A ReLU layer, for `sequential` (the op on tensors is `relu`).
 * @example
 * ```ts
 * sequential([dense(40, 64, rng(0)), reluLayer(), dense(64, 10, rng(1))]);
 * ```
 */
export function reluLayer(): Relu {
  return { kind: "relu" };
}

export const RELU: LayerKind<Relu> = {
  params: () => [],
  apply: (_, x) => reluOp(x),
  mask: (s) => positiveMask(s),
};
