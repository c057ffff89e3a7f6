// The leading singular pairs of every example's upstream Jacobian W̃_b = W_{i+1}·M_i, shared by
// W̃⊥ (its basis is the leading k right vectors) and W̃⊥-NS's fast route (its polynomial acts on
// the singular values alone). The right vectors are the eigenvectors of the masked Gram
// M·JᵀJ·M (gram.ts: WᵀW for a dense layer, a convolution and its transpose for a conv layer), found by batched LOBPCG (subspace.ts) from one of two starts: "exact", a cold Lanczos
// run to a tight residual; "fast", each example's own block from its previous visit (weights move
// little between visits), or a Lanczos run to the loose tolerance for an example seen first.
import { gatherRows } from "../../engine/ops.ts";
import { tensor, type Tensor } from "../../engine/tensor.ts";
import type { StepInput } from "../estimator.ts";
import { maskedLanczos, maskedTopK } from "./subspace.ts";
import type { WarmStarts } from "./warm-starts.ts";
import { gramOperator } from "./gram.ts";
import { nextLinear } from "../../models/sequential.ts";

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

/** The leading pairs of hidden layer i's masked Jacobians for the batch of `input` (its next layer wider than `width`). */
export function leadingPairs(input: StepInput, i: number, search: PairSearch): LeadingPairs {
  const { route, k, width, tol, maxIter, warmStarts } = search;
  const gram = gramOperator(nextLinear(input.model, i));
  const d = gram.size;
  const batch = input.x.shape[0];
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
    fallback: () => tensor(warmStarts.gramStart(i, gram.matrix(), width), [width, d]),
  });
  if (route === "fast" && input.indices) warmStarts.remember(i, input.indices, found.block);
  return { vectors: found.vectors, block: tensor(found.block, [batch, width, d]), values: found.values };
}
