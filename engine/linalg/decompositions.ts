// Decompositions and orthogonalisation: svd, eigh, qr (f64 kernels inside, f32 tensors out),
// their top-k forms by block subspace iteration, and Newton–Schulz. Inputs are validated (rank,
// finite values) before any work; iterative methods take maxIter and throw on non-convergence.
import { engine } from "../backend.ts";
import { FwdgradError, fmt } from "../errors.ts";
import { tidy } from "../arena.ts";
import { iterateUntil } from "./iterate.ts";
import { add, matmul, mul, scale, sum, transpose } from "../ops.ts";
import { rng } from "../rng.ts";
import { assertLive, copyInto, empty, leadingColumns, tensor, Tensor, view } from "../tensor.ts";

const DEFAULT_MAX_ITER = 75;

/** Result of `svd`: a = u·diag(s)·vᵀ, s descending and non-negative. */
export interface SvdResult {
  /** Left singular vectors as columns, [m, r] ([m, m] with `full`, [m, k] for top-k); stacked for a stack. */
  u: Tensor;
  /** Singular values, descending, [r] (or [k]). */
  s: Tensor;
  /** Right singular vectors as columns, [n, r] ([n, n] with `full`, [n, k] for top-k). */
  v: Tensor;
  /** QR sweeps (full) or subspace iterations (top-k) used. */
  iterations: number;
}

/** Result of `eigh`: a·vectors[:, j] = values[j]·vectors[:, j], values descending. */
export interface EighResult {
  /** Eigenvalues, descending, [n] (or [k]); stacked for a stack. */
  values: Tensor;
  /** Eigenvectors as columns, [n, n] (or [n, k]). */
  vectors: Tensor;
  /** QL sweeps (full) or subspace iterations (top-k) used. */
  iterations: number;
}

/** Options of {@link svd} and {@link eigh} for computing only the leading k triplets or pairs. */
export interface TopKOptions {
  /** Only the leading k triplets/pairs: Lanczos for svd, block subspace iteration for eigh and warm starts. */
  k?: number;
  /** Extra basis columns beyond k that speed convergence. Default 10. */
  oversample?: number;
  /**
   * Convergence tolerance, relative to the largest value. Lanczos (svd without warmStart): every
   * leading triplet's residual bound |β·x| ≤ tol·σ₁. Subspace iteration (eigh, or svd with
   * warmStart): the leading k values change by at most tol·|λ₁| between iterations. Default 1e-5.
   */
  tol?: number;
  /** A starting basis (columns; e.g. the previous step's vectors) for slowly changing problems. */
  warmStart?: Tensor;
  /** Seed of the random starting basis. Default 0. */
  seed?: number;
}

/** Throws unless `a` is a live matrix or stack of matrices with finite entries and no tangents. */
function checkMatrices(op: string, a: Tensor, square = false): { batch: number; m: number; n: number } {
  assertLive(op, a);
  if (a.rank !== 2 && a.rank !== 3) throw new FwdgradError(`${op}: expects a matrix or a stack of matrices, got shape ${fmt(a.shape)}`);
  const [m, n] = a.shape.slice(-2);
  if (square && m !== n) throw new FwdgradError(`${op}: expects square matrices, got shape ${fmt(a.shape)}`);
  if (a.size === 0) throw new FwdgradError(`${op}: empty matrix ${fmt(a.shape)}`);
  if (a.dt) throw new FwdgradError(`${op}: forward-mode tangents through ${op} are not supported`);
  const f = engine().heap.f32();
  const start = a.ptr >>> 2;
  for (let i = 0; i < a.size; i++) {
    const x = f[start + i];
    if (!Number.isFinite(x)) throw new FwdgradError(`${op}: input ${fmt(a.shape)} has a non-finite value (${x}) at flat index ${i}`);
  }
  return { batch: a.rank === 3 ? a.shape[0] : 1, m, n };
}

/** Smallest normal f32: the tolerance's floor, so subnormal rounding noise in a tiny matrix passes. */
const SMALLEST_NORMAL_F32 = 2 ** -126;

/** Throws unless each n×n matrix of `a` has |a_ij − a_ji| ≤ 1e-5·max|a| + the smallest normal f32. */
function checkSymmetric(op: string, a: Tensor, batch: number, n: number): void {
  const f = engine().heap.f32();
  for (let b = 0; b < batch; b++) {
    const start = (a.ptr >>> 2) + b * n * n;
    let largest = 0;
    for (let i = 0; i < n * n; i++) largest = Math.max(largest, Math.abs(f[start + i]));
    let worst = 0, wi = 0, wj = 0;
    for (let i = 1; i < n; i++) {
      for (let j = 0; j < i; j++) {
        const gap = Math.abs(f[start + i * n + j] - f[start + j * n + i]);
        if (gap > worst) [worst, wi, wj] = [gap, i, j];
      }
    }
    if (worst > 1e-5 * largest + SMALLEST_NORMAL_F32) {
      const which = a.rank === 3 ? ` (matrix ${b})` : "";
      throw new FwdgradError(
        `${op}: input ${fmt(a.shape)} is not symmetric${which}: a[${wi}][${wj}] = ${f[start + wi * n + wj]} but a[${wj}][${wi}] = ${f[start + wj * n + wi]}, ` +
          `a gap above 1e-5·max|a| = ${1e-5 * largest}`,
      );
    }
  }
}

function checkCount(op: string, name: string, value: number | undefined, lo: number, hi = Infinity): void {
  if (value !== undefined && (!Number.isInteger(value) || value < lo || value > hi)) {
    throw new FwdgradError(`${op}: ${name} must be an integer in [${lo}, ${hi}], got ${value}`);
  }
}

function stacked(a: Tensor, shape: number[]): number[] {
  return a.rank === 3 ? [a.shape[0], ...shape] : shape;
}

/** Runs `fn(scratchPtr)` with `count` f64 of arena scratch, freed afterwards. */
function withScratch<R>(count: number, fn: (ptr: number) => R): R {
  const heap = engine().heap;
  const start = heap.mark();
  try {
    return fn(heap.alloc(count * 8).ptr);
  } finally {
    heap.release(start);
  }
}

/**
 * Singular value decomposition a = u·diag(s)·vᵀ of a matrix or a stack of matrices.
 * Thin by default (u m×r, v n×r, r = min(m, n)); `full` gives square u and v; `k` computes only the
 * leading k triplets, by Lanczos bidiagonalisation (default) or by block subspace iteration
 * (`method: "subspace"`, implied by `warmStart`), much faster than the full SVD for k ≪ min(m, n).
 * @throws {FwdgradError} when `a` is not a matrix or stack of matrices, `k` is not in [1, min(m, n)],
 * options conflict (`full` with `k`, `warmStart` with Lanczos, top-k on a stack), or the iteration
 * does not converge within `maxIter`.
 * @example
 * ```ts
 * const { u, s, v } = svd(a);          // Householder bidiagonalisation + Golub–Kahan QR, f64 inside
 * const top = svd(a, { k: 10 });       // leading 10 triplets
 * ```
 */
export function svd(a: Tensor, options: TopKOptions & { full?: boolean; maxIter?: number; method?: "lanczos" | "subspace" } = {}): SvdResult {
  const { batch, m, n } = checkMatrices("svd", a);
  const r = Math.min(m, n);
  checkCount("svd", "k", options.k, 1, r);
  checkCount("svd", "maxIter", options.maxIter, 1);
  if (options.k !== undefined) {
    if (a.rank !== 2) throw new FwdgradError(`svd: top-k needs a single matrix, got shape ${fmt(a.shape)}`);
    if (options.full) throw new FwdgradError("svd: `full` and `k` cannot be combined");
    const method = options.method ?? (options.warmStart ? "subspace" : "lanczos");
    if (method !== "lanczos" && method !== "subspace") throw new FwdgradError(`svd: method must be "lanczos" or "subspace", got ${String(method)}`);
    if (method === "lanczos" && options.warmStart) throw new FwdgradError("svd: warmStart needs method \"subspace\"");
    return method === "subspace" ? topKSvd(a, m, n, options.k, options) : lanczosSvd(a, m, n, options.k, options);
  }
  const maxIter = options.maxIter ?? DEFAULT_MAX_ITER;
  const full = options.full ?? false;
  const k = engine().k;
  // The kernel wants rows ≥ columns: decompose aᵀ = u'·s·v'ᵀ and swap for wide matrices.
  const wide = m < n;
  const [rows, cols] = wide ? [n, m] : [m, n];
  const nu = full ? rows : cols;
  const uk = empty(stacked(a, [rows, nu])), s = empty(stacked(a, [cols])), vk = empty(stacked(a, [cols, cols]));
  const status = withScratch(k.svd_scratch_f64(rows, cols, Number(full)) + (wide ? Math.ceil(a.size / 2) + 2 : 0), (scratch) => {
    let input = a.ptr;
    if (wide) {
      input = scratch;
      scratch += Math.ceil(a.size / 2) * 8 + 16;
      k.transpose_f32(input, a.ptr, batch, m, n);
    }
    return k.svd_f32(uk.ptr, s.ptr, vk.ptr, input, scratch, batch, rows, cols, Number(full), maxIter);
  });
  if (status < 0) throw new FwdgradError(`svd: Golub–Kahan QR did not converge within maxIter = ${maxIter} sweeps for ${fmt(a.shape)}`);
  return wide ? { u: vk, s, v: uk, iterations: status } : { u: uk, s, v: vk, iterations: status };
}

/**
 * Eigendecomposition of a symmetric matrix (or stack): values descending, vectors as columns.
 * `k` computes only the k largest by block subspace iteration (for positive semi-definite input,
 * such as Gram matrices, these are the largest in magnitude too). The full decomposition reads the
 * lower triangle (a[i][j], i ≥ j), top-k the whole matrix; a matrix with |a[i][j] − a[j][i]| above
 * 1e-5·max|a| is refused, naming the worst pair (f32 rounding of Gram products stays far below).
 * @throws {FwdgradError} when `a` is not a square matrix or stack of them, is not symmetric, `k` is
 * not in [1, n], or the iteration does not converge within `maxIter`.
 * @example
 * ```ts
 * const { values, vectors } = eigh(matmul(w, w, { transA: true }), { k: 10 });
 * ```
 */
export function eigh(a: Tensor, options: TopKOptions & { maxIter?: number } = {}): EighResult {
  const { batch, n } = checkMatrices("eigh", a, true);
  checkSymmetric("eigh", a, batch, n);
  checkCount("eigh", "k", options.k, 1, n);
  checkCount("eigh", "maxIter", options.maxIter, 1);
  if (options.k !== undefined) {
    if (a.rank !== 2) throw new FwdgradError(`eigh: top-k needs a single matrix, got shape ${fmt(a.shape)}`);
    return topKEigh(a, n, options.k, options);
  }
  const maxIter = options.maxIter ?? DEFAULT_MAX_ITER;
  const k = engine().k;
  const values = empty(stacked(a, [n])), vectors = empty(stacked(a, [n, n]));
  const status = withScratch(k.eigh_scratch_f64(n), (scratch) => k.eigh_f32(values.ptr, vectors.ptr, a.ptr, scratch, batch, n, maxIter));
  if (status < 0) throw new FwdgradError(`eigh: QL iteration did not converge within maxIter = ${maxIter} for ${fmt(a.shape)}`);
  return { values, vectors, iterations: status };
}

/**
 * Householder QR: a = q·r, q m×r with orthonormal columns, r r×n upper triangular, r = min(m, n).
 * Returns `{ q, r }` (stacked for a stack of matrices).
 * @throws {FwdgradError} when `a` is not a matrix or a stack of matrices.
 * @example
 * ```ts
 * const { q } = qr(rng(0).normal([512, 20])); // an orthonormal basis of 20 random directions
 * ```
 */
export function qr(a: Tensor): { q: Tensor; r: Tensor } {
  const { batch, m, n } = checkMatrices("qr", a);
  return qrUnchecked(a, batch, m, n);
}

function qrUnchecked(a: Tensor, batch: number, m: number, n: number): { q: Tensor; r: Tensor } {
  const k = engine().k;
  const kk = Math.min(m, n);
  const q = empty(stacked(a, [m, kk])), r = empty(stacked(a, [kk, n]));
  withScratch(k.qr_scratch_f64(m, n), (scratch) => k.qr_f32(q.ptr, r.ptr, a.ptr, scratch, batch, m, n));
  return { q, r };
}

/** An n×b starting basis: the warm start's columns, then seeded Gaussian columns; orthonormalised. */
function startBasis(op: string, n: number, b: number, options: TopKOptions): Tensor {
  const random = rng(options.seed ?? 0).normal([n, b]);
  const warm = options.warmStart;
  if (warm) {
    assertLive(op, warm);
    if (warm.rank !== 2 || warm.shape[0] !== n || warm.shape[1] > b) {
      throw new FwdgradError(`${op}: warmStart must be [${n}, ≤ ${b}], got ${fmt(warm.shape)}`);
    }
    const f = engine().heap.f32();
    const w = warm.shape[1];
    for (let i = 0; i < n; i++) f.copyWithin((random.ptr >>> 2) + i * b, (warm.ptr >>> 2) + i * w, (warm.ptr >>> 2) + (i + 1) * w);
  }
  return qrUnchecked(random, 1, n, b).q;
}

/** (t + tᵀ)/2 for a matrix or each of a stack: rounding must not make a Rayleigh quotient matrix unsymmetric. */
export function symmetrize(t: Tensor): Tensor {
  return scale(add(t, transpose(t)), 0.5);
}

function converged(prev: Float32Array | null, next: Float32Array, k: number, tol: number): boolean {
  if (!prev) return false;
  for (let i = 0; i < k; i++) if (Math.abs(next[i] - prev[i]) > tol * Math.abs(next[0])) return false;
  return true;
}

/**
 * Leading k singular triplets by block subspace iteration on (aᵀa) with Rayleigh–Ritz:
 * u = orth(a·v), aᵀ·u = q·r (QR), and the small SVD of r gives the Ritz triplets
 * (Halko, Martinsson & Tropp 2011, Alg. 4.4, with a convergence test instead of a fixed count).
 * Each iteration's scratch is released; the basis lives in one buffer.
 */
function topKSvd(a: Tensor, m: number, n: number, k: number, options: TopKOptions & { maxIter?: number }): SvdResult {
  const b = Math.min(Math.min(m, n), k + (options.oversample ?? 10));
  const tol = options.tol ?? 1e-5;
  const maxIter = options.maxIter ?? 200;
  return tidy(() => {
    const v = startBasis("svd", n, b, options);
    let prev: Float32Array | null = null;
    return iterateUntil(maxIter, (it) => {
      const u = qrUnchecked(matmul(a, v), 1, m, b).q;
      const { q, r } = qrUnchecked(matmul(a, u, { transA: true }), 1, n, b);
      const small = svd(r);
      const sv = small.s.toArray();
      if (converged(prev, sv, k, tol)) {
        // aᵀu = q·r = (q·ur)·s·vrᵀ, so a ≈ (u·vr)·s·(q·ur)ᵀ.
        return { u: matmul(u, leadingColumns(small.v, k)), s: leadingColumns(small.s, k), v: matmul(q, leadingColumns(small.u, k)), iterations: it };
      }
      prev = sv;
      copyInto(v, q);
      return null;
    }, () => `svd: top-${k} subspace iteration did not converge to tol = ${tol} within maxIter = ${maxIter} for ${fmt(a.shape)}`);
  });
}

/**
 * Leading k singular triplets by Golub–Kahan–Lanczos bidiagonalisation with full (twice classical
 * Gram–Schmidt) reorthogonalisation: a·P = U·B with B upper bidiagonal; the SVD of B gives Ritz
 * triplets whose residuals |β_j·x_i[j]| are the convergence test (Golub & Van Loan §10.4; Larsen's
 * PROPACK without its restarts). Matrix–vector products are the gemv kernel; maxIter caps the steps.
 */
function lanczosSvd(a: Tensor, m: number, n: number, k: number, options: TopKOptions & { maxIter?: number }): SvdResult {
  const r = Math.min(m, n);
  const tol = options.tol ?? 1e-5;
  if (options.maxIter !== undefined && options.maxIter < k) {
    throw new FwdgradError(`svd: maxIter (${options.maxIter}) must be at least k (${k}): each Lanczos step adds one basis vector`);
  }
  const steps = Math.min(r, options.maxIter ?? Math.max(10 * k, 300));
  return tidy(() => {
    const K = engine().k;
    const heap = engine().heap;
    const U = empty([steps, m]), P = empty([steps + 1, n]);
    const coef = empty([steps + 1]), tmp = empty([Math.max(m, n)]);
    const alpha = new Float64Array(steps), beta = new Float64Array(steps);
    const random = rng(options.seed ?? 0);
    const row = (basis: Tensor, len: number, j: number) => basis.ptr + j * len * 4;
    // Orthogonalise basis row j against rows [0, j) twice, then normalise; returns the norm before
    // normalising. A (numerically) zero vector is replaced by a fresh random direction and 0 returned.
    const orthonormalize = (basis: Tensor, len: number, j: number, scaleHint: number): number => {
      const v = row(basis, len, j);
      for (let pass = 0; pass < 2 && j > 0; pass++) {
        K.gemv_f32(coef.ptr, basis.ptr, v, j, len, 0);
        K.gemv_f32(tmp.ptr, basis.ptr, coef.ptr, j, len, 1);
        const f = heap.f32();
        for (let i = 0; i < len; i++) f[(v >>> 2) + i] -= f[(tmp.ptr >>> 2) + i];
      }
      let norm = Math.sqrt(sumSquares(v, len));
      if (norm <= 1e-6 * scaleHint || norm === 0) {
        if (j >= len) return 0;
        const fresh = random.normal([len]);
        heap.f32().copyWithin(v >>> 2, fresh.ptr >>> 2, (fresh.ptr >>> 2) + len);
        orthonormalize(basis, len, j, 0);
        return 0;
      }
      const f = heap.f32();
      for (let i = 0; i < len; i++) f[(v >>> 2) + i] /= norm;
      return norm;
    };
    const start = random.normal([n]);
    heap.f32().copyWithin(P.ptr >>> 2, start.ptr >>> 2, (start.ptr >>> 2) + n);
    orthonormalize(P, n, 0, 0);
    let largest = 0;
    // Ritz checks cost a dense SVD of the bidiagonal, so they come at geometrically spaced sizes.
    let nextCheck = Math.min(steps, Math.max(k + 8, Math.ceil(2.5 * k)));
    for (let j = 0; j < steps; j++) {
      const step = heap.mark();
      K.gemv_f32(row(U, m, j), a.ptr, row(P, n, j), m, n, 0);
      if (j > 0) axpyRow(row(U, m, j), -beta[j - 1], row(U, m, j - 1), m);
      alpha[j] = orthonormalize(U, m, j, largest);
      K.gemv_f32(row(P, n, j + 1), a.ptr, row(U, m, j), m, n, 1);
      axpyRow(row(P, n, j + 1), -alpha[j], row(P, n, j), n);
      beta[j] = j + 1 < n ? orthonormalize(P, n, j + 1, largest) : 0;
      largest = Math.max(largest, alpha[j], beta[j]);
      heap.release(step);
      const size = j + 1;
      if (size < nextCheck) continue;
      nextCheck = Math.min(steps, Math.ceil(size * 1.25));
      const b = new Float32Array(size * size);
      for (let i = 0; i < size; i++) {
        b[i * size + i] = alpha[i];
        if (i + 1 < size) b[i * size + i + 1] = beta[i];
      }
      const small = svd(tensor(b, [size, size]));
      const theta = small.s.toArray(), x = small.u.toArray();
      let done = size === r;
      if (!done) {
        done = true;
        for (let i = 0; i < k; i++) if (Math.abs(beta[j] * x[j * size + i]) > tol * theta[0]) done = false;
      }
      if (done) {
        const uRows = view(U, [steps, m]), pRows = view(P, [steps + 1, n]);
        const uUsed = size === steps ? uRows : leadingRows(uRows, size), pUsed = leadingRows(pRows, size);
        return {
          u: matmul(uUsed, leadingColumns(small.u, k), { transA: true }),
          s: leadingColumns(small.s, k),
          v: matmul(pUsed, leadingColumns(small.v, k), { transA: true }),
          iterations: size,
        };
      }
    }
    throw new FwdgradError(`svd: top-${k} Lanczos did not converge to tol = ${tol} within maxIter = ${steps} steps for ${fmt(a.shape)}`);
  });
}

/** Σ x² over the `len` f32 values at byte address `ptr`. */
export function sumSquares(ptr: number, len: number): number {
  const f = engine().heap.f32();
  let s = 0;
  for (let i = 0; i < len; i++) s += f[(ptr >>> 2) + i] * f[(ptr >>> 2) + i];
  return s;
}

function axpyRow(y: number, t: number, x: number, len: number): void {
  const f = engine().heap.f32();
  for (let i = 0; i < len; i++) f[(y >>> 2) + i] += t * f[(x >>> 2) + i];
}

/** First `rows` rows of a row-major matrix (a view: rows are contiguous). */
function leadingRows(x: Tensor, rows: number): Tensor {
  return view(x, [rows, x.shape[1]]);
}

/** Leading k eigenpairs by block subspace iteration with Rayleigh–Ritz on qᵀ·a·q. */
function topKEigh(a: Tensor, n: number, k: number, options: TopKOptions & { maxIter?: number }): EighResult {
  const b = Math.min(n, k + (options.oversample ?? 10));
  const tol = options.tol ?? 1e-5;
  const maxIter = options.maxIter ?? 200;
  return tidy(() => {
    const q = startBasis("eigh", n, b, options);
    let prev: Float32Array | null = null;
    return iterateUntil(maxIter, (it) => {
      const z = matmul(a, q);
      const t = matmul(q, z, { transA: true });
      const small = eigh(symmetrize(t));
      const values = small.values.toArray();
      if (converged(prev, values, k, tol)) {
        return { values: leadingColumns(small.values, k), vectors: matmul(q, leadingColumns(small.vectors, k)), iterations: it };
      }
      prev = values;
      copyInto(q, qrUnchecked(z, 1, n, b).q);
      return null;
    }, () => `eigh: top-${k} subspace iteration did not converge to tol = ${tol} within maxIter = ${maxIter} for ${fmt(a.shape)}`);
  });
}

/** Named Newton–Schulz polynomials: coefficients of x, x³, x⁵, … */
export const NEWTON_SCHULZ_PRESETS = {
  /** p(x) = 1.5x − 0.5x³: converges to the orthogonal polar factor. */
  cubic: [1.5, -0.5],
  /** Muon's quintic (Jordan et al. 2024): pushes singular values quickly into about [0.7, 1.2]. */
  muon: [3.4445, -4.775, 2.0315],
} as const;

/** Options of {@link newtonSchulz}: the polynomial (a preset or coefficients) and iteration counts. */
export interface NewtonSchulzOptions {
  /** A named polynomial of {@link NEWTON_SCHULZ_PRESETS}; default "cubic" unless `coeffs` is given. */
  preset?: keyof typeof NEWTON_SCHULZ_PRESETS;
  /** Odd polynomial coefficients [c1, c3, c5, c7] (up to degree 7), instead of a preset. */
  coeffs?: readonly number[];
  /** Times the polynomial is applied. Default 5. */
  steps?: number;
  /** Power iterations for the spectral norm. Default 30. */
  powerIters?: number;
}

/** Start vectors per matrix in the power iteration: one unlucky start (almost no weight on the top
 * singular vector) would converge to σ₂ and let the normalised σ₁ exceed 1; two independent starts
 * make that failure the product of two small probabilities. */
const POWER_STARTS = 2;

/** Largest singular value of each matrix of a [batch, m, n] stack by power iteration on aᵀa. */
function spectralNorms(a: Tensor, batch: number, m: number, n: number, iters: number): Float32Array {
  const heap = engine().heap;
  const flat = a.rank === 3 ? a : view(a, [1, m, n]);
  const c = POWER_STARTS;
  const v = rng(1).normal([batch, n, c]);
  const norms = new Float32Array(batch);
  for (let it = 0; it < iters; it++) {
    const step = heap.mark();
    const w = matmul(flat, matmul(flat, v), { transA: true });
    const lengths = sum(mul(w, w), 1).toArray();
    const f = heap.f32();
    for (let b = 0; b < batch; b++) {
      let best = 0;
      for (let j = 0; j < c; j++) {
        const length = Math.sqrt(lengths[b * c + j]);
        best = Math.max(best, length);
        for (let i = 0; i < n; i++) {
          const at = b * n * c + i * c + j;
          f[(v.ptr >>> 2) + at] = length > 0 ? f[(w.ptr >>> 2) + at] / length : 0;
        }
      }
      norms[b] = Math.sqrt(best);
    }
    heap.release(step);
  }
  return norms;
}

/**
 * Orthogonalises a matrix (or each of a stack) with an odd matrix polynomial: after dividing by the
 * spectral norm (power iteration), x ← c1·x + c3·x(xᵀx) + c5·x(xᵀx)² + c7·x(xᵀx)³, `steps` times.
 * Each singular value σ of the normalised input becomes p(p(…p(σ))). Built from matmul, scale and
 * add, so tangents pass through the polynomial (the normalising factor is treated as a constant).
 * @throws {FwdgradError} when `a` is not a matrix or stack, both or neither-valid `preset` and
 * `coeffs` are given, or the coefficients are not 1 to 4 finite numbers.
 * @example
 * ```ts
 * newtonSchulz(g, { preset: "muon", steps: 5 });          // Muon's orthogonalised update
 * newtonSchulz(g, { coeffs: [1.5, -0.5], steps: 20 });     // the polar factor, to f32 accuracy
 * ```
 */
export function newtonSchulz(a: Tensor, options: NewtonSchulzOptions = {}): Tensor {
  assertLive("newtonSchulz", a);
  if (a.rank !== 2 && a.rank !== 3) throw new FwdgradError(`newtonSchulz: expects a matrix or a stack of matrices, got shape ${fmt(a.shape)}`);
  if (options.preset !== undefined && options.coeffs !== undefined) throw new FwdgradError("newtonSchulz: give `preset` or `coeffs`, not both");
  if (options.preset !== undefined && !(options.preset in NEWTON_SCHULZ_PRESETS)) {
    throw new FwdgradError(`newtonSchulz: unknown preset "${options.preset}"; known: ${Object.keys(NEWTON_SCHULZ_PRESETS).join(", ")}`);
  }
  const coeffs = options.coeffs ?? NEWTON_SCHULZ_PRESETS[options.preset ?? "cubic"];
  if (!Array.isArray(coeffs) || coeffs.length < 1 || coeffs.length > 4 || coeffs.some((c) => typeof c !== "number" || !Number.isFinite(c))) {
    throw new FwdgradError(`newtonSchulz: coeffs must be 1 to 4 finite numbers (x, x³, x⁵, x⁷), got ${JSON.stringify(coeffs)}`);
  }
  checkCount("newtonSchulz", "steps", options.steps, 0);
  checkCount("newtonSchulz", "powerIters", options.powerIters, 1);
  const { batch, m, n } = checkMatrices("newtonSchulz", view(a, a.shape));
  const norms = tidy(() => spectralNorms(view(a, a.shape), batch, m, n, options.powerIters ?? 30));
  const inv = new Float32Array(batch).map((_, b) => (norms[b] > 0 ? 1 / norms[b] : 0));
  let x = a.rank === 3 ? mul(a, tensor(inv, [batch, 1, 1])) : scale(a, inv[0]);
  const tall = m >= n;
  for (let step = 0; step < (options.steps ?? 5); step++) {
    // Horner in the Gram matrix on the short side: x·p(xᵀx) for tall x, p(xxᵀ)·x for wide x.
    const gram = tall ? matmul(x, x, { transA: true }) : matmul(x, x, { transB: true });
    let acc = scale(x, coeffs[coeffs.length - 1]);
    for (let i = coeffs.length - 2; i >= 0; i--) acc = add(scale(x, coeffs[i]), tall ? matmul(acc, gram) : matmul(gram, acc));
    x = acc;
  }
  return x;
}

