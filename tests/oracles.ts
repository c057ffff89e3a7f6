// Float64 oracles for the linear-algebra tests, independent of the library's: random orthogonal
// matrices, and a symmetric eigensolver by cyclic Jacobi (Golub & Van Loan, Matrix Computations,
// 4th ed., §8.5.2–8.5.3), slow (O(n³) per sweep) and simple.
import { backprop, createMlp, rng } from "../index.ts";
import { inputs } from "./harness.ts";

/** The estimator suites' small problem: an MLP 6 → 8 → 7 → 3 (seed 1), five examples, and backprop's exact gradients. */
export const SMALL_SIZES = [6, 8, 7, 3];
export function smallProblem() {
  const model = createMlp(SMALL_SIZES, { seed: 1 });
  const x = rng(2).normal([5, 6]);
  const labels = Int32Array.from([0, 1, 2, 1, 0]);
  return { model, x, labels, truth: backprop(model, x, labels) };
}

/** A random n×n orthogonal matrix (row-major f64): a product of n Householder reflections. */
export function orthogonal(n: number, seed: number): Float64Array {
  const r = inputs(seed);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let h = 0; h < n; h++) {
    const u = Array.from(r.uniform(n));
    const uu = u.reduce((s, x) => s + x * x, 0);
    // Q ← Q·(I − 2uuᵀ/uᵀu)
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += q[i * n + j] * u[j];
      for (let j = 0; j < n; j++) q[i * n + j] -= (2 * s * u[j]) / uu;
    }
  }
  return q;
}

/** Sweeps after which the Jacobi iteration gives up; it converges quadratically, in well under 20. */
const MAX_SWEEPS = 60;

/**
 * All eigenpairs of a symmetric n×n f64 matrix (destroyed) by the cyclic Jacobi method (Golub &
 * Van Loan §8.5.3, with sym.schur2 of Algorithm 8.5.1): rotations zero one off-diagonal pair at a time,
 * row by row, until off(A) ≤ 1e-15·‖A‖_F. vectors[i·n + e] is entry i of eigenvector e.
 * Throws if that takes more than MAX_SWEEPS sweeps.
 */
export function jacobiEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const vectors = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  const tol = 1e-15 * Math.sqrt(total);
  for (let sweep = 0; ; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * a[p * n + q] ** 2;
    if (Math.sqrt(off) <= tol) break;
    if (sweep === MAX_SWEEPS) throw new Error(`jacobiEigen: did not converge in ${MAX_SWEEPS} sweeps (off = ${Math.sqrt(off)})`);
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q];
      if (apq === 0) continue;
      // sym.schur2: [c s; −s c] diagonalises the 2×2 block; t is the smaller root of t² + 2τt − 1 = 0.
      const tau = (a[q * n + q] - a[p * n + p]) / (2 * apq);
      const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
      const c = 1 / Math.sqrt(1 + t * t);
      const s = t * c;
      // A ← JᵀAJ: columns p and q, then rows p and q; V ← VJ.
      for (let i = 0; i < n; i++) {
        const aip = a[i * n + p], aiq = a[i * n + q];
        a[i * n + p] = c * aip - s * aiq;
        a[i * n + q] = s * aip + c * aiq;
      }
      for (let j = 0; j < n; j++) {
        const apj = a[p * n + j], aqj = a[q * n + j];
        a[p * n + j] = c * apj - s * aqj;
        a[q * n + j] = s * apj + c * aqj;
      }
      for (let i = 0; i < n; i++) {
        const vip = vectors[i * n + p], viq = vectors[i * n + q];
        vectors[i * n + p] = c * vip - s * viq;
        vectors[i * n + q] = s * vip + c * viq;
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors };
}

/** Descending eigenpairs of a dense symmetric f64 matrix: values and vectors as rows. */
export function denseTop(a: Float64Array, n: number) {
  const { values, vectors } = jacobiEigen(Float64Array.from(a), n);
  const order = Array.from(values.keys()).sort((i, j) => values[j] - values[i]);
  return { values: order.map((i) => values[i]), vector: (e: number) => Array.from({ length: n }, (_, r) => vectors[r * n + order[e]]) };
}

/** Chunks joined into one array, as a file written chunk by chunk reads back. */
export function joinChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
