// How well a W̃⊥ basis V̂_b [d, k] captures example b's top-k right singular subspace of the upstream
// Jacobian W̃_b = W_{l+1}·diag(mask_b), against a float64 reference computed here: the Gram of the
// active columns of W_{l+1} (or of its rows, if fewer) and its top eigenpairs (the engine's f64
// symmetric eigensolver, engine/linalg/eigh64.ts). Inputs are f32 tensors, read once as copies;
// everything after is f64 on the JS heap. Row-major throughout.
import { topEigen } from "../engine/linalg/eigh64.ts";
import { FwdgradError } from "../engine/errors.ts";
import type { Tensor } from "../engine/tensor.ts";

/** One example's measures; null where W̃_b = 0 (no active unit, or the active columns are zero). */
export interface ExampleFidelity {
  /** The example's row in the batch. */
  example: number;
  /** ‖W̃_b V̂‖²_F / Σ_{i≤min(k,r)} σ_i²: 1 when V̂ spans a top-k subspace, robust to σ_k ≈ σ_{k+1}. */
  energyRatio: number | null;
  /** ‖V_kᵀ V̂‖²_F / min(k, r): 1 when span V̂ ⊇ span V_k; ill-defined (anything ≤ 1) when σ_k = σ_{k+1}. */
  subspaceAgreement: number | null;
  /** max |V̂ᵀV̂ − I| over V̂'s non-zero columns: an energy ratio above 1 means this is not small. */
  orthonormalityDefect: number;
  /** Numerical rank r of W̃_b (f64). */
  rank: number;
}

/** What {@link basisFidelity} returns: per-example measures and their summaries. */
export interface BasisFidelity {
  /** One entry per compared example, in the order given. */
  examples: ExampleFidelity[];
  /** Mean and minimum over the examples with a non-null measure; null when there are none. */
  energyRatio: number | null;
  /** The minimum energy ratio over those examples. */
  energyRatioMin: number | null;
  /** The mean subspace agreement over those examples. */
  subspaceAgreement: number | null;
  /** The minimum subspace agreement over those examples. */
  subspaceAgreementMin: number | null;
  /** The largest orthonormality defect over the examples. */
  orthonormalityDefect: number;
}

/**
 * Compares each example's basis V̂_b (`basis` [B, d, k]) with the exact top-k right singular vectors of
 * W̃_b = next·diag(masks_b) (`next` [out, d], `masks` [B, d], 1 for an active unit), for the examples
 * listed (default: all). Edge cases: with r = rank W̃_b < k (fewer active units than k, or a thin
 * `next`) the energy denominator sums the r non-zero σ² and the agreement divides by r; with
 * W̃_b = 0 (all units inactive) both are null; a V̂ that is not orthonormal can report an energy ratio
 * above 1, which `orthonormalityDefect` makes visible. Columns of V̂ that are exactly zero are allowed.
 * @throws {FwdgradError} when the shapes are not next [out, d], masks [B, d], basis [B, d, k] with
 * matching d and B, an input is not finite, or a listed example is not a row of the batch.
 * @example
 * ```ts
 * const f = basisFidelity(model.layers[1].w, input.masks[0], estimator.covariance(input, 0)!.basis()!);
 * f.energyRatio; // ≈ 1 for a good basis
 * ```
 */
export function basisFidelity(next: Tensor, masks: Tensor, basis: Tensor, examples?: readonly number[]): BasisFidelity {
  if (next.shape.length !== 2 || masks.shape.length !== 2 || basis.shape.length !== 3) {
    throw new FwdgradError(`basisFidelity: expected next [out, d], masks [B, d], basis [B, d, k], got [${next.shape}], [${masks.shape}], [${basis.shape}]`);
  }
  const [out, d] = next.shape;
  const [batch, k] = [basis.shape[0], basis.shape[2]];
  if (masks.shape[0] !== batch || masks.shape[1] !== d || basis.shape[1] !== d) {
    throw new FwdgradError(`basisFidelity: shapes do not match: next [${next.shape}], masks [${masks.shape}], basis [${basis.shape}]`);
  }
  const w = next.toArray();
  const m = masks.toArray();
  const v = basis.toArray();
  for (const array of [w, v]) if (!array.every(Number.isFinite)) throw new FwdgradError("basisFidelity: non-finite input");
  const chosen = examples ?? Array.from({ length: batch }, (_, b) => b);
  const results = chosen.map((b) => {
    if (!Number.isInteger(b) || b < 0 || b >= batch) throw new FwdgradError(`basisFidelity: example ${b} is not in a batch of ${batch}`);
    const active: number[] = [];
    for (let j = 0; j < d; j++) if (m[b * d + j] > 0) active.push(j);
    const vb = new Float64Array(v.subarray(b * d * k, (b + 1) * d * k));
    return exampleFidelity(b, w, out, d, active, vb, k);
  });
  const summary = (pick: (e: ExampleFidelity) => number | null) => {
    const values = results.map(pick).filter((x): x is number => x !== null);
    return values.length ? { mean: values.reduce((s, x) => s + x, 0) / values.length, min: Math.min(...values) } : { mean: null, min: null };
  };
  const energy = summary((e) => e.energyRatio);
  const agreement = summary((e) => e.subspaceAgreement);
  return {
    examples: results,
    energyRatio: energy.mean,
    energyRatioMin: energy.min,
    subspaceAgreement: agreement.mean,
    subspaceAgreementMin: agreement.min,
    orthonormalityDefect: results.reduce((s, e) => Math.max(s, e.orthonormalityDefect), 0),
  };
}

/** The measures for one example; `vb` is V̂_b [d, k] in f64. */
function exampleFidelity(example: number, w: Float32Array, out: number, d: number, active: number[], vb: Float64Array, k: number): ExampleFidelity {
  const defect = orthonormalityDefect(vb, d, k);
  const a = active.length;
  // W_A = W[:, A] [out, a] in f64, and V̂_A = V̂[A, :] [a, k]: W̃_b and its right vectors see only these.
  const wa = new Float64Array(out * a);
  for (let i = 0; i < out; i++) for (let c = 0; c < a; c++) wa[i * a + c] = w[i * d + active[c]];
  const va = new Float64Array(a * k);
  for (let c = 0; c < a; c++) for (let j = 0; j < k; j++) va[c * k + j] = vb[active[c] * k + j];
  // Right singular vectors of W_A with σ²: from W_AᵀW_A directly, or from W_AW_Aᵀ = UΣ²Uᵀ via v = W_Aᵀu/σ.
  const rowsGram = out < a;
  const n = rowsGram ? out : a;
  const gram = new Float64Array(n * n);
  if (rowsGram) {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < a; c++) s += wa[i * a + c] * wa[j * a + c];
      gram[i * n + j] = gram[j * n + i] = s;
    }
  } else {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let r = 0; r < out; r++) s += wa[r * a + i] * wa[r * a + j];
      gram[i * n + j] = gram[j * n + i] = s;
    }
  }
  const { values, vectors, rank } = topEigen(gram, n, Math.min(k, n));
  if (rank === 0) return { example, energyRatio: null, subspaceAgreement: null, orthonormalityDefect: defect, rank: 0 };
  const kk = Math.min(k, rank);
  let captured = 0;
  for (let i = 0; i < kk; i++) captured += values[i];
  // ‖W̃_b V̂‖²_F = Σ_j ‖W_A V̂_A[:, j]‖².
  let energy = 0;
  for (let r = 0; r < out; r++) for (let j = 0; j < k; j++) {
    let s = 0;
    for (let c = 0; c < a; c++) s += wa[r * a + c] * va[c * k + j];
    energy += s * s;
  }
  // ‖V_kᵀ V̂‖²_F over the top kk exact right vectors (in active coordinates).
  let agreement = 0;
  const right = new Float64Array(a);
  for (let i = 0; i < kk; i++) {
    if (rowsGram) {
      const sigma = Math.sqrt(values[i]);
      for (let c = 0; c < a; c++) {
        let s = 0;
        for (let r = 0; r < out; r++) s += wa[r * a + c] * vectors[i * n + r];
        right[c] = s / sigma;
      }
    } else {
      for (let c = 0; c < a; c++) right[c] = vectors[i * n + c];
    }
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < a; c++) s += right[c] * va[c * k + j];
      agreement += s * s;
    }
  }
  return { example, energyRatio: energy / captured, subspaceAgreement: agreement / kk, orthonormalityDefect: defect, rank };
}

/** max |V̂ᵀV̂ − I| over the non-zero columns of V̂ [d, k]. */
function orthonormalityDefect(vb: Float64Array, d: number, k: number): number {
  const live: number[] = [];
  for (let j = 0; j < k; j++) {
    let any = false;
    for (let i = 0; i < d && !any; i++) any = vb[i * k + j] !== 0;
    if (any) live.push(j);
  }
  let defect = 0;
  for (const p of live) for (const q of live) {
    if (q < p) continue;
    let s = 0;
    for (let i = 0; i < d; i++) s += vb[i * k + p] * vb[i * k + q];
    defect = Math.max(defect, Math.abs(s - (p === q ? 1 : 0)));
  }
  return defect;
}
