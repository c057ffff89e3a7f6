// Batched subspace tools for the W̃⊥ estimators: each example b has its own masked Gram
// M_b·G·M_b (G = WᵀW shared by the batch), and needs its top-k eigenvectors. Bases are stacks
// [B, d, k]; products with G are one batched gemm; orthonormalisation is CholeskyQR2 (two rounds of
// Q ← Q·R⁻¹ with RᵀR = QᵀQ; Fukaya et al. 2014), whose small k×k factorisations run per example.
import { mark, release } from "../arena.ts";
import { iterateUntil } from "./iterate.ts";
import { eigh, symmetrize } from "./decompositions.ts";
import { matmul, mul, reshape, sub, sum, transpose } from "../ops.ts";
import { copyInto, empty, leadingColumns, tensor, type Tensor } from "../tensor.ts";

/** R⁻¹ per example for the Cholesky factor of each k×k block of `gram`; dependent columns get 0. */
function inverseCholesky(gram: Float32Array, batch: number, k: number): Float32Array {
  const out = new Float32Array(batch * k * k);
  const r = new Float64Array(k * k);
  const inv = new Float64Array(k * k);
  for (let b = 0; b < batch; b++) {
    const c = b * k * k;
    let scale = 0;
    for (let i = 0; i < k; i++) scale = Math.max(scale, gram[c + i * k + i]);
    r.fill(0);
    // Upper-triangular R with RᵀR = C; a pivot below the noise level marks a dependent column.
    for (let j = 0; j < k; j++) {
      let diag = gram[c + j * k + j];
      for (let p = 0; p < j; p++) diag -= r[p * k + j] * r[p * k + j];
      if (!(diag > 1e-10 * scale)) continue;
      const rjj = Math.sqrt(diag);
      r[j * k + j] = rjj;
      for (let i = j + 1; i < k; i++) {
        let v = gram[c + j * k + i];
        for (let p = 0; p < j; p++) v -= r[p * k + j] * r[p * k + i];
        r[j * k + i] = v / rjj;
      }
    }
    // R⁻¹ by back substitution, column by column; zero where R has a zero pivot.
    inv.fill(0);
    for (let j = 0; j < k; j++) {
      if (r[j * k + j] === 0) continue;
      inv[j * k + j] = 1 / r[j * k + j];
      for (let i = j - 1; i >= 0; i--) {
        if (r[i * k + i] === 0) continue;
        let v = 0;
        for (let p = i + 1; p <= j; p++) v += r[i * k + p] * inv[p * k + j];
        inv[i * k + j] = -v / r[i * k + i];
      }
    }
    for (let i = 0; i < k * k; i++) out[c + i] = inv[i];
  }
  return out;
}

/**
 * Orthonormal columns spanning each example's basis (CholeskyQR2: two rounds; one suffices for a
 * basis that is already nearly orthonormal); dependent columns become zero.
 */
export function orthonormalize(q: Tensor, rounds = 2): Tensor {
  const [batch, , k] = q.shape;
  let x = q;
  for (let round = 0; round < rounds; round++) {
    const gram = matmul(x, x, { transA: true }).toArray();
    x = matmul(x, tensor(inverseCholesky(gram, batch, k), [batch, k, k]));
  }
  return x;
}

export interface MaskedTopK {
  /** [B, d, k]: orthonormal top-k eigenvectors of each M_b·G·M_b. */
  vectors: Tensor;
  iterations: number;
}

export interface MaskedTopKOptions {
  /** Eigenvectors wanted per example. */
  k: number;
  /** Ritz residual ‖M·G·M·u − λ·u‖ of the leading k pairs, relative to λ₁, at which iteration stops. */
  tol: number;
  /** Iteration cap; past it the call throws. */
  maxIter: number;
  /** A fixed number of refining iterations (warm starts), instead of the residual test. */
  iterations?: number;
}

/**
 * Top-k eigenvectors of M_b·G·M_b for every example by block subspace iteration with Rayleigh–Ritz,
 * from per-example starting bases `start` [B, d, w] (w ≥ k; masked here).
 */
export function maskedTopK(gram: Tensor, masks: Tensor, start: Tensor, options: MaskedTopKOptions): MaskedTopK {
  const { k, tol, maxIter, iterations: fixedIterations } = options;
  const [batch, d] = masks.shape;
  const width = start.shape[2];
  const maskColumn = reshape(masks, [batch, d, 1]);
  const result = empty([batch, d, k]);
  // The basis lives in one buffer across iterations; each iteration's scratch is released. A warm
  // start (an example's own basis, masked anew) is nearly orthonormal: one CholeskyQR round does.
  const q = orthonormalize(mul(start, maskColumn), fixedIterations !== undefined ? 1 : 2);
  const loop = mark();
  const iterations = iterateUntil(maxIter, (it) => {
    const z = mul(gramTimes(gram, q), maskColumn);
    const { values, vectors } = eigh(symmetrize(matmul(q, z, { transA: true })));
    const ritzVectors = matmul(q, vectors);
    // Residuals of the Ritz pairs: z·w − (q·w)·λ.
    const residualSquares = () => {
      const residual = sub(matmul(z, vectors), mul(ritzVectors, reshape(values, [batch, 1, width])));
      return sum(mul(residual, residual), 1).toArray();
    };
    const done = fixedIterations !== undefined ? it >= fixedIterations : residualsSmall(residualSquares(), values.toArray(), batch, width, k, tol);
    if (done) {
      copyInto(result, leadingColumns(ritzVectors, k));
      return it;
    }
    copyInto(q, orthonormalize(z));
    return null;
  }, () => `wperp: masked top-${k} subspace iteration did not reach residual tol = ${tol} within ${maxIter} iterations`);
  // The converged iteration's scratch too: only the basis and the result were made before the loop.
  release(loop);
  return { vectors: result, iterations };
}

/**
 * G·q_b for every basis of the stack, as one large product: (G·q_b)ᵀ = q_bᵀ·G for symmetric G, so
 * the transposed bases stacked as rows [B·k, d] meet G in a single gemm instead of B small ones.
 */
function gramTimes(gram: Tensor, q: Tensor): Tensor {
  const [batch, d, k] = q.shape;
  const rows = reshape(transpose(q), [batch * k, d]);
  return transpose(reshape(matmul(rows, gram), [batch, k, d]));
}

/** Every example's leading k residual norms at most tol·|λ₁| (examples with λ₁ = 0 have nothing to find). */
function residualsSmall(squares: Float32Array, values: Float32Array, batch: number, width: number, k: number, tol: number): boolean {
  for (let b = 0; b < batch; b++) {
    const bound = tol * Math.abs(values[b * width]);
    for (let i = 0; i < k; i++) if (Math.sqrt(squares[b * width + i]) > bound) return false;
  }
  return true;
}
