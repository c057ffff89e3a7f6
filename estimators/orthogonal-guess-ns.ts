// W̃⊥-NS (Wang, Markou & Campbell 2025): instead of an SVD, each example's W̃ = W_{i+1}·M_i is
// normalised by its spectral norm (power iteration) and passed through an odd polynomial composed
// NS_STEPS times that sends singular values above σ_k towards 1 and below towards 0, so
// P = p(W̃/‖W̃‖₂) ≈ U_kV_kᵀ; the guess is y = Pᵀ·ε. The threshold σ_k/σ_1 comes from a top-k
// Lanczos SVD of the layer's unmasked W, refreshed every `refresh` steps, and picks the nearest
// fitted polynomial (estimators/newton-schulz-coefficients.ts).
// Two routes. "exact": the matrix polynomial as defined, on every example's W̃ (out×d matrices,
// cubic in the width). "fast" (default): the composed polynomial f is odd, so
// f(W̃)ᵀε = V·f(Σ)·Uᵀε, equal in distribution to y = V·f(Σ)·z with z ~ N(0, I): it acts on singular
// values alone, and only pairs where f is not negligible count. W̃⊥'s solvers (wperp/pairs.ts)
// find each example's leading `pairs` of them, warm-started from its previous visit; every step
// bounds what the pairs past them could add, (rank − found)·max f² below the last one found, and
// throws when that exceeds `tailTol` of the pairs' own Σ f².
import { FwdgradError } from "../engine/errors.ts";
import { newtonSchulz, svd } from "../engine/linalg/decompositions.ts";
import { mark, release, tidy } from "../engine/arena.ts";
import { assignAt, stack } from "../engine/inplace.ts";
import { gatherRows, matmul, mul, reshape, sum, transpose } from "../engine/ops.ts";
import { empty, tensor, type Tensor } from "../engine/tensor.ts";
import { activationGuesses, guessOptions, checkRank, COMMON_OPTIONS, F32, largestHidden, perPass, type CommonOptions, type EstimatorState, type GuessCovariance, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory, type OptionTable } from "./options.ts";
import { composedFit, fitFor, NS_STEPS, type NewtonSchulzFit } from "./newton-schulz-coefficients.ts";
import { maskedJacobians, rowSpaceBytes, rowSpacePairs } from "./orthogonal-guess.ts";
import { leadingPairs } from "./wperp/pairs.ts";
import { LANCZOS_BASIS_FLOATS } from "./wperp/subspace.ts";
import { DEFAULT_WARM_START_BYTES, WarmStarts } from "./wperp/warm-starts.ts";
import { linearMatrix, linearShape, nextLinear } from "../models/sequential.ts";

// Floats of per-example polynomial matrices held at once (64 MiB).
const CHUNK_FLOATS = 16 * 1024 * 1024;

export interface OrthogonalGuessNsOptions extends CommonOptions {
  /** The rank whose singular value sets the threshold. Default 10. */
  k?: number;
  /** Steps between refreshes of σ_k/σ_1. Default 50 (the paper's). */
  refresh?: number;
  /** Exact route: power iterations for each example's spectral norm. Default 20. */
  powerIters?: number;
  /** "fast" (default): the polynomial applied to each example's leading singular pairs; "exact": the matrix polynomial of every W̃. */
  route?: "fast" | "exact";
  /** Fast route: singular pairs per example that pass the residual test. Default 32. */
  pairs?: number;
  /** Fast route: extra Ritz vectors beside the pairs (LOBPCG's block). Default 2. */
  oversample?: number;
  /** Fast route: residual test ‖A·u − λ·u‖ ≤ tol·λ₁ for the pairs. Default 5e-2. */
  tol?: number;
  /** Fast route: the largest share of Σ f² the pairs past the block may hold (a bound); past it the step throws. Default 1e-2. */
  tailTol?: number;
  /** Fast route: LOBPCG step cap; past it the step throws. Default 100. */
  maxIter?: number;
  /** Fast route: bytes of per-example starts kept between visits. Default 256 MiB. */
  warmStartBytes?: number;
}

/** W̃⊥-NS's options: the common ones, then the threshold's rank and how the polynomial is kept. */
export const ORTHOGONAL_GUESS_NS_OPTIONS = {
  ...COMMON_OPTIONS,
  k: { kind: "int", default: 10, min: 1, doc: "the rank whose singular value sets the threshold" },
  refresh: { kind: "int", default: 50, min: 1, doc: "steps between refreshes of σ_k/σ_1 (the paper's 50)" },
  powerIters: { kind: "int", default: 20, min: 1, doc: "exact route: power iterations for each example's spectral norm" },
  route: { kind: "choice", choices: ["fast", "exact"], default: "fast", doc: "fast: the polynomial on each example's leading singular pairs; exact: the matrix polynomial of every W̃" },
  pairs: { kind: "int", default: 32, min: 1, doc: "fast route: singular pairs per example that pass the residual test (at least k)" },
  oversample: { kind: "int", default: 2, min: 0, doc: "fast route: extra Ritz vectors beside the pairs (LOBPCG's block)" },
  tol: { kind: "number", default: 5e-2, min: 0, max: 1, openMin: true, openMax: true, doc: "fast route: residual test ‖A·u − λ·u‖ ≤ tol·λ₁ for the pairs" },
  tailTol: { kind: "number", default: 1e-2, min: 0, max: 1, openMin: true, doc: "fast route: the largest share of Σ f² the pairs past the block may hold (a bound); past it the step throws" },
  maxIter: { kind: "int", default: 100, min: 1, doc: "fast route: LOBPCG step cap; past it the step throws" },
  warmStartBytes: { kind: "int", default: DEFAULT_WARM_START_BYTES, defaultDoc: "268435456 (256 MiB)", min: 0, doc: "fast route: bytes of per-example starts kept between visits" },
} as const satisfies OptionTable;

export const orthogonalGuessNs: EstimatorFactory<typeof ORTHOGONAL_GUESS_NS_OPTIONS> = defineEstimator("wperp-ns", ORTHOGONAL_GUESS_NS_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const { k, refresh, powerIters, route, pairs, oversample, tol, tailTol, maxIter } = options;
  if (pairs < k) throw new FwdgradError(`wperp-ns: pairs = ${pairs} must be at least k = ${k} (the pairs above σ_k are the ones the polynomial keeps)`);
  const warmStarts = new WarmStarts(pairs, oversample, options.warmStartBytes, "wperp-ns");
  // Per layer, the fitted polynomial, the ratio σ_k/σ_1 it was fitted for, and the steps it has served.
  const fits = new Map<number, { ratio: number; fit: NewtonSchulzFit; age: number }>();

  const fitOf = (input: StepInput, i: number): NewtonSchulzFit => {
    const current = fits.get(i);
    if (current && current.age < refresh) {
      current.age++;
      return current.fit;
    }
    const w = linearMatrix(nextLinear(input.model, i));
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
    const w = linearMatrix(nextLinear(input.model, i));
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
  const thresholdOf = perPass((input, i): number => fitOf(input, i).threshold);

  const exactGuess = (input: StepInput, i: number): Tensor => {
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

  const exactCovariance = (input: StepInput, i: number): GuessCovariance => {
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

  /**
   * Fast route: each example's leading singular pairs of W̃ (right vectors V [B, d, w]) and the
   * polynomial's gains f(σ_j/σ_1) [B, w], per primal pass (guesses and covariance share them).
   * A next layer of at most `pairs` rows gives every pair (the thin route: no tail).
   */
  const spectrum = perPass((input, i) => {
    checkRank("wperp-ns", k, input.model.sizes);
    return tidy(() => findSpectrum(input, i));
  });

  const findSpectrum = (input: StepInput, i: number) => {
    const [out, d] = linearShape(nextLinear(input.model, i));
    const batch = input.x.shape[0];
    const thin = out <= pairs;
    const found = thin
      ? rowSpacePairs(input, i)
      : ((p) => ({ vectors: transpose(p.block), values: p.values }))(leadingPairs(input, i, {
        route: "fast", k: Math.min(k, d), width: Math.min(d, pairs + oversample), tol, maxIter, warmStarts,
      }));
    const w = found.vectors.shape[2];
    const { f, maxSquareBelow } = composedFit(fitFor(thresholdOf(input, i)));
    const gains = new Float32Array(batch * w);
    const present = new Float32Array(batch * w);
    const lengths = sum(mul(found.vectors, found.vectors), 1).toArray();
    const active = thin ? null : sum(input.masks[i], 1).toArray();
    let worst = 0, worstExample = -1;
    for (let b = 0; b < batch; b++) {
      const top = found.values[b * w];
      let head = 0;
      for (let j = 0; j < w; j++) {
        present[b * w + j] = lengths[b * w + j] > 0.5 ? 1 : 0;
        const x = top > 0 ? Math.sqrt(Math.max(found.values[b * w + j], 0) / top) : 0;
        gains[b * w + j] = present[b * w + j] * f(x);
        head += gains[b * w + j] ** 2;
      }
      if (!active) continue;
      // What the pairs past the block could add: rank − w of them, each at most max f² below the
      // last one found. That Ritz value approaches its eigenvalue from below, so a block whose last
      // pairs are far from converged can understate the bound; the leading k pass the residual test.
      const rest = Math.min(out, active[b]) - w;
      const last = top > 0 ? Math.sqrt(Math.max(found.values[b * w + w - 1], 0) / top) : 0;
      const tail = rest > 0 ? (rest * maxSquareBelow(last)) / Math.max(head, 1e-30) : 0;
      if (tail > worst) [worst, worstExample] = [tail, b];
    }
    tails.set(i, worst);
    if (worst > tailTol) {
      throw new FwdgradError(`wperp-ns: in hidden layer ${i}, the singular pairs past the ${w} found may hold up to ${worst.toPrecision(3)} of the polynomial's Σ f² for example ${worstExample} of the batch (tailTol = ${tailTol}); raise pairs, or use route "exact"`);
    }
    return { vectors: found.vectors, gains, present };
  };
  // Per hidden layer, the last step's tail bound (largest over the batch): a share of Σ f².
  const tails = new Map<number, number>();

  const fastGuess = (input: StepInput, i: number): Tensor => {
    const { vectors, gains } = spectrum(input, i);
    const [batch, d, w] = vectors.shape;
    const r = input.rng.split(i);
    return tidy(() => {
      const scaled = tensor(gains, [batch, w, 1]);
      const parts: Tensor[] = [];
      for (let g = 0; g < guesses; g++) parts.push(reshape(matmul(vectors, mul(r.split(g).normal([batch, w, 1]), scaled)), [batch, d]));
      return stack(parts);
    });
  };

  const fastCovariance = (input: StepInput, i: number): GuessCovariance => {
    const { vectors, gains, present } = spectrum(input, i);
    const [batch, d, w] = vectors.shape;
    return {
      // Cov_b = V·f(Σ)²·Vᵀ
      times: (g) => tidy(() => reshape(matmul(vectors, mul(matmul(vectors, reshape(g, [batch, d, 1]), { transA: true }), tensor(gains.map((v) => v * v), [batch, w, 1]))), [batch, d])),
      // ‖V·F²·Vᵀ − I‖² = Σ_j (f_j² − 1)² over V's columns, + d − their count
      distanceSquared: () => {
        const distances = new Float64Array(batch);
        for (let b = 0; b < batch; b++) {
          let sumSq = d;
          for (let j = 0; j < w; j++) if (present[b * w + j]) sumSq += (gains[b * w + j] ** 2 - 1) ** 2 - 1;
          distances[b] = sumSq;
        }
        return distances;
      },
      basis: () => null,
    };
  };

  const guess = (input: StepInput, i: number): Tensor => (route === "fast" ? fastGuess(input, i) : exactGuess(input, i));
  const covariance = (input: StepInput, i: number): GuessCovariance => (route === "fast" ? fastCovariance(input, i) : exactCovariance(input, i));

  return {
    id: "wperp-ns",
    ...common,
    ...activationGuesses(guesses, (input, i) => guess(input, i)),
    covariance,
    checkModel: (sizes) => checkRank("wperp-ns", k, sizes),
    // `fit.<i>`: [σ_k/σ_1, age] of layer i (the polynomial follows from the ratio); the fast
    // route's warm starts beside them, as W̃⊥ keeps them (wperp/warm-starts.ts).
    state: (): EstimatorState => {
      const starts = warmStarts.state();
      return { numbers: { ...Object.fromEntries([...fits].map(([i, f]) => [`fit.${i}`, [f.ratio, f.age]])), ...starts.numbers }, arrays: starts.arrays };
    },
    restore(saved, sizes) {
      const next = new Map<number, { ratio: number; fit: NewtonSchulzFit; age: number }>();
      const startNumbers: Record<string, number[]> = {};
      for (const [key, value] of Object.entries(saved.numbers)) {
        const match = /^fit\.(\d+)$/.exec(key);
        if (!match) {
          startNumbers[key] = value;
          continue;
        }
        const [ratio, age] = value;
        if (Number(match[1]) > sizes.length - 3 || value.length !== 2 || !(ratio >= 0 && ratio <= 1) || !Number.isInteger(age) || age < 1 || age > refresh) {
          throw new FwdgradError(`wperp-ns: estimator state: "${key}" must be fit.<hidden layer below ${sizes.length - 2}> = [ratio in [0, 1], age in 1…${refresh}], got ${JSON.stringify(value)}`);
        }
        next.set(Number(match[1]), { ratio, fit: fitFor(ratio), age });
      }
      if (route === "exact" && (Object.keys(startNumbers).length > 0 || Object.keys(saved.arrays).length > 0)) {
        throw new FwdgradError(`wperp-ns: estimator state: the exact route keeps no warm starts, got ${[...Object.keys(startNumbers), ...Object.keys(saved.arrays)].join(", ")}`);
      }
      // Checks everything before changing anything: the starts throw first if they do not fit.
      warmStarts.restore({ numbers: startNumbers, arrays: saved.arrays }, sizes);
      fits.clear();
      for (const [i, f] of next) fits.set(i, f);
    },
    statePoint: () => {
      const backToStarts = warmStarts.statePoint();
      const saved = new Map([...fits].map(([i, f]) => [i, { ...f }]));
      return () => {
        backToStarts();
        fits.clear();
        for (const [i, f] of saved) fits.set(i, { ...f });
      };
    },
    diagnostics: () => Object.fromEntries([...tails].map(([i, t]) => [`tail.${i}`, t])),
  };
}, (sizes, batch, { route, k, pairs, oversample }) =>
  route === "exact"
    // Per hidden layer, chunk by chunk: newtonSchulz keeps every step's Gram and Horner terms
    // (about 12 per step for a degree-7 polynomial), the chunk's W̃ and its P; and the threshold's SVD of W.
    ? largestHidden(sizes, (d, out) => {
      const rows = Math.max(1, Math.min(batch, Math.floor(CHUNK_FLOATS / (out * d))));
      return F32 * (rows * (out * d * (4 + 12 * NS_STEPS) + out * out * NS_STEPS) + 4 * out * d);
    })
    // As W̃⊥'s (estimators/orthogonal-guess.ts) with w = pairs + oversample, the pairs kept through
    // the pass ([B, d, w] a layer) and the threshold's SVD of W.
    : largestHidden(sizes, (d, out) => {
      if (out <= pairs) return rowSpaceBytes(batch, d, out);
      const w = Math.min(d, pairs + oversample);
      const lanczos = Math.min(batch * (d + 1) * d, Math.max(LANCZOS_BASIS_FLOATS, (d + 1) * d));
      return F32 * (4 * out * d + d * d + lanczos + batch * d * (6 * w + 4) + 24 * batch * w * w + 2 * batch * w * d);
    }) + F32 * batch * Math.max(pairs, k) * sizes.slice(1, -1).reduce((a, b) => a + b, 0),
);
