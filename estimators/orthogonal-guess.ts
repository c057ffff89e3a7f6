// W̃⊥ (Wang, Markou & Campbell 2025): guesses y = V_k·z, z ~ N(0, I_k), with V_k the top-k right
// singular vectors of each example's upstream Jacobian W̃ = W_{i+1}·M_i (equal in distribution to
// V_k·U_kᵀ·ε). Cov = V_kV_kᵀ, a projector onto the directions the next layer sees most.
// Two routes give V_k: "exact" (the paper's definition: an SVD of every example's W̃) and "fast"
// (default): the top-k eigenvectors of the masked Gram M·WᵀW·M by batched block subspace iteration,
// started from the Gram's own top eigenvectors, which are warm-started from the previous step.
import { FwdgradError } from "../engine/errors.ts";
import { eigh, svd } from "../engine/linalg/decompositions.ts";
import { matmul, mul, reshape } from "../engine/ops.ts";
import { leadingColumns, tensor, type Tensor } from "../engine/tensor.ts";
import { activationEstimate, activationSeeds, checkGuesses, checkRank, type CommonOptions, type Estimator, type GuessCovariance, type StepInput } from "./estimator.ts";
import { stack } from "../engine/inplace.ts";
import { maskedTopK } from "../engine/linalg/subspace.ts";
import { WarmStarts } from "./warm-starts.ts";

export interface OrthogonalGuessOptions extends CommonOptions {
  /** Rank of the guess subspace. Default 10 (the paper's). */
  k?: number;
  /** "fast" (default) or "exact". */
  route?: "fast" | "exact";
  /** Fast route: extra basis vectors in the subspace iteration. Default 4. */
  oversample?: number;
  /** Fast route: Ritz residual ‖M·G·M·u − λ·u‖ at which iteration stops, relative to λ₁. Default 1e-2. */
  tol?: number;
  /** Fast route: iteration cap; past it the step throws. Default 100. */
  maxIter?: number;
  /**
   * Fast route: subspace iterations that refine an example's own basis from its previous visit
   * (when the batch's data set rows are known and all were seen before). Default 1.
   */
  warmIterations?: number;
}

/** Each example's W̃ = W·M as a stack [B, out, d]. */
export function maskedJacobians(next: Tensor, mask: Tensor): Tensor {
  const [out, d] = next.shape;
  return mul(reshape(next, [1, out, d]), reshape(mask, [mask.shape[0], 1, d]));
}

/** y = V·z for K independent z ~ N(0, I): [K, B, d] from V [B, d, k]. */
export function subspaceGuess(input: StepInput, layer: number, basis: Tensor, guesses: number): Tensor {
  const [batch, , k] = basis.shape;
  const r = input.rng.split(layer);
  const parts: Tensor[] = [];
  for (let g = 0; g < guesses; g++) parts.push(reshape(matmul(basis, r.split(g).normal([batch, k, 1])), [batch, basis.shape[1]]));
  return stack(parts);
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

export function orthogonalGuess(options: OrthogonalGuessOptions = {}): Estimator {
  const guesses = checkGuesses("wperp", options.guesses);
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new FwdgradError(`wperp: k must be an integer ≥ 1, got ${options.k}`);
  const route = options.route ?? "fast";
  if (route !== "fast" && route !== "exact") throw new FwdgradError(`wperp: route must be "fast" or "exact", got ${String(route)}`);
  const oversample = options.oversample ?? 4;
  const tol = options.tol ?? 1e-2;
  const maxIter = options.maxIter ?? 100;
  const warmIterations = options.warmIterations ?? 1;
  if (!Number.isInteger(warmIterations) || warmIterations < 1) throw new FwdgradError(`wperp: warmIterations must be an integer ≥ 1, got ${options.warmIterations}`);
  const warmStarts = new WarmStarts(k, oversample);
  // Bases per primal pass (the trace), so repeated draws on one batch decompose once.
  const bases = new WeakMap<object, Map<number, Tensor>>();

  const exactBasis = (input: StepInput, i: number): Tensor => {
    const { v } = svd(maskedJacobians(input.model.layers[i + 1].w, input.masks[i]));
    return leadingColumns(v, Math.min(k, v.shape[2]));
  };

  /**
   * For a W̃ with at most k rows (the last hidden layer) the whole row space is kept: from the small
   * Gram W̃W̃ᵀ = UΣ²Uᵀ, V = W̃ᵀUΣ⁻¹ (columns for zero singular values are left zero).
   */
  const thinBasis = (input: StepInput, i: number): Tensor => {
    const jacobians = maskedJacobians(input.model.layers[i + 1].w, input.masks[i]);
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
    return leadingColumns(matmul(jacobians, mul(vectors, tensor(inverse, [batch, 1, rows])), { transA: true }), Math.min(k, rows));
  };

  const fastBasis = (input: StepInput, i: number): Tensor => {
    const next = input.model.layers[i + 1].w;
    const d = next.shape[1];
    if (next.shape[0] <= k) return thinBasis(input, i);
    const gram = matmul(next, next, { transA: true });
    const batch = input.x.shape[0];
    // Warm: every example from its own basis of its previous visit, k columns, a fixed number of
    // refining iterations. Cold: the Gram's top eigenvectors (masked inside maskedTopK) plus
    // oversampling, themselves warm-started from the last cold start's, iterated to the tolerance.
    const warm = warmStarts.warmBasis(i, input.indices, d);
    let start: Tensor;
    if (warm) {
      start = tensor(warm, [batch, d, k]);
    } else {
      const columns = Math.min(d, k + oversample);
      const previous = warmStarts.gramStart(i);
      const top = eigh(gram, { k: columns, tol: 1e-4, warmStart: previous ? tensor(previous.values, previous.shape) : undefined });
      const values = warmStarts.rememberGramStart(i, top.vectors);
      const initial = new Float32Array(batch * d * columns);
      for (let b = 0; b < batch; b++) initial.set(values, b * d * columns);
      start = tensor(initial, [batch, d, columns]);
    }
    const found = maskedTopK(gram, input.masks[i], start, { k, tol, maxIter, iterations: warm ? warmIterations : undefined }).vectors;
    if (input.indices) warmStarts.rememberBases(i, input.indices, found);
    return found;
  };

  const basis = (input: StepInput, i: number): Tensor => {
    checkRank("wperp", k, input.model.sizes);
    let perStep = bases.get(input.trace);
    if (!perStep) bases.set(input.trace, (perStep = new Map()));
    let v = perStep.get(i);
    if (!v) perStep.set(i, (v = route === "exact" ? exactBasis(input, i) : fastBasis(input, i)));
    return v;
  };

  return {
    id: "wperp",
    guesses,
    seed: (input) => activationSeeds(input, guesses, (i) => subspaceGuess(input, i, basis(input, i), guesses)),
    estimate: activationEstimate,
    covariance: (input, layer) => projectorCovariance(basis(input, layer)),
    checkModel: (sizes) => checkRank("wperp", k, sizes),
    state: () => warmStarts.state(),
    restore: (saved, sizes) => warmStarts.restore(saved, sizes),
  };
}
