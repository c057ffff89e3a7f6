// The leading eigenpairs of a dense symmetric matrix in float64 on the JS heap (no tensors, no
// kernels): a reference solver for what f32 computes, affordable at width 512 and beyond. Householder
// tridiagonalisation (Golub & Van Loan Alg. 8.3.1), then the tridiagonal's top pairs by bisection and
// inverse iteration (tridiagonal.ts). Row-major throughout; the input is overwritten.
import { countBelow, tridiagonalTop } from "./tridiagonal.ts";

/**
 * The `count` largest eigenpairs of a symmetric n×n f64 matrix (destroyed), descending, vectors as
 * rows, and its numerical rank: Householder tridiagonalisation (Golub & Van Loan Alg. 8.3.1), the
 * tridiagonal's top pairs by bisection and inverse iteration, vectors carried back through the
 * reflections. O(n³) with a small constant: the reference stays affordable at width 512 and beyond.
 */
export function topEigen(a: Float64Array, n: number, count: number): { values: Float64Array; vectors: Float64Array; rank: number } {
  const alpha = new Float64Array(n), beta = new Float64Array(n);
  const reflectors: { v: Float64Array; scale: number }[] = [];
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    const m = n - k - 1;
    const v = new Float64Array(m);
    let norm = 0;
    for (let i = 0; i < m; i++) norm += a[(k + 1 + i) * n + k] ** 2;
    norm = Math.sqrt(norm);
    alpha[k] = a[k * n + k];
    const x0 = a[(k + 1) * n + k];
    if (norm === 0) {
      beta[k] = 0;
      reflectors.push({ v, scale: 0 });
      continue;
    }
    // v = x + sign(x₀)·‖x‖·e₁, H = I − 2vvᵀ/vᵀv maps x to −sign(x₀)·‖x‖·e₁.
    const sign = x0 >= 0 ? 1 : -1;
    for (let i = 0; i < m; i++) v[i] = a[(k + 1 + i) * n + k];
    v[0] += sign * norm;
    let vv = 0;
    for (let i = 0; i < m; i++) vv += v[i] * v[i];
    const scale = 2 / vv;
    beta[k] = -sign * norm;
    // A₂₂ ← H·A₂₂·H = A₂₂ − v·wᵀ − w·vᵀ with p = scale·A₂₂·v, w = p − (scale·pᵀv/2)·v.
    let pv = 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += a[(k + 1 + i) * n + k + 1 + j] * v[j];
      p[i] = scale * s;
      pv += p[i] * v[i];
    }
    const half = (scale * pv) / 2;
    for (let i = 0; i < m; i++) p[i] -= half * v[i];
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) a[(k + 1 + i) * n + k + 1 + j] -= v[i] * p[j] + p[i] * v[j];
    reflectors.push({ v, scale });
  }
  if (n >= 2) {
    alpha[n - 2] = a[(n - 2) * n + n - 2];
    beta[n - 2] = a[(n - 1) * n + n - 2];
  }
  if (n >= 1) alpha[n - 1] = a[(n - 1) * n + n - 1];
  const top = tridiagonalTop(alpha, beta, n, count);
  // Rank: eigenvalues of a Gram computed in f64 are exact to about n·ε·λ₁.
  const largest = n > 0 ? Math.max(top.values[0] ?? 0, 0) : 0;
  const floor = largest * Math.max(n, 1) * 8 * Number.EPSILON;
  const rank = largest > 0 ? n - countBelow(alpha, beta, n, floor, Number.MIN_VALUE) : 0;
  // Eigenvectors of A are Q·z with Q = H₀·H₁·…: reflections applied last to first.
  for (let e = 0; e < count; e++) {
    const y = top.vectors.subarray(e * n, (e + 1) * n);
    for (let k = reflectors.length - 1; k >= 0; k--) {
      const { v, scale } = reflectors[k];
      if (scale === 0) continue;
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i] * y[k + 1 + i];
      for (let i = 0; i < v.length; i++) y[k + 1 + i] -= scale * s * v[i];
    }
  }
  return { values: top.values, vectors: top.vectors, rank };
}
