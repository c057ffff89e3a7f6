// The leading singular pairs of every example's upstream Jacobian W̃_b = W_{i+1}·M_i, shared by
// W̃⊥ (its basis is the leading k right vectors) and W̃⊥-NS's fast route (its polynomial acts on
// the singular values alone). The right vectors are the eigenvectors of the masked Gram
// M·WᵀW·M, found by batched LOBPCG (subspace.ts) from one of two starts: "exact", a cold Lanczos
// run to a tight residual; "fast", each example's own block from its previous visit (weights move
// little between visits), or a Lanczos run to the loose tolerance for an example seen first.
import { gatherRows, matmul, max, neg, reshape, scale } from "../../engine/ops.ts";
import { tensor, type Tensor } from "../../engine/tensor.ts";
import type { StepInput } from "../estimator.ts";
import { maskedLanczos, maskedTopK } from "./subspace.ts";
import type { WarmStarts } from "./warm-starts.ts";
import { linearMatrix } from "../../models/sequential.ts";

/** The exact route's pairs pass ‖A·u − λ·u‖ ≤ 1e-4·λ₁, computed in f32 (its resolution is ~1e-6). */
export const CERTIFIED_RESIDUAL = 1e-4;

/** The search's settings; the exact route also takes Lanczos's tolerance. */
export type PairSearch = PairSearchCommon & ({ route: "fast" } | { route: "exact"; exactTol: number });

interface PairSearchCommon {
  /** Leading pairs that must pass the residual test. */
  k: number;
  /** Pairs found per example (LOBPCG's block): k and the oversample. */
  width: number;
  /** Fast route: residual test ‖A·u − λ·u‖ ≤ tol·λ₁. */
  tol: number;
  maxIter: number;
  warmStarts: WarmStarts;
}

export interface LeadingPairs {
  /** [B, d, k]: each example's leading k right singular vectors, orthonormal. */
  vectors: Tensor;
  /** [B, width, d]: the whole block of right vectors, as rows. */
  block: Tensor;
  /** [B, width]: the eigenvalues of M·WᵀW·M for the block, descending, for W scaled by a power of two (ratios are exact). */
  values: Float32Array;
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

/** The leading pairs of hidden layer i's masked Jacobians for the batch of `input` (its next layer wider than `width`). */
export function leadingPairs(input: StepInput, i: number, search: PairSearch): LeadingPairs {
  const { route, k, width, tol, maxIter, warmStarts } = search;
  const next = linearMatrix(input.model.layers[i + 1]);
  const d = next.shape[1];
  const batch = input.x.shape[0];
  const scaled = powerOfTwoScaled(next);
  const gram = matmul(scaled, scaled, { transA: true });
  const lanczos = (masks: Tensor, lanczosTol: number) => maskedLanczos(gram, masks, { k, w: width, tol: lanczosTol, maxSteps: d, seed: i });
  let start: Tensor;
  // Exact: Lanczos's test |β·s| ≤ exactTol·θ₁, then LOBPCG's certified residual.
  if (search.route === "exact") start = lanczos(input.masks[i], search.exactTol);
  else {
    const { rows, cold } = warmStarts.startRows(i, input.indices, batch, width * d);
    if (cold.length > 0) {
      const fresh = lanczos(cold.length === batch ? input.masks[i] : gatherRows(input.masks[i], cold), tol).toArray();
      cold.forEach((b, c) => rows.set(fresh.subarray(c * width * d, (c + 1) * width * d), b * width * d));
    }
    start = tensor(rows, [batch, width, d]);
  }
  const found = maskedTopK(gram, input.masks[i], start, {
    k,
    tol: route === "fast" ? tol : CERTIFIED_RESIDUAL,
    maxIter,
    fallback: () => tensor(warmStarts.gramStart(i, gram, width), [width, d]),
  });
  if (route === "fast" && input.indices) warmStarts.remember(i, input.indices, found.block);
  return { vectors: found.vectors, block: tensor(found.block, [batch, width, d]), values: found.values };
}
