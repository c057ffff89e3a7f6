// Projected multi-guess estimates (Flügel et al. 2025, "Improving forward gradient training with
// multiple tangents"): with K guesses G_b = [g_1 … g_K] for example b, the K jvp values are G_bᵀ∇ℓ_b,
// which fix the orthogonal projection of the gradient onto span(G_b): ĝ_b = G_b·c_b with
// (G_bᵀG_b)·c_b = G_bᵀ∇ℓ_b. The guesses of one example are joined over all layers, because one
// forward-mode pass gives each guess's directional derivative through every layer at once, not one
// per layer; the joint Gram is the sum of the layers' Grams.
import { tensor, type Tensor } from "../engine/tensor.ts";
import type { Seeds } from "./estimator.ts";

/**
 * A guess whose part outside the span of the guesses already taken has a squared norm below this
 * share of the largest guess's counts as dependent. The Gram is exact to f64 rounding of the f32
 * guesses, so guesses that are dependent in exact arithmetic (K above the dimension) come out about
 * 1e-14 apart, while the jvp values, good to about 1e-7 in f32, would be amplified by 1/√share at
 * most: 1e-8 keeps the error of ĝ near 1e-3 of ‖g‖ and still takes a Gaussian square G of condition 1e4.
 */
export const DEPENDENCE_TOL = 1e-8;

/**
 * Per example the joint Gram G_bᵀG_b of its K guesses, summed over layers, in f64: [B·K·K].
 * Activation guesses [K, B, d] contribute per example; weight guesses [K, out, in] are shared by
 * the batch and contribute the same K×K block to every example. Accumulated in f64 (not by the f32
 * gemm, whose rounding would pass for dependence between nearly dependent guesses).
 */
export function jointGram(seeds: Seeds, guesses: number, batch: number): Float64Array {
  const kk = guesses * guesses;
  const gram = new Float64Array(batch * kk);
  const add = (into: Float64Array, at: number, k: number, l: number, s: number) => {
    into[at + k * guesses + l] += s;
    if (l !== k) into[at + l * guesses + k] += s;
  };
  // into[at + k·K + l] += ⟨row k, row l⟩, rows of `length` values starting at rowStart(k). Products
  // of f32 values are exact in f64, and every sum runs over j in order; four sums at a time are four
  // independent chains, which hides the latency of f64 addition (the same bits as one at a time).
  const addProducts = (values: Float32Array, rowStart: (k: number) => number, length: number, into: Float64Array, at: number) => {
    for (let k = 0; k < guesses; k++) {
      const a = rowStart(k);
      let l = 0;
      for (; l + 3 <= k; l += 4) {
        const b0 = rowStart(l), b1 = rowStart(l + 1), b2 = rowStart(l + 2), b3 = rowStart(l + 3);
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < length; j++) {
          const x = values[a + j];
          s0 += x * values[b0 + j];
          s1 += x * values[b1 + j];
          s2 += x * values[b2 + j];
          s3 += x * values[b3 + j];
        }
        add(into, at, k, l, s0);
        add(into, at, k, l + 1, s1);
        add(into, at, k, l + 2, s2);
        add(into, at, k, l + 3, s3);
      }
      for (; l <= k; l++) {
        const b = rowStart(l);
        let s = 0;
        for (let j = 0; j < length; j++) s += values[a + j] * values[b + j];
        add(into, at, k, l, s);
      }
    }
  };
  for (const y of seeds.activations) {
    if (!y) continue;
    const d = y.shape[2];
    const values = y.toArray();
    for (let b = 0; b < batch; b++) addProducts(values, (k) => (k * batch + b) * d, d, gram, b * kk);
  }
  const shared = new Float64Array(kk);
  for (const v of seeds.weights) if (v) addProducts(v.toArray(), (k) => (k * v.size) / guesses, v.size / guesses, shared, 0);
  for (let b = 0; b < batch; b++) for (let i = 0; i < kk; i++) gram[b * kk + i] += shared[i];
  return gram;
}

/** Scratch of `solveSemidefinite` for K×K systems; l[i·K + j] holds the factor's row i, column j, in pivot order. */
export interface SemidefiniteWork {
  order: Int32Array;
  residual: Float64Array;
  l: Float64Array;
  x: Float64Array;
}

/** Fresh scratch for K×K systems. */
export function semidefiniteWork(k: number): SemidefiniteWork {
  return { order: new Int32Array(k), residual: new Float64Array(k), l: new Float64Array(k * k), x: new Float64Array(k) };
}

/**
 * Solves A·c = r for a symmetric positive semi-definite K×K block A (at `offset` in `a`) by
 * Cholesky with diagonal pivoting (Higham, "Accuracy and Stability of Numerical Algorithms", §10.3),
 * stopping where the largest remaining pivot falls to DEPENDENCE_TOL of A's largest diagonal entry:
 * the guesses taken span the others, c is zero on the rest, and G·c is still the projection onto
 * span(G) (any solution of the normal equations gives the same G·c). Returns the rank found.
 * `work` (from `semidefiniteWork(k)`) lets a caller solving many systems allocate once.
 */
export function solveSemidefinite(a: Float64Array, offset: number, k: number, rhs: ArrayLike<number>, c: Float64Array, work: SemidefiniteWork = semidefiniteWork(k)): number {
  const { order, residual, l, x } = work;
  for (let i = 0; i < k; i++) order[i] = i;
  let largest = 0;
  for (let i = 0; i < k; i++) largest = Math.max(largest, (residual[i] = a[offset + i * k + i]));
  c.fill(0);
  if (!(largest > 0)) return 0;
  let rank = 0;
  for (; rank < k; rank++) {
    let pivot = rank;
    for (let i = rank + 1; i < k; i++) if (residual[order[i]] > residual[order[pivot]]) pivot = i;
    if (!(residual[order[pivot]] > DEPENDENCE_TOL * largest)) break;
    [order[rank], order[pivot]] = [order[pivot], order[rank]];
    for (let t = 0; t < rank; t++) [l[rank * k + t], l[pivot * k + t]] = [l[pivot * k + t], l[rank * k + t]];
    const diagonal = Math.sqrt(residual[order[rank]]);
    l[rank * k + rank] = diagonal;
    for (let i = rank + 1; i < k; i++) {
      let s = a[offset + order[i] * k + order[rank]];
      for (let t = 0; t < rank; t++) s -= l[i * k + t] * l[rank * k + t];
      l[i * k + rank] = s / diagonal;
      residual[order[i]] -= l[i * k + rank] ** 2;
    }
  }
  // L·Lᵀ·x = r on the pivots taken
  for (let i = 0; i < rank; i++) {
    let s = rhs[order[i]];
    for (let t = 0; t < i; t++) s -= l[i * k + t] * x[t];
    x[i] = s / l[i * k + i];
  }
  for (let i = rank - 1; i >= 0; i--) {
    let s = x[i];
    for (let t = i + 1; t < rank; t++) s -= l[t * k + i] * x[t];
    x[i] = s / l[i * k + i];
  }
  for (let i = 0; i < rank; i++) c[order[i]] = x[i];
  return rank;
}

/** Each example's coefficients c_b = (G_bᵀG_b)⁺·jvp_b of the projection ĝ_b = G_b·c_b, as [K, B]. */
export function projectionCoefficients(seeds: Seeds, jvpPerGuess: Tensor): Tensor {
  const [guesses, batch] = jvpPerGuess.shape;
  const gram = jointGram(seeds, guesses, batch);
  const jvp = jvpPerGuess.toArray();
  const coefficients = new Float32Array(guesses * batch);
  const rhs = new Float64Array(guesses), c = new Float64Array(guesses), work = semidefiniteWork(guesses);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < guesses; k++) rhs[k] = jvp[k * batch + b];
    solveSemidefinite(gram, b * guesses * guesses, guesses, rhs, c, work);
    for (let k = 0; k < guesses; k++) coefficients[k * batch + b] = c[k];
  }
  return tensor(coefficients, [guesses, batch]);
}
