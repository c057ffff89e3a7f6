// Fitted W̃⊥-NS polynomials, one per threshold σ_k (relative to the spectral norm): odd degree-7
// p(x) = a1·x + a3·x³ + a5·x⁵ + a7·x⁷ whose 5-fold composition approximates the step 1[x > σ_k] on
// [0, 1.1] (values a little above 1 occur: power iteration underestimates the spectral norm).
// Fitted by scripts/fit-newton-schulz.ts (least squares on 441 points outside a ±0.05 band around
// σ_k, Nelder–Mead from 9 starts); `rmse` and `worst` are its errors outside the band. The
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
  { threshold: 0.1, coeffs: [1.2691082, 2.1853038, -4.6815823, 2.2230806], rmse: 0.0271, worst: 0.177 },
  { threshold: 0.2, coeffs: [0.90055791, 3.8277428, -6.6829694, 2.9426285], rmse: 0.0328, worst: 0.176 },
  { threshold: 0.3, coeffs: [0.60060293, 4.6253701, -7.4704022, 3.2390098], rmse: 0.0151, worst: 0.0808 },
  { threshold: 0.4, coeffs: [0.29363535, 5.2771316, -7.7250138, 3.1539685], rmse: 0.00226, worst: 0.0132 },
  { threshold: 0.5, coeffs: [0.012436617, 5.7282167, -7.9625405, 3.2218961], rmse: 2.93e-05, worst: 0.000169 },
  { threshold: 0.6, coeffs: [-0.0043518754, 4.4559902, -5.397833, 1.9461941], rmse: 8.82e-06, worst: 0.000202 },
  { threshold: 0.7, coeffs: [-0.022970138, 3.5081226, -3.3824753, 0.89728783], rmse: 0.000162, worst: 0.0021 },
  { threshold: 0.8, coeffs: [-0.012745474, 2.3220094, -1.0252588, -0.28404583], rmse: 0.000108, worst: 0.000727 },
  { threshold: 0.9, coeffs: [-0.059997105, 1.9304344, -0.42888415, -0.44040056], rmse: 0.0013, worst: 0.0111 },
];

/** The fit whose threshold is nearest to `ratio` (σ_k/σ_1), clamped to the fitted range. */
export function fitFor(ratio: number): NewtonSchulzFit {
  let best = NS_FITS[0];
  for (const fit of NS_FITS) if (Math.abs(fit.threshold - ratio) < Math.abs(best.threshold - ratio)) best = fit;
  return best;
}

/** Grid points of `composedFit`'s running maximum on [0, 1.1]. */
const MAX_GRID = 4096;

/**
 * The composed polynomial f = p∘…∘p (NS_STEPS times) of a fit as a scalar function (f64), and
 * `maxSquareBelow(x)`: max f² over [0, x], from a running maximum on a grid of [0, 1.1] (each
 * cell's right end, so a point inside a cell is covered by the next grid value up).
 */
export function composedFit(fit: NewtonSchulzFit): { f: (x: number) => number; maxSquareBelow: (x: number) => number } {
  const [a1, a3, a5, a7] = fit.coeffs;
  const f = (x: number): number => {
    for (let s = 0; s < NS_STEPS; s++) {
      const x2 = x * x;
      x *= a1 + x2 * (a3 + x2 * (a5 + x2 * a7));
    }
    return x;
  };
  const running = new Float64Array(MAX_GRID + 1);
  for (let g = 0; g <= MAX_GRID; g++) running[g] = Math.max(g > 0 ? running[g - 1] : 0, f((1.1 * g) / MAX_GRID) ** 2);
  const maxSquareBelow = (x: number): number => running[Math.min(MAX_GRID, Math.max(0, Math.ceil((x / 1.1) * MAX_GRID)))];
  return { f, maxSquareBelow };
}
