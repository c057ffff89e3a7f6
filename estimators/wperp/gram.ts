// The Gram JᵀJ of the layer after a site, as W̃⊥'s solvers take it: products with it, masked per
// example (A_b = M_b·JᵀJ·M_b). A layer that forms its Gram (dense: WᵀW) gives the matrix, whose
// masked products skip inactive units (the masked_products kernel). A convolution applies J and Jᵀ
// instead, a convolution and its transpose over every example's block rows at once, so J is never
// formed. Where its input is small (d ≤ FORMED_GRAM_LIMIT) the Gram is formed once a step from the
// layer's matrix (built from the convolution's products) and the masked kernel used: on the
// MNIST-1D CNN (d = 475 and 250) a masked product of 512×12 rows took 34–50 and 6.5–10 ms that
// way against 81–114 and 42–53 ms by convolutions (one thread, docs/results.md).
import { matmul, max, mul, neg, reshape, scale } from "../../engine/ops.ts";
import { maskedProducts } from "../../engine/linalg/masked.ts";
import type { Tensor } from "../../engine/tensor.ts";
import { kindOf } from "../../models/index.ts";
import type { Linear } from "../../models/sequential.ts";

/** Products with a layer's Gram JᵀJ [d, d]. */
export interface GramOperator {
  /** d, the layer's input size. */
  readonly size: number;
  /** rows [n, d] times JᵀJ. */
  times(rows: Tensor): Tensor;
  /** M_b·JᵀJ·M_b·x_b for rows x [B, c, d] that vanish off their masks [B, d]. */
  masked(rows: Tensor, masks: Tensor): Tensor;
  /** JᵀJ as a matrix, made on each call: the start of an example whose block the mask empties. */
  matrix(): Tensor;
}

/**
 * `w` times the power of two that brings its largest |entry| into [1, 2). The subspaces depend on
 * the weights only up to scale, and a power of two scales every f32 operation exactly, so ordinary
 * weights give the same bits; tiny or huge ones (a forged checkpoint's 1e-11, whose Gram would
 * underflow f32) no longer break the solvers.
 */
export function powerOfTwoScaled(w: Tensor): Tensor {
  const flat = reshape(w, [w.size]);
  const top = Math.max(max(flat).toArray()[0], max(neg(flat)).toArray()[0]);
  if (!(top > 0) || !Number.isFinite(top)) return w;
  const exponent = Math.max(-126, Math.min(127, -Math.floor(Math.log2(top))));
  return exponent === 0 ? w : scale(w, 2 ** exponent);
}

/** Products with a Gram given as a matrix [d, d]. */
export function denseGram(gram: Tensor): GramOperator {
  return { size: gram.shape[0], times: (rows) => matmul(rows, gram), masked: (rows, masks) => maskedProducts(rows, gram, masks), matrix: () => gram };
}

/** Input sizes up to which a convolution's Gram is formed (64 MiB of f32 at the limit). */
export const FORMED_GRAM_LIMIT = 4096;

/**
 * The Gram operator of `layer`, its weight scaled by a power of two (`powerOfTwoScaled`): the kind's
 * own Gram, or one formed from its matrix for an input of at most `formLimit` features, or products
 * by J and Jᵀ themselves.
 */
export function gramOperator(layer: Linear, formLimit = FORMED_GRAM_LIMIT): GramOperator {
  const map = kindOf(layer).map!;
  const scaled: Linear = { ...layer, w: powerOfTwoScaled(layer.w) };
  if (map.gram) return denseGram(map.gram(scaled));
  const size = map.inputSize(scaled);
  const times = (rows: Tensor) => map.transposeTimes(scaled, map.times(scaled, rows));
  // JᵀJ from the layer's matrix (which a convolution builds from its products), as a dense layer's Gram.
  const formed = () => {
    const j = map.matrix(scaled);
    return matmul(j, j, { transA: true });
  };
  if (size <= formLimit) return denseGram(formed());
  return {
    size,
    times,
    // The rows vanish off their masks, so M·JᵀJ·M·x = M·(JᵀJ·x): every block row is one more example of the convolution.
    masked: (rows, masks) => {
      const [batch, c, d] = rows.shape;
      return mul(reshape(times(reshape(rows, [batch * c, d])), [batch, c, d]), reshape(masks, [batch, 1, d]));
    },
    matrix: formed,
  };
}
