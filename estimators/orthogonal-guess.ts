// W̃⊥ (Wang, Markou & Campbell 2025): guesses y = V_k·z, z ~ N(0, I_k), with V_k the top-k right
// singular vectors of each example's upstream Jacobian W̃ = W_{i+1}·M_i (equal in distribution to
// V_k·U_kᵀ·ε). Cov = V_kV_kᵀ, a projector onto the directions the next layer sees most.
// V_k holds the top-k eigenvectors of the masked Gram M·WᵀW·M (W̃ᵀW̃ = M·WᵀW·M), found by batched
// LOBPCG on two routes: "exact" (cold, to a tight residual: equal to a float64 SVD of every W̃) and
// "fast" (default): each example warm-started from its own block of its previous visit, to `tol`.
import { eigh } from "../engine/linalg/decompositions.ts";
import { matmul, mul, reshape } from "../engine/ops.ts";
import { leadingColumns, tensor, type Tensor } from "../engine/tensor.ts";
import { tidy } from "../engine/arena.ts";
import { activationGuesses, guessOptions, checkRank, COMMON_OPTIONS, F32, largestHidden, perPass, type CommonOptions, type GuessCovariance, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory, type OptionTable } from "./options.ts";
import { stack } from "../engine/inplace.ts";
import { LANCZOS_BASIS_FLOATS } from "./wperp/subspace.ts";
import { leadingPairs } from "./wperp/pairs.ts";
import { DEFAULT_OVERSAMPLE, DEFAULT_WARM_START_BYTES, WarmStarts } from "./wperp/warm-starts.ts";
import { linearMatrix, linearShape, nextLinear } from "../models/sequential.ts";

export interface OrthogonalGuessOptions extends CommonOptions {
  /** Rank of the guess subspace. Default 10 (the paper's). */
  k?: number;
  /** "fast" (default): warm-started, to `tol`; "exact": from the Gram's eigenvectors, to `exactTol`. */
  route?: "fast" | "exact";
  /** Extra Ritz vectors kept beside the k (LOBPCG's block, and each example's saved start). Default 2. */
  oversample?: number;
  /** Fast route: residual test ‖A·u − λ·u‖ ≤ tol·λ₁ for the k leading Ritz pairs of each example. Default 5e-2. */
  tol?: number;
  /** Exact route: Lanczos's test on its residual estimates |β·s| ≤ exactTol·θ₁. Default 3e-6. */
  exactTol?: number;
  /** LOBPCG step cap; past it the step throws. Default 100 (fast), 1000 (exact). */
  maxIter?: number;
  /**
   * Fast route: bytes of per-example starts kept between visits (f32, w·d per example and layer).
   * Examples beyond it start from the Gram's eigenvectors on every visit. Default 256 MiB.
   */
  warmStartBytes?: number;
}

/** Each example's W̃ = W·M as a stack [B, out, d]. */
export function maskedJacobians(next: Tensor, mask: Tensor): Tensor {
  const [out, d] = next.shape;
  return mul(reshape(next, [1, out, d]), reshape(mask, [mask.shape[0], 1, d]));
}

/**
 * Every singular pair of each example's W̃ = W_{i+1}·M_i, for a next layer of few rows: from the
 * small Gram W̃W̃ᵀ = UΣ²Uᵀ, V = W̃ᵀUΣ⁻¹ [B, d, rows] (columns for zero singular values are left
 * zero) and Σ² [B, rows], descending.
 */
export function rowSpacePairs(input: StepInput, i: number): { vectors: Tensor; values: Float32Array } {
  const jacobians = maskedJacobians(linearMatrix(nextLinear(input.model, i)), input.masks[i]);
  const [batch, rows] = jacobians.shape;
  const { values, vectors } = eigh(matmul(jacobians, jacobians, { transB: true }));
  const lambda = values.toArray();
  const inverse = new Float32Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    const top = Math.max(lambda[b * rows], 0);
    for (let j = 0; j < rows; j++) {
      const l = lambda[b * rows + j];
      inverse[b * rows + j] = l > 1e-10 * top && l > 0 ? 1 / Math.sqrt(l) : 0;
    }
  }
  return { vectors: matmul(jacobians, mul(vectors, tensor(inverse, [batch, 1, rows])), { transA: true }), values: lambda };
}

/**
 * An orthonormal basis of each example's row space of W̃ = W_{i+1}·M_i, for a next layer of at most
 * k rows (the last hidden layer): rowSpacePairs' leading min(k, rows) vectors [B, d, min(k, rows)].
 */
export function rowSpaceBasis(input: StepInput, i: number, k: number): Tensor {
  const { vectors } = rowSpacePairs(input, i);
  return leadingColumns(vectors, Math.min(k, vectors.shape[2]));
}

/** Heap bytes of `rowSpaceBasis` for a batch of `batch`, a layer of d units and a next layer of `out` rows: W̃, its Gram, eigh, V. */
export function rowSpaceBytes(batch: number, d: number, out: number): number {
  return F32 * batch * (4 * out * d + 3 * out * out);
}

/** y = V·z for K independent z ~ N(0, I): [K, B, d] from V [B, d, k]. */
export function subspaceGuess(input: StepInput, layer: number, basis: Tensor, guesses: number): Tensor {
  const [batch, , k] = basis.shape;
  const r = input.rng.split(layer);
  return tidy(() => {
    const parts: Tensor[] = [];
    for (let g = 0; g < guesses; g++) parts.push(reshape(matmul(basis, r.split(g).normal([batch, k, 1])), [batch, basis.shape[1]]));
    return stack(parts);
  });
}

/** Cov = V·Vᵀ for orthonormal V [B, d, k]. */
export function projectorCovariance(basis: Tensor): GuessCovariance {
  const [batch, d, k] = basis.shape;
  return {
    times: (g) => reshape(matmul(basis, matmul(basis, reshape(g, [batch, d, 1]), { transA: true })), [batch, d]),
    distanceSquared: () => new Float64Array(batch).fill(d - k),
    basis: () => basis,
  };
}

/** W̃⊥'s options: the common ones, then the subspace's rank and its solvers' settings. */
export const ORTHOGONAL_GUESS_OPTIONS = {
  ...COMMON_OPTIONS,
  k: { kind: "int", default: 10, min: 1, doc: "rank of the guess subspace (the paper's 10)" },
  route: { kind: "choice", choices: ["fast", "exact"], default: "fast", doc: "fast: warm-started to tol; exact: from the Gram's eigenvectors, to exactTol" },
  oversample: { kind: "int", default: DEFAULT_OVERSAMPLE, min: 0, doc: "extra Ritz vectors beside the k (LOBPCG's block, and each example's saved start)" },
  tol: { kind: "number", default: 5e-2, min: 0, max: 1, openMin: true, openMax: true, doc: "fast route: residual test ‖A·u − λ·u‖ ≤ tol·λ₁ for the k leading Ritz pairs of each example" },
  exactTol: { kind: "number", default: 3e-6, min: 0, max: 1, openMin: true, openMax: true, doc: "exact route: Lanczos's test on its residual estimates |β·s| ≤ exactTol·θ₁" },
  maxIter: {
    kind: "int", default: (o: Readonly<Record<string, number | string>>): number => (o.route === "exact" ? 1000 : 100), defaultDoc: "100 (fast route), 1000 (exact)", min: 1,
    doc: "LOBPCG step cap; past it the step throws",
  },
  warmStartBytes: { kind: "int", default: DEFAULT_WARM_START_BYTES, defaultDoc: "268435456 (256 MiB)", min: 0, doc: "fast route: bytes of per-example starts kept between visits; examples beyond start cold" },
} as const satisfies OptionTable;

export const orthogonalGuess: EstimatorFactory<typeof ORTHOGONAL_GUESS_OPTIONS> = defineEstimator("wperp", ORTHOGONAL_GUESS_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const { k, route, oversample, tol, exactTol, maxIter } = options;
  const warmStarts = new WarmStarts(k, oversample, options.warmStartBytes);

  /** Both routes end with LOBPCG's residual test (estimators/wperp/pairs.ts); a next layer of at most k rows takes the thin route. */
  const subspaceBasis = (input: StepInput, i: number): Tensor => {
    // Only J's shape decides the route; a convolution's matrix is not formed for it.
    const [out, d] = linearShape(nextLinear(input.model, i));
    if (out <= k) return rowSpaceBasis(input, i, k);
    const width = Math.min(d, k + oversample);
    const common = { k, width, tol, maxIter, warmStarts };
    return leadingPairs(input, i, route === "exact" ? { ...common, route, exactTol } : { ...common, route }).vectors;
  };

  // Only the basis outlives the search: the Gram, the starts and the solvers' blocks are freed.
  const basis = perPass((input, i): Tensor => {
    checkRank("wperp", k, input.model.sizes);
    return tidy(() => subspaceBasis(input, i));
  });

  return {
    id: "wperp",
    ...common,
    ...activationGuesses(guesses, (input, i) => subspaceGuess(input, i, basis(input, i), guesses)),
    covariance: (input, layer) => projectorCovariance(basis(input, layer)),
    checkModel: (sizes) => checkRank("wperp", k, sizes),
    state: () => warmStarts.state(),
    restore: (saved, sizes) => warmStarts.restore(saved, sizes),
    statePoint: () => warmStarts.statePoint(),
  };
}, (sizes, batch, { k, oversample, route }) =>
  // Per hidden layer, freed after it: the scaled W and its Gram, the Lanczos bases (each example's
  // reserved whole: (active + 1) × active floats, at worst d + 1 by d, in groups of at most
  // LANCZOS_BASIS_FLOATS), LOBPCG's blocks and Rayleigh–Ritz on 3w; the thin route's row space instead. Every step may start cold.
  largestHidden(sizes, (d, out) => {
    if (out <= k) return rowSpaceBytes(batch, d, out);
    const w = Math.min(d, k + oversample);
    const lanczos = Math.min(batch * (d + 1) * d, Math.max(LANCZOS_BASIS_FLOATS, (d + 1) * d));
    return F32 * (3 * out * d + d * d + lanczos + batch * d * (6 * w + 4) + 24 * batch * w * w + (route === "fast" ? 2 * batch * w * d : 0));
  }) + F32 * batch * k * sizes.slice(1, -1).reduce((a, b) => a + b, 0),
);

