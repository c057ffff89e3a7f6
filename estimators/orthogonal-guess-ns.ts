// W̃⊥-NS (Wang, Markou & Campbell 2025): instead of an SVD, each example's W̃ = W_{i+1}·M_i is
// normalised by its spectral norm (power iteration) and passed through an odd polynomial composed
// NS_STEPS times that sends singular values above σ_k towards 1 and below towards 0, so
// P = p(W̃/‖W̃‖₂) ≈ U_kV_kᵀ; the guess is y = Pᵀ·ε. The threshold σ_k/σ_1 comes from a top-k
// Lanczos SVD of the layer's unmasked W, refreshed every `refresh` steps, and picks the nearest
// fitted polynomial (estimators/newton-schulz-coefficients.ts).
import { FwdgradError } from "../engine/errors.ts";
import { newtonSchulz, svd } from "../engine/linalg.ts";
import { matmul, mul, reshape, sum } from "../engine/ops.ts";
import type { Tensor } from "../engine/tensor.ts";
import { activationEstimate, activationSeeds, checkGuesses, type CommonOptions, type Estimator, type GuessCovariance, type StepInput } from "./estimator.ts";
import { fitFor, NS_STEPS, type NewtonSchulzFit } from "./newton-schulz-coefficients.ts";
import { maskedJacobians } from "./orthogonal-guess.ts";
import { stackGuesses } from "./subspace.ts";

export interface OrthogonalGuessNsOptions extends CommonOptions {
  /** The rank whose singular value sets the threshold. Default 10. */
  k?: number;
  /** Steps between refreshes of σ_k/σ_1. Default 50 (the paper's). */
  refresh?: number;
  /** Power iterations for each example's spectral norm. Default 20. */
  powerIters?: number;
}

export function orthogonalGuessNs(options: OrthogonalGuessNsOptions = {}): Estimator {
  const guesses = checkGuesses("wperp-ns", options.guesses);
  const k = options.k ?? 10;
  const refresh = options.refresh ?? 50;
  const powerIters = options.powerIters ?? 20;
  if (!Number.isInteger(k) || k < 1) throw new FwdgradError(`wperp-ns: k must be an integer ≥ 1, got ${options.k}`);
  if (!Number.isInteger(refresh) || refresh < 1) throw new FwdgradError(`wperp-ns: refresh must be an integer ≥ 1, got ${options.refresh}`);
  const fits = new Map<number, { fit: NewtonSchulzFit; age: number }>();
  const polynomials = new WeakMap<object, Map<number, Tensor>>();

  const fitOf = (input: StepInput, i: number): NewtonSchulzFit => {
    const current = fits.get(i);
    if (current && current.age < refresh) {
      current.age++;
      return current.fit;
    }
    const w = input.model.layers[i + 1].w;
    const rank = Math.min(...w.shape);
    // A W̃ of rank ≤ k keeps everything: the lowest threshold.
    const ratio = rank <= k ? 0 : ((s) => s[k - 1] / s[0])(svd(w, { k }).s.toArray());
    const fit = fitFor(ratio);
    fits.set(i, { fit, age: 1 });
    return fit;
  };

  /** P_b = p∘…∘p(W̃_b/‖W̃_b‖₂) for every example: [B, out, d]. */
  const polynomial = (input: StepInput, i: number): Tensor => {
    const width = input.model.sizes[i + 1];
    if (k > width) throw new FwdgradError(`wperp-ns: k = ${k} is larger than the width ${width} of hidden layer ${i}`);
    let perStep = polynomials.get(input.trace);
    if (!perStep) polynomials.set(input.trace, (perStep = new Map()));
    let p = perStep.get(i);
    if (!p) {
      const fit = fitOf(input, i);
      p = newtonSchulz(maskedJacobians(input.model.layers[i + 1].w, input.masks[i]), { coeffs: fit.coeffs, steps: NS_STEPS, powerIters });
      perStep.set(i, p);
    }
    return p;
  };

  const guess = (input: StepInput, i: number): Tensor => {
    const p = polynomial(input, i);
    const [batch, out, d] = p.shape;
    const r = input.rng.split(i);
    return stackGuesses(Array.from({ length: guesses }, (_, g) => reshape(matmul(p, r.split(g).normal([batch, out, 1]), { transA: true }), [batch, d])));
  };

  const covariance = (input: StepInput, i: number): GuessCovariance => {
    const p = polynomial(input, i);
    const [batch, out, d] = p.shape;
    return {
      // Cov_b = P_bᵀP_b
      times: (g) => reshape(matmul(p, matmul(p, reshape(g, [batch, d, 1])), { transA: true }), [batch, d]),
      // ‖PᵀP − I‖² = ‖PPᵀ‖² − 2‖P‖² + d
      distanceSquared: () => {
        const outer = matmul(p, p, { transB: true });
        const outerSq = sum(reshape(mul(outer, outer), [batch, out * out]), 1).toArray();
        const pSq = sum(reshape(mul(p, p), [batch, out * d]), 1).toArray();
        return Float64Array.from(outerSq, (o, b) => o - 2 * pSq[b] + d);
      },
      basis: () => null,
    };
  };

  return {
    id: "wperp-ns",
    guesses,
    seed: (input) => activationSeeds(input, guesses, (i) => guess(input, i)),
    estimate: activationEstimate,
    covariance,
  };
}
