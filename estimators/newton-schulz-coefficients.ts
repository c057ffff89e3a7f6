// Fitted W̃⊥-NS polynomials, one per threshold σ_k (relative to the spectral norm): odd degree-7
// p(x) = a1·x + a3·x³ + a5·x⁵ + a7·x⁷ whose 5-fold composition approximates the step 1[x > σ_k] on
// [0, 1]. Fitted by scripts/fit-newton-schulz.ts (least squares on 401 points outside a ±0.05 band
// around σ_k, Nelder–Mead from 9 starts); `rmse` and `worst` are its errors outside the band. The
// paper's own coefficients are unpublished. Low thresholds fit worst (a degree-7⁵ composition cannot
// separate values near 0 sharply): σ_k = 0.1 leaves errors up to 0.18.
export interface NewtonSchulzFit {
  threshold: number;
  coeffs: readonly [number, number, number, number];
  rmse: number;
  worst: number;
}

/** Compositions per application, as fitted. */
export const NS_STEPS = 5;

export const NS_FITS: readonly NewtonSchulzFit[] = [
  { threshold: 0.1, coeffs: [1.2726407, 2.1843635, -4.941575, 2.4804833], rmse: 0.028, worst: 0.179 },
  { threshold: 0.2, coeffs: [0.89963639, 3.8423564, -6.7229904, 2.9673942], rmse: 0.0345, worst: 0.176 },
  { threshold: 0.3, coeffs: [0.60649488, 4.5851147, -7.7066981, 3.5096469], rmse: 0.0148, worst: 0.104 },
  { threshold: 0.4, coeffs: [0.28180957, 5.2384202, -8.0966658, 3.5762775], rmse: 0.00216, worst: 0.0268 },
  { threshold: 0.5, coeffs: [0.00069563439, 5.851503, -8.1901856, 3.3379884], rmse: 6.41e-06, worst: 3.65e-05 },
  { threshold: 0.6, coeffs: [-0.0043506314, 4.4559531, -5.3977542, 1.946151], rmse: 9.29e-06, worst: 0.000202 },
  { threshold: 0.7, coeffs: [-0.022933442, 3.5076602, -3.3814326, 0.8966569], rmse: 0.00017, worst: 0.0021 },
  { threshold: 0.8, coeffs: [-0.009839728, 2.2828269, -0.95598503, -0.3170446], rmse: 8.34e-05, worst: 0.0014 },
  { threshold: 0.9, coeffs: [-8.0829756e-06, 0.42543287, 2.6500556, -2.0754804], rmse: 3.81e-09, worst: 3.46e-07 },
];

/** The fit whose threshold is nearest to `ratio` (σ_k/σ_1), clamped to the fitted range. */
export function fitFor(ratio: number): NewtonSchulzFit {
  let best = NS_FITS[0];
  for (const fit of NS_FITS) if (Math.abs(fit.threshold - ratio) < Math.abs(best.threshold - ratio)) best = fit;
  return best;
}
