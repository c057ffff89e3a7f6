// Offline fit of the W̃⊥-NS polynomials: for each threshold σ_k ∈ {0.1, …, 0.9}, an odd degree-7
// polynomial p(x) = a1·x + a3·x³ + a5·x⁵ + a7·x⁷ whose 5-fold composition maps singular values in
// [0, UPPER] (after spectral normalisation) above σ_k towards 1 and below towards 0. Least squares on a
// grid, outside a transition band of ±BAND around σ_k, by Nelder–Mead from several starts.
// The grid runs to UPPER > 1: power iteration underestimates the spectral norm slightly, so normalised
// values a little above 1 must still map to about 1 rather than diverge under composition.
// Prints the coefficient table that estimators/newton-schulz-coefficients.ts ships, with its errors.
const STEPS = 5;
const BAND = 0.05;
const GRID = 440;
const UPPER = 1.1;

function compose(a: number[], x: number): number {
  for (let s = 0; s < STEPS; s++) {
    const x2 = x * x;
    x = x * (a[0] + x2 * (a[1] + x2 * (a[2] + x2 * a[3])));
    if (!Number.isFinite(x) || Math.abs(x) > 1e6) return Math.sign(x) * 1e6;
  }
  return x;
}

function loss(a: number[], threshold: number): number {
  let total = 0, count = 0;
  for (let i = 0; i <= GRID; i++) {
    const x = (i / GRID) * UPPER;
    if (Math.abs(x - threshold) < BAND) continue;
    const target = x > threshold ? 1 : 0;
    total += (compose(a, x) - target) ** 2;
    count++;
  }
  return total / count;
}

/** Worst |p⁵(x) − step| outside the band, the figure documented with each set. */
function worstError(a: number[], threshold: number): number {
  let worst = 0;
  for (let i = 0; i <= 4 * GRID; i++) {
    const x = (i / (4 * GRID)) * UPPER;
    if (Math.abs(x - threshold) < BAND) continue;
    worst = Math.max(worst, Math.abs(compose(a, x) - (x > threshold ? 1 : 0)));
  }
  return worst;
}

function nelderMead(f: (p: number[]) => number, start: number[], scale: number, iterations: number): number[] {
  const n = start.length;
  let simplex = [start, ...start.map((_, i) => start.map((v, j) => (i === j ? v + scale : v)))];
  let values = simplex.map(f);
  for (let it = 0; it < iterations; it++) {
    const order = values.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]).map(([, i]) => i);
    simplex = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    const centroid = new Array(n).fill(0).map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p[j], 0) / n);
    const worst = simplex[n];
    const at = (t: number) => centroid.map((c, j) => c + t * (worst[j] - c));
    const reflected = at(-1), fr = f(reflected);
    if (fr < values[0]) {
      const expanded = at(-2), fe = f(expanded);
      [simplex[n], values[n]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < values[n - 1]) {
      [simplex[n], values[n]] = [reflected, fr];
    } else {
      const contracted = at(0.5), fc = f(contracted);
      if (fc < values[n]) [simplex[n], values[n]] = [contracted, fc];
      else {
        simplex = simplex.map((p) => p.map((v, j) => simplex[0][j] + 0.5 * (v - simplex[0][j])));
        values = simplex.map(f);
      }
    }
  }
  return simplex[values.indexOf(Math.min(...values))];
}

const table: Record<string, { coeffs: number[]; rmse: number; worst: number }> = {};
for (let t = 1; t <= 9; t++) {
  const threshold = t / 10;
  let best: number[] = [];
  let bestLoss = Infinity;
  // Starts: a cubic-like map scaled so that its repelling fixed point sits near σ_k, and perturbations.
  for (const a1 of [0.3, 0.6, 0.9]) {
    for (const a3 of [2, 4, 8]) {
      const start = [a1, a3, -a3 * 0.5, 0];
      let p = nelderMead((a) => loss(a, threshold), start, 0.5, 3000);
      p = nelderMead((a) => loss(a, threshold), p, 0.05, 3000);
      const value = loss(p, threshold);
      if (value < bestLoss) [best, bestLoss] = [p, value];
    }
  }
  table[threshold.toFixed(1)] = { coeffs: best.map((v) => +v.toPrecision(8)), rmse: +Math.sqrt(bestLoss).toPrecision(3), worst: +worstError(best, threshold).toPrecision(3) };
  console.error(`σ_k ${threshold.toFixed(1)}: rmse ${Math.sqrt(bestLoss).toPrecision(3)}, worst ${worstError(best, threshold).toPrecision(3)}`);
}
console.log(JSON.stringify(table, null, 1));
