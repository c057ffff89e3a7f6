// W̃⊥-NS (Wang, Markou & Campbell 2025): instead of an SVD, each example's W̃ = W_{i+1}·M_i is
// normalised by its spectral norm (power iteration) and passed through an odd polynomial composed
// NS_STEPS times that sends singular values above σ_k towards 1 and below towards 0, so
// P = p(W̃/‖W̃‖₂) ≈ U_kV_kᵀ; the guess is y = Pᵀ·ε. The threshold σ_k/σ_1 comes from a top-k
// Lanczos SVD of the layer's unmasked W, refreshed every `refresh` steps, and picks the nearest
// fitted polynomial (estimators/newton-schulz-coefficients.ts).
import { FwdgradError } from "../engine/errors.ts";
import { newtonSchulz, svd } from "../engine/linalg/decompositions.ts";
import { mark, release } from "../engine/arena.ts";
import { assignAt } from "../engine/inplace.ts";
import { gatherRows, matmul, mul, reshape, sum } from "../engine/ops.ts";
import { empty, type Tensor } from "../engine/tensor.ts";
import { activationGuesses, guessOptions, checkRank, COMMON_OPTIONS, F32, largestHidden, type CommonOptions, type EstimatorState, type GuessCovariance, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory, type OptionTable } from "./options.ts";
import { fitFor, NS_STEPS, type NewtonSchulzFit } from "./newton-schulz-coefficients.ts";
import { maskedJacobians } from "./orthogonal-guess.ts";

// Floats of per-example polynomial matrices held at once (64 MiB).
const CHUNK_FLOATS = 16 * 1024 * 1024;

export interface OrthogonalGuessNsOptions extends CommonOptions {
  /** The rank whose singular value sets the threshold. Default 10. */
  k?: number;
  /** Steps between refreshes of σ_k/σ_1. Default 50 (the paper's). */
  refresh?: number;
  /** Power iterations for each example's spectral norm. Default 20. */
  powerIters?: number;
}

/** W̃⊥-NS's options: the common ones, then the threshold's rank and how the polynomial is kept. */
export const ORTHOGONAL_GUESS_NS_OPTIONS = {
  ...COMMON_OPTIONS,
  k: { kind: "int", default: 10, min: 1, doc: "the rank whose singular value sets the threshold" },
  refresh: { kind: "int", default: 50, min: 1, doc: "steps between refreshes of σ_k/σ_1 (the paper's 50)" },
  powerIters: { kind: "int", default: 20, min: 1, doc: "power iterations for each example's spectral norm" },
} as const satisfies OptionTable;

export const orthogonalGuessNs: EstimatorFactory<typeof ORTHOGONAL_GUESS_NS_OPTIONS> = defineEstimator("wperp-ns", ORTHOGONAL_GUESS_NS_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const { k, refresh, powerIters } = options;
  // Per layer, the fitted polynomial, the ratio σ_k/σ_1 it was fitted for, and the steps it has served.
  const fits = new Map<number, { ratio: number; fit: NewtonSchulzFit; age: number }>();

  const fitOf = (input: StepInput, i: number): NewtonSchulzFit => {
    const current = fits.get(i);
    if (current && current.age < refresh) {
      current.age++;
      return current.fit;
    }
    const w = input.model.layers[i + 1].w;
    const rank = Math.min(...w.shape);
    // A W̃ of rank ≤ k keeps everything: the lowest threshold.
    // Only the ratio of two values is needed: a loose residual tolerance suffices.
    const ratio = rank <= k ? 0 : ((s) => s[k - 1] / s[0])(svd(w, { k, tol: 1e-3, maxIter: Math.min(rank, 300) }).s.toArray());
    const fit = fitFor(ratio);
    fits.set(i, { ratio, fit, age: 1 });
    return fit;
  };

  /**
   * Runs `use(P, from)` on P_b = p∘…∘p(W̃_b/‖W̃_b‖₂) for consecutive chunks of examples [from, from + c):
   * each P_b is out×d, so the whole batch at once would not fit in memory for wide layers.
   */
  const eachChunk = (input: StepInput, i: number, use: (p: Tensor, from: number) => void): void => {
    checkRank("wperp-ns", k, input.model.sizes);
    const fit = fitFor(thresholdOf(input, i));
    const w = input.model.layers[i + 1].w;
    const [out, d] = w.shape;
    const batch = input.x.shape[0];
    const chunk = Math.max(1, Math.min(batch, Math.floor(CHUNK_FLOATS / (out * d))));
    for (let from = 0; from < batch; from += chunk) {
      const scope = mark();
      const rows = Math.min(chunk, batch - from);
      const masks = gatherRows(input.masks[i], Array.from({ length: rows }, (_, r) => from + r));
      use(newtonSchulz(maskedJacobians(w, masks), { coeffs: fit.coeffs, steps: NS_STEPS, powerIters }), from);
      release(scope);
    }
  };

  /** The threshold σ_k/σ_1 of layer i for this step (refreshed every `refresh` steps). */
  const thresholds = new WeakMap<object, Map<number, number>>();
  const thresholdOf = (input: StepInput, i: number): number => {
    let perStep = thresholds.get(input.trace);
    if (!perStep) thresholds.set(input.trace, (perStep = new Map()));
    let t = perStep.get(i);
    if (t === undefined) perStep.set(i, (t = fitOf(input, i).threshold));
    return t;
  };


  const guess = (input: StepInput, i: number): Tensor => {
    const batch = input.x.shape[0], d = input.model.sizes[i + 1], out = input.model.sizes[i + 2];
    const eps = input.rng.split(i).normal([guesses, batch, out]);
    const y = empty([guesses, batch, d]);
    eachChunk(input, i, (p, from) => {
      const rows = p.shape[0];
      for (let g = 0; g < guesses; g++) {
        const e = reshape(gatherRows(reshape(eps, [guesses * batch, out]), Array.from({ length: rows }, (_, r) => g * batch + from + r)), [rows, out, 1]);
        assignAt(y, matmul(p, e, { transA: true }), (g * batch + from) * d);
      }
    });
    return y;
  };

  const covariance = (input: StepInput, i: number): GuessCovariance => {
    const batch = input.x.shape[0], d = input.model.sizes[i + 1], out = input.model.sizes[i + 2];
    return {
      // Cov_b = P_bᵀP_b
      times: (g) => {
        const result = empty([batch, d]);
        eachChunk(input, i, (p, from) => {
          const rows = p.shape[0];
          const gc = reshape(gatherRows(g, Array.from({ length: rows }, (_, r) => from + r)), [rows, d, 1]);
          assignAt(result, matmul(p, matmul(p, gc), { transA: true }), from * d);
        });
        return result;
      },
      // ‖PᵀP − I‖² = ‖PPᵀ‖² − 2‖P‖² + d
      distanceSquared: () => {
        const distances = new Float64Array(batch);
        eachChunk(input, i, (p, from) => {
          const rows = p.shape[0];
          const outer = matmul(p, p, { transB: true });
          const outerSq = sum(reshape(mul(outer, outer), [rows, out * out]), 1).toArray();
          const pSq = sum(reshape(mul(p, p), [rows, out * d]), 1).toArray();
          outerSq.forEach((o, r) => (distances[from + r] = o - 2 * pSq[r] + d));
        });
        return distances;
      },
      basis: () => null,
    };
  };

  return {
    id: "wperp-ns",
    ...common,
    ...activationGuesses(guesses, (input, i) => guess(input, i)),
    covariance,
    checkModel: (sizes) => checkRank("wperp-ns", k, sizes),
    // `fit.<i>`: [σ_k/σ_1, age] of layer i; the polynomial follows from the ratio.
    state: (): EstimatorState => ({ numbers: Object.fromEntries([...fits].map(([i, f]) => [`fit.${i}`, [f.ratio, f.age]])), arrays: {} }),
    restore(saved, sizes) {
      const next = new Map<number, { ratio: number; fit: NewtonSchulzFit; age: number }>();
      if (Object.keys(saved.arrays).length > 0) throw new FwdgradError(`wperp-ns: estimator state: unexpected arrays ${Object.keys(saved.arrays).join(", ")}`);
      for (const [key, value] of Object.entries(saved.numbers)) {
        const match = /^fit\.(\d+)$/.exec(key);
        const [ratio, age] = value;
        if (!match || Number(match[1]) > sizes.length - 3 || value.length !== 2 || !(ratio >= 0 && ratio <= 1) || !Number.isInteger(age) || age < 1 || age > refresh) {
          throw new FwdgradError(`wperp-ns: estimator state: "${key}" must be fit.<hidden layer below ${sizes.length - 2}> = [ratio in [0, 1], age in 1…${refresh}], got ${JSON.stringify(value)}`);
        }
        next.set(Number(match[1]), { ratio, fit: fitFor(ratio), age });
      }
      fits.clear();
      for (const [i, f] of next) fits.set(i, f);
    },
  };
}, (sizes, batch) =>
  // Per hidden layer, chunk by chunk: newtonSchulz keeps every step's Gram and Horner terms
  // (about 12 per step for a degree-7 polynomial), the chunk's W̃ and its P; and the threshold's SVD of W.
  largestHidden(sizes, (d, out) => {
    const rows = Math.max(1, Math.min(batch, Math.floor(CHUNK_FLOATS / (out * d))));
    return F32 * (rows * (out * d * (4 + 12 * NS_STEPS) + out * out * NS_STEPS) + 4 * out * d);
  }),
);
