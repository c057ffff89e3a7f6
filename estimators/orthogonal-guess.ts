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
import { activationEstimate, activationSeeds, checkGuesses, checkRank, type CommonOptions, type Estimator, type EstimatorState, type GuessCovariance, type StepInput } from "./estimator.ts";
import { stack } from "../engine/inplace.ts";
import { maskedTopK } from "../engine/linalg/subspace.ts";

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
  // Per layer, the top eigenvectors of WᵀW from the last cold start (plain arrays: the heap is per step).
  const warm = new Map<number, { shape: number[]; values: Float32Array }>();
  // Per layer, every example's last basis (by data set row), so an example seen again an epoch later
  // starts from its own subspace: the weights move little in between.
  const perExample = new Map<number, Map<number, Float32Array>>();
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
    const cache = perExample.get(i) ?? new Map<number, Float32Array>();
    perExample.set(i, cache);
    const cached = input.indices ? Array.from(input.indices, (row) => cache.get(row)) : [];
    const allWarm = input.indices !== undefined && cached.every((c) => c !== undefined);
    if (allWarm && cached.some((c) => c!.length !== d * k)) {
      throw new FwdgradError(`wperp: the saved bases of hidden layer ${i} hold ${cached.find((c) => c!.length !== d * k)!.length} values per example, expected ${d} × ${k} (state from another model)`);
    }
    let initial: Float32Array;
    let columns: number;
    const shared = warm.get(i);
    const warmStart = allWarm && shared !== undefined;
    if (warmStart) {
      // Every example starts from its own basis of its previous visit: k columns suffice. A column
      // left zero then (fewer active units than k) takes the Gram's eigenvector instead, or it
      // would stay zero for good.
      columns = k;
      initial = new Float32Array(batch * d * k);
      const sharedColumns = shared!.shape[1];
      const sharedValues = shared!.values;
      cached.forEach((c, b) => {
        initial.set(c!, b * d * k);
        for (let col = 0; col < k; col++) {
          let empty = true;
          for (let r = 0; r < d && empty; r++) empty = c![r * k + col] === 0;
          if (empty) for (let r = 0; r < d; r++) initial[(b * d + r) * k + col] = sharedValues[r * sharedColumns + col];
        }
      });
    } else {
      // A cold start: the Gram's top eigenvectors (masked inside maskedTopK), plus oversampling,
      // themselves warm-started from the last cold start's.
      columns = Math.min(d, k + oversample);
      const start = eigh(gram, { k: columns, tol: 1e-4, warmStart: shared ? tensor(shared.values, shared.shape) : undefined });
      const values = start.vectors.toArray();
      warm.set(i, { shape: [...start.vectors.shape], values });
      initial = new Float32Array(batch * d * columns);
      for (let b = 0; b < batch; b++) initial.set(values, b * d * columns);
    }
    const found = maskedTopK(gram, input.masks[i], tensor(initial, [batch, d, columns]), k, tol, maxIter, warmStart ? warmIterations : undefined).vectors;
    if (input.indices) {
      const values = found.toArray();
      for (let b = 0; b < batch; b++) cache.set(input.indices[b], values.slice(b * d * k, (b + 1) * d * k));
    }
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

  /**
   * The warm starts as named arrays: per layer `warm.<i>` (the Gram's eigenvectors, shape in
   * `warm.<i>.shape`) and `bases.<i>` (every seen example's basis, rows in `rows.<i>`, in the
   * cache's order). A checkpoint at width d holds rows × layers × d × k floats of it (MNIST-1D,
   * depth 3, k 10: 41 MB at width 128, 164 MB at width 512, as base64 a third more).
   */
  const state = (): EstimatorState => {
    const numbers: Record<string, number[]> = {};
    const arrays: Record<string, Float32Array> = {};
    for (const [layer, start] of warm) {
      numbers[`warm.${layer}.shape`] = [...start.shape];
      arrays[`warm.${layer}`] = start.values.slice();
    }
    for (const [layer, cache] of perExample) {
      const stride = cache.size === 0 ? 0 : cache.values().next().value!.length;
      const joined = new Float32Array(cache.size * stride);
      let at = 0;
      for (const values of cache.values()) joined.set(values, (at++) * stride);
      numbers[`rows.${layer}`] = [...cache.keys()];
      arrays[`bases.${layer}`] = joined;
    }
    return { numbers, arrays };
  };

  const restore = (saved: EstimatorState): void => {
    const fail = (why: string): never => {
      throw new FwdgradError(`wperp: estimator state: ${why}`);
    };
    const nextWarm = new Map<number, { shape: number[]; values: Float32Array }>();
    const nextPerExample = new Map<number, Map<number, Float32Array>>();
    for (const key of Object.keys(saved.numbers)) if (!/^(warm\.\d+\.shape|rows\.\d+)$/.test(key)) fail(`unexpected entry "${key}"`);
    for (const [key, values] of Object.entries(saved.arrays)) {
      const match = /^(warm|bases)\.(\d+)$/.exec(key) ?? fail(`unexpected array "${key}"`);
      const layer = Number(match[2]);
      if (match[1] === "warm") {
        const shape = saved.numbers[`${key}.shape`] ?? fail(`"${key}" has no shape`);
        if (shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n >= 1) || shape[0] * shape[1] !== values.length) {
          fail(`"${key}" has ${values.length} values for shape [${shape.join(", ")}]`);
        }
        nextWarm.set(layer, { shape: [...shape], values: values.slice() });
      } else {
        const rows = saved.numbers[`rows.${layer}`] ?? fail(`"${key}" has no rows`);
        if (rows.length === 0 ? values.length !== 0 : values.length % rows.length !== 0 || values.length / rows.length % k !== 0) {
          fail(`"${key}" has ${values.length} values for ${rows.length} rows of k = ${k} columns`);
        }
        const stride = rows.length === 0 ? 0 : values.length / rows.length;
        const cache = new Map<number, Float32Array>();
        rows.forEach((row, r) => {
          if (!Number.isSafeInteger(row) || row < 0 || cache.has(row)) fail(`"rows.${layer}" holds ${row}, not a new row index`);
          cache.set(row, values.slice(r * stride, (r + 1) * stride));
        });
        nextPerExample.set(layer, cache);
      }
    }
    for (const key of Object.keys(saved.numbers)) {
      const array = key.startsWith("rows.") ? `bases.${key.slice(5)}` : key.slice(0, -".shape".length);
      if (!(array in saved.arrays)) fail(`"${key}" has no array "${array}"`);
    }
    warm.clear();
    perExample.clear();
    for (const [layer, start] of nextWarm) warm.set(layer, start);
    for (const [layer, cache] of nextPerExample) perExample.set(layer, cache);
  };

  return {
    id: "wperp",
    guesses,
    seed: (input) => activationSeeds(input, guesses, (i) => subspaceGuess(input, i, basis(input, i), guesses)),
    estimate: activationEstimate,
    covariance: (input, layer) => projectorCovariance(basis(input, layer)),
    checkModel: (sizes) => checkRank("wperp", k, sizes),
    state,
    restore,
  };
}
