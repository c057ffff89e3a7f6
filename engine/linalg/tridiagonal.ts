// The leading eigenpairs of a symmetric tridiagonal matrix, in float64: eigenvalues by bisection on
// Sturm sequence counts, eigenvectors by inverse iteration with a pivoted tridiagonal LU factored
// once per eigenvalue (the pairing of LAPACK's dstebz and dstein; Golub & Van Loan §8.4), vectors
// of close eigenvalues orthogonalised against each other. O(size) per bisection step and per solve:
// cheap enough to run for every example's Lanczos matrix at every convergence check.

/** Eigenvalues of T below x: negative pivots of the LDLᵀ factorisation of T − x·I (Sturm count). */
export function countBelow(alpha: Float64Array, beta: Float64Array, size: number, x: number, tiny: number): number {
  let count = 0;
  let q = alpha[0] - x;
  for (let i = 0; ; i++) {
    if (q === 0) q = -tiny;
    if (q < 0) count++;
    if (i + 1 === size) return count;
    q = alpha[i + 1] - x - (beta[i] * beta[i]) / q;
  }
}

/**
 * T − θ·I = P·L·U by Gaussian elimination with partial pivoting (dgttrf): U has two diagonals above
 * its own; `solve` then overwrites b with (T − θ·I)⁻¹·b (dgtts2), as often as inverse iteration asks.
 */
function shiftedFactor(alpha: Float64Array, beta: Float64Array, size: number, theta: number, tiny: number): { solve: (b: Float64Array) => void } {
  const diag = new Float64Array(size), upper = new Float64Array(size), upper2 = new Float64Array(size), lower = new Float64Array(size);
  const swapped = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    diag[i] = alpha[i] - theta;
    if (i + 1 < size) upper[i] = lower[i] = beta[i];
  }
  for (let i = 0; i + 1 < size; i++) {
    if (Math.abs(diag[i]) >= Math.abs(lower[i])) {
      if (diag[i] === 0) diag[i] = tiny;
      const factor = lower[i] / diag[i];
      lower[i] = factor;
      diag[i + 1] -= factor * upper[i];
    } else {
      // Rows i and i+1 trade places; the new row i reaches two columns past the diagonal.
      const factor = diag[i] / lower[i];
      diag[i] = lower[i];
      lower[i] = factor;
      const oldUpper = upper[i];
      upper[i] = diag[i + 1];
      diag[i + 1] = oldUpper - factor * upper[i];
      if (i + 2 < size) {
        upper2[i] = upper[i + 1];
        upper[i + 1] = -factor * upper[i + 1];
      }
      swapped[i] = 1;
    }
  }
  if (diag[size - 1] === 0) diag[size - 1] = tiny;
  const solve = (b: Float64Array): void => {
    for (let i = 0; i + 1 < size; i++) {
      if (swapped[i]) {
        const t = b[i];
        b[i] = b[i + 1];
        b[i + 1] = t;
      }
      b[i + 1] -= lower[i] * b[i];
    }
    for (let i = size - 1; i >= 0; i--) {
      let v = b[i];
      if (i + 1 < size) v -= upper[i] * b[i + 1];
      if (i + 2 < size) v -= upper2[i] * b[i + 2];
      b[i] = v / diag[i];
    }
  };
  return { solve };
}

/**
 * The `count` largest eigenvalues of the symmetric tridiagonal T (diagonal alpha[0..size),
 * off-diagonal beta[0..size−1)), descending, and unit eigenvectors (row i: vector of values[i]).
 * `below[i]`, if given, is known not to exceed the i-th largest eigenvalue (a leading principal
 * submatrix's i-th largest, by Cauchy interlacing): bisection starts from it.
 */
export function tridiagonalTop(alpha: Float64Array, beta: Float64Array, size: number, count: number, below?: Float64Array): { values: Float64Array; vectors: Float64Array } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < size; i++) {
    const radius = (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i + 1 < size ? Math.abs(beta[i]) : 0);
    lo = Math.min(lo, alpha[i] - radius);
    hi = Math.max(hi, alpha[i] + radius);
  }
  const norm = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  const tiny = 1e-300 + Number.EPSILON * norm;
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    // The (size − i)-th smallest: the point where the count below passes size − 1 − i; below the
    // one found before it. To 1e-10 of the spectrum's scale: inverse iteration needs no more.
    // (A bound found by this bisection is good to 1e-10 of the scale: step back ten times that.)
    let a = below && i < below.length ? Math.max(lo, below[i] - 1e-9 * norm) : lo, b = i > 0 ? values[i - 1] + tiny : hi;
    while (b - a > 1e-10 * norm) {
      const mid = 0.5 * (a + b);
      if (mid <= a || mid >= b) break;
      if (countBelow(alpha, beta, size, mid, tiny) <= size - 1 - i) a = mid;
      else b = mid;
    }
    values[i] = 0.5 * (a + b);
  }
  const vectors = new Float64Array(count * size);
  const x = new Float64Array(size);
  for (let i = 0; i < count; i++) {
    // A start with every component present and no structure (dstein starts from random numbers);
    // integer arithmetic, so every runtime starts from the same bits.
    for (let r = 0; r < size; r++) x[r] = 1 + ((r * 7 + i * 3) % 11) / 11;
    const shifted = shiftedFactor(alpha, beta, size, values[i] + tiny * 10, tiny);
    for (let pass = 0; pass < 2; pass++) {
      shifted.solve(x);
      // Close eigenvalues give nearly parallel solves: keep this vector orthogonal to theirs.
      for (let j = 0; j < i; j++) {
        if (Math.abs(values[j] - values[i]) > 1e-3 * norm) continue;
        let dot = 0;
        for (let r = 0; r < size; r++) dot += vectors[j * size + r] * x[r];
        for (let r = 0; r < size; r++) x[r] -= dot * vectors[j * size + r];
      }
      let length = 0;
      for (let r = 0; r < size; r++) length += x[r] * x[r];
      length = Math.sqrt(length);
      for (let r = 0; r < size; r++) x[r] = length > 0 ? x[r] / length : 0;
    }
    vectors.set(x, i * size);
  }
  return { values, vectors };
}
