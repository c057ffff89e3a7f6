// Decompositions and orthogonalisation: svd, eigh, qr (f64 kernels inside, f32 tensors out),
// their top-k forms by block subspace iteration, and Newton–Schulz. Inputs are validated (rank,
// finite values) before any work; iterative methods take maxIter and throw on non-convergence.
import { engine } from "./backend.ts";
import { FwdgradError, fmt } from "./errors.ts";
import { tidy } from "./arena.ts";
import { add, matmul, mul, scale, sum, transpose } from "./ops.ts";
import { rng } from "./rng.ts";
import { assertLive, empty, Tensor, view } from "./tensor.ts";

const DEFAULT_MAX_ITER = 75;

/** Result of `svd`: a = u·diag(s)·vᵀ, s descending and non-negative. */
export interface SvdResult {
  u: Tensor;
  s: Tensor;
  v: Tensor;
  /** QR sweeps (full) or subspace iterations (top-k) used. */
  iterations: number;
}

/** Result of `eigh`: a·vectors[:, j] = values[j]·vectors[:, j], values descending. */
export interface EighResult {
  values: Tensor;
  vectors: Tensor;
  iterations: number;
}

export interface TopKOptions {
  /** Only the leading k triplets/pairs, by block subspace iteration. */
  k?: number;
  /** Extra basis columns beyond k that speed convergence. Default 10. */
  oversample?: number;
  /** Relative change of the leading k values at which iteration stops. Default 1e-6. */
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
 * leading k triplets by block subspace iteration (much faster for k ≪ min(m, n)).
 * @example
 * ```ts
 * const { u, s, v } = svd(a);          // Householder bidiagonalisation + Golub–Kahan QR, f64 inside
 * const top = svd(a, { k: 10 });       // leading 10 triplets
 * ```
 */
export function svd(a: Tensor, options: TopKOptions & { full?: boolean; maxIter?: number } = {}): SvdResult {
  const { batch, m, n } = checkMatrices("svd", a);
  const r = Math.min(m, n);
  checkCount("svd", "k", options.k, 1, r);
  checkCount("svd", "maxIter", options.maxIter, 1);
  if (options.k !== undefined) {
    if (a.rank !== 2) throw new FwdgradError(`svd: top-k needs a single matrix, got shape ${fmt(a.shape)}`);
    if (options.full) throw new FwdgradError("svd: `full` and `k` cannot be combined");
    return topKSvd(a, m, n, options.k, options);
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
 * such as Gram matrices, these are the largest in magnitude too).
 * @example
 * ```ts
 * const { values, vectors } = eigh(matmul(w, w, { transA: true }), { k: 10 });
 * ```
 */
export function eigh(a: Tensor, options: TopKOptions & { maxIter?: number } = {}): EighResult {
  const { batch, n } = checkMatrices("eigh", a, true);
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

function converged(prev: Float32Array | null, next: Float32Array, k: number, tol: number): boolean {
  if (!prev) return false;
  for (let i = 0; i < k; i++) if (Math.abs(next[i] - prev[i]) > tol * Math.abs(next[0])) return false;
  return true;
}

/** First `k` columns of a row-major matrix. */
function leadingColumns(x: Tensor, k: number): Tensor {
  const [rows, cols] = x.shape;
  const out = empty([rows, k]);
  const f = engine().heap.f32();
  for (let i = 0; i < rows; i++) f.copyWithin((out.ptr >>> 2) + i * k, (x.ptr >>> 2) + i * cols, (x.ptr >>> 2) + i * cols + k);
  return out;
}

function leading(x: Tensor, k: number): Tensor {
  const out = empty([k]);
  engine().heap.f32().copyWithin(out.ptr >>> 2, x.ptr >>> 2, (x.ptr >>> 2) + k);
  return out;
}

/** Copies `src`'s values into `dst` (same size), so a loop can keep its state in one buffer. */
function assign(dst: Tensor, src: Tensor): void {
  engine().heap.f32().copyWithin(dst.ptr >>> 2, src.ptr >>> 2, (src.ptr >>> 2) + src.size);
}

/**
 * Leading k singular triplets by block subspace iteration on (aᵀa) with Rayleigh–Ritz:
 * u = orth(a·v), aᵀ·u = q·r (QR), and the small SVD of r gives the Ritz triplets
 * (Halko, Martinsson & Tropp 2011, Alg. 4.4, with a convergence test instead of a fixed count).
 * Each iteration's scratch is released; the basis lives in one buffer.
 */
function topKSvd(a: Tensor, m: number, n: number, k: number, options: TopKOptions & { maxIter?: number }): SvdResult {
  const b = Math.min(Math.min(m, n), k + (options.oversample ?? 10));
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 200;
  return tidy(() => {
    const v = startBasis("svd", n, b, options);
    let prev: Float32Array | null = null;
    for (let it = 1; it <= maxIter; it++) {
      const heap = engine().heap;
      const step = heap.mark();
      const u = qrUnchecked(matmul(a, v), 1, m, b).q;
      const { q, r } = qrUnchecked(matmul(a, u, { transA: true }), 1, n, b);
      const small = svd(r);
      const sv = small.s.toArray();
      if (converged(prev, sv, k, tol)) {
        // aᵀu = q·r = (q·ur)·s·vrᵀ, so a ≈ (u·vr)·s·(q·ur)ᵀ.
        return { u: matmul(u, leadingColumns(small.v, k)), s: leading(small.s, k), v: matmul(q, leadingColumns(small.u, k)), iterations: it };
      }
      prev = sv;
      assign(v, q);
      heap.release(step);
    }
    throw new FwdgradError(`svd: top-${k} subspace iteration did not converge to tol = ${tol} within maxIter = ${maxIter} for ${fmt(a.shape)}`);
  });
}

/** Leading k eigenpairs by block subspace iteration with Rayleigh–Ritz on qᵀ·a·q. */
function topKEigh(a: Tensor, n: number, k: number, options: TopKOptions & { maxIter?: number }): EighResult {
  const b = Math.min(n, k + (options.oversample ?? 10));
  const tol = options.tol ?? 1e-6;
  const maxIter = options.maxIter ?? 200;
  return tidy(() => {
    const q = startBasis("eigh", n, b, options);
    let prev: Float32Array | null = null;
    for (let it = 1; it <= maxIter; it++) {
      const heap = engine().heap;
      const step = heap.mark();
      const z = matmul(a, q);
      const t = matmul(q, z, { transA: true });
      // (t + tᵀ)/2: rounding must not make the small Rayleigh quotient matrix unsymmetric.
      const small = eigh(scale(add(t, transpose(t)), 0.5));
      const values = small.values.toArray();
      if (converged(prev, values, k, tol)) {
        return { values: leading(small.values, k), vectors: matmul(q, leadingColumns(small.vectors, k)), iterations: it };
      }
      prev = values;
      assign(q, qrUnchecked(z, 1, n, b).q);
      heap.release(step);
    }
    throw new FwdgradError(`eigh: top-${k} subspace iteration did not converge to tol = ${tol} within maxIter = ${maxIter} for ${fmt(a.shape)}`);
  });
}

/** Named Newton–Schulz polynomials: coefficients of x, x³, x⁵, … */
export const NEWTON_SCHULZ_PRESETS = {
  /** p(x) = 1.5x − 0.5x³: converges to the orthogonal polar factor. */
  cubic: [1.5, -0.5],
  /** Muon's quintic (Jordan et al. 2024): pushes singular values quickly into about [0.7, 1.2]. */
  muon: [3.4445, -4.775, 2.0315],
} as const;

export interface NewtonSchulzOptions {
  preset?: keyof typeof NEWTON_SCHULZ_PRESETS;
  /** Odd polynomial coefficients [c1, c3, c5, c7] (up to degree 7), instead of a preset. */
  coeffs?: readonly number[];
  /** Times the polynomial is applied. Default 5. */
  steps?: number;
  /** Power iterations for the spectral norm. Default 30. */
  powerIters?: number;
}

/** Largest singular value of each matrix of a [batch, m, n] stack by power iteration on aᵀa. */
function spectralNorms(a: Tensor, batch: number, m: number, n: number, iters: number): Float32Array {
  const heap = engine().heap;
  const flat = a.rank === 3 ? a : view(a, [1, m, n]);
  const v = rng(1).normal([batch, n, 1]);
  const norms = new Float32Array(batch);
  for (let it = 0; it < iters; it++) {
    const step = heap.mark();
    const w = matmul(flat, matmul(flat, v), { transA: true });
    const lengths = sum(mul(w, w), 1).toArray();
    const f = heap.f32();
    for (let b = 0; b < batch; b++) {
      const length = Math.sqrt(lengths[b]);
      norms[b] = Math.sqrt(length);
      for (let i = 0; i < n; i++) f[(v.ptr >>> 2) + b * n + i] = length > 0 ? f[(w.ptr >>> 2) + b * n + i] / length : 0;
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
  let x = a.rank === 3 ? mul(a, tensorOf(inv, [batch, 1, 1])) : scale(a, inv[0]);
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

function tensorOf(values: Float32Array, shape: number[]): Tensor {
  const t = empty(shape);
  engine().heap.f32().set(values, t.ptr >>> 2);
  return t;
}
