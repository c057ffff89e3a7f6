// Batched top-k eigenvectors of every example's masked Gram A_b = M_b·G·M_b (G = WᵀW shared by the
// batch) for the W̃⊥ estimators. maskedLanczos finds them from scratch; maskedTopK refines and
// certifies them by LOBPCG (Knyazev 2001): each example keeps a block X of w ≥ k Ritz
// vectors; its residuals R = A·X − X·Λ and the previous update P span, with X, the space of the next
// Rayleigh–Ritz step. LOBPCG is the usual tracker for slowly moving eigenproblems: from a start
// near the answer (the example's block from its previous visit) one or two steps pass the test.
// Blocks are stored as rows [B, w, d], and each example's product with G touches only its active
// units (maskedProducts: a² of the d² multiply-adds for a active units); orthonormalisation is
// CholeskyQR (Fukaya et al. 2014). An example stops as soon as its leading k residuals pass the test
// and the others go on as a smaller batch: cost follows need. The heap side (the products, row dots
// and Lanczos bases) is the engine's, engine/linalg/masked.ts; the solvers' logic is here.
import { mark, release, tidy } from "../../engine/arena.ts";
import { rng } from "../../engine/rng.ts";
import { tridiagonalTop } from "../../engine/linalg/tridiagonal.ts";
import { FwdgradError } from "../../engine/errors.ts";
import { eigh } from "../../engine/linalg/decompositions.ts";
import { LanczosBases, rowDots } from "../../engine/linalg/masked.ts";
import type { GramOperator } from "./gram.ts";
import { assignAt } from "../../engine/inplace.ts";
import { gatherRows, matmul, max, mul, neg, reshape, sub, sum, transpose, add } from "../../engine/ops.ts";
import { empty, leadingColumns, prefix, tensor, type Tensor } from "../../engine/tensor.ts";

/**
 * R⁻ᵀ per example for the Cholesky factor of each k×k block of `gram`, taken after scaling the rows
 * to unit length (D·C·D, D = diag(C)^{-1/2}; R⁻¹ then includes D): a row whose component outside the
 * previous rows' span is below 1 % of its length is dependent at f32's resolution and gets 0, as
 * does a zero row.
 */
function inverseCholesky(gram: Float32Array, batch: number, k: number): Float32Array {
  const out = new Float32Array(batch * k * k);
  const r = new Float64Array(k * k);
  const inv = new Float64Array(k * k);
  const scale = new Float64Array(k);
  for (let b = 0; b < batch; b++) {
    const c = b * k * k;
    // Rows of squared length below 1e-30 (underflow territory) count as zero.
    for (let i = 0; i < k; i++) scale[i] = gram[c + i * k + i] > 1e-30 ? 1 / Math.sqrt(gram[c + i * k + i]) : 0;
    const entry = (i: number, j: number) => gram[c + i * k + j] * scale[i] * scale[j];
    r.fill(0);
    for (let j = 0; j < k; j++) {
      let diag = entry(j, j);
      for (let p = 0; p < j; p++) diag -= r[p * k + j] * r[p * k + j];
      if (!(diag > 1e-4)) continue;
      const rjj = Math.sqrt(diag);
      r[j * k + j] = rjj;
      for (let i = j + 1; i < k; i++) {
        let v = entry(j, i);
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
    // Transposed, so that the caller's product needs no transposed operand (the slow gemm packing).
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[c + j * k + i] = scale[i] * inv[i * k + j];
  }
  return out;
}

/**
 * Orthonormal rows spanning each example's rows ([B, c, d]), by `rounds` rounds of CholeskyQR
 * (two make it stable: CholeskyQR2); dependent rows become zero.
 */
export function orthonormalRows(x: Tensor, rounds = 2): Tensor {
  let y = x;
  for (let round = 0; round < rounds; round++) y = choleskyQrRound(y, rowDots(y, y).toArray());
  return y;
}

/** One CholeskyQR round on rows y [B, c, d] whose Gram y·yᵀ is `gram`. */
function choleskyQrRound(y: Tensor, gram: Float32Array): Tensor {
  const [batch, c] = y.shape;
  return matmul(tensor(inverseCholesky(gram, batch, c), [batch, c, c]), y);
}

/** s − (s·xᵀ)·x per example: s's rows with the span of x's orthonormal rows taken out. */
function projectOut(s: Tensor, x: Tensor): Tensor {
  return sub(s, matmul(rowDots(s, x), x));
}

/**
 * Per row of a stack [B, c, d], the power of two that brings the row's largest |entry| into [1, 2)
 * (1 for a zero row), as [B, c, 1]. Rows this small (an example whose masked Gram is 1e-23 of
 * another's) square to f32 zero; scaled by a power of two, which is exact, they keep their norms.
 */
function rowScales(s: Tensor): Tensor {
  const top = max(s, 2).toArray();
  const bottom = max(neg(s), 2).toArray();
  const scales = new Float32Array(top.length);
  for (let i = 0; i < top.length; i++) {
    const m = Math.max(top[i], bottom[i]);
    scales[i] = m > 0 && Number.isFinite(m) ? 2 ** Math.max(-126, Math.min(127, -Math.floor(Math.log2(m)))) : 1;
  }
  return tensor(scales, [s.shape[0], s.shape[1], 1]);
}

// Squared row norms below this are near f32's underflow: their rows are rescaled first.
const TINY_SQUARE = 2 ** -100;

/**
 * The squared norms of s's rows [B, c, d] and the rows they were computed from: s itself, or, when
 * a row is small enough to square near zero, s with every row scaled by `rowScales` (its `scales`).
 * Ordinary rows take one pass; the scaling is exact, so it changes no bits.
 */
function rowSquares(s: Tensor): { rows: Tensor; squares: Float32Array; scales: Float32Array | null } {
  const squares = sum(mul(s, s), 2).toArray();
  if (!squares.some((q) => q < TINY_SQUARE)) return { rows: s, squares, scales: null };
  const scales = rowScales(s);
  const rows = mul(s, scales);
  return { rows, squares: sum(mul(rows, rows), 2).toArray(), scales: scales.toArray() };
}

/**
 * Orthonormal rows spanning the part of s's rows outside the span of `bases` (orthonormal rows
 * each). A row that loses all but 0.1 % of its length to the projection is left out: what remains
 * of it is rounding. Projected twice, as in classical Gram–Schmidt with reorthogonalisation: once
 * is not enough near convergence, where rounding is a large part of small residuals.
 */
function complement(s: Tensor, bases: Tensor[]): Tensor {
  const [batch, c] = s.shape;
  const { rows, squares: before } = rowSquares(s);
  let y = rows;
  for (const x of bases) y = projectOut(y, x);
  const after = sum(mul(y, y), 2).toArray();
  const keep = new Float32Array(batch * c);
  for (let i = 0; i < keep.length; i++) keep[i] = after[i] > 1e-6 * before[i] ? 1 : 0;
  y = orthonormalRows(mul(y, tensor(keep, [batch, c, 1])), 1);
  for (const x of bases) y = projectOut(y, x);
  return orthonormalRows(y, 1);
}

export interface MaskedTopKOptions {
  /** Eigenvectors wanted per example (the leading k of the block). */
  k: number;
  /** Residual test: ‖A·u − λ·u‖ ≤ tol·λ₁ for each of the leading k Ritz pairs of an example. */
  tol: number;
  /** Iteration cap; past it the call throws. */
  maxIter: number;
  /** Rows [w, d] that replace a start's rows lost to the mask (dependent once masked); asked for only then. */
  fallback?: () => Tensor;
}

export interface MaskedTopK {
  /** [B, d, k]: orthonormal top-k eigenvectors of each A_b (zero columns past A_b's rank). */
  vectors: Tensor;
  /** Every example's whole block of w Ritz vectors, rows [B, w, d]: the next visit's start. */
  block: Float32Array;
  /** The block's Ritz values [B, w], descending per example: the eigenvalues of A_b (σ² of W̃_b). */
  values: Float32Array;
  /** LOBPCG steps of the slowest example (0: the start's Rayleigh–Ritz step passed). */
  iterations: number;
  /** Vectors multiplied by G, summed over the examples: the work done. */
  products: number;
}

/**
 * Top-k eigenvectors of A_b = M_b·G·M_b for every example b by LOBPCG, from the starting blocks
 * `start` [B, w, d] (w ≥ k rows each, masked here). Throws when an example has not passed the
 * residual test after `maxIter` steps.
 */
export function maskedTopK(gram: GramOperator, masks: Tensor, start: Tensor, options: MaskedTopKOptions): MaskedTopK {
  const { k, tol, maxIter, fallback } = options;
  const [batch, d] = masks.shape;
  const w = start.shape[1];
  if (start.rank !== 3 || start.shape[0] !== batch || start.shape[2] !== d || w < k) {
    throw new FwdgradError(`maskedTopK: start must be [${batch}, ≥ ${k}, ${d}], got [${start.shape.join(", ")}]`);
  }
  const vectors = new Float32Array(batch * k * d);
  const block = new Float32Array(batch * w * d);
  const values = new Float32Array(batch * w);
  // The state carried between steps lives in buffers made before the loop, its live examples at
  // their front; each step's scratch is released once the new state is copied in.
  const outer = mark();
  const carried = { masks: empty([batch, d]), x: empty([batch, w, d]), ax: empty([batch, w, d]), p: empty([batch, w, d]) };
  const front = (t: Tensor, a: number) => prefix(t, [a, ...t.shape.slice(1)]);
  const times = (rows: Tensor, m: Tensor): Tensor => gram.masked(rows, m);
  let products = batch * w;
  let rows = Int32Array.from({ length: batch }, (_, b) => b);
  let hasP = false;
  let scope = mark();
  const x0 = startingBlock(start, masks, fallback);
  let lambda = carry(rayleighRitz([x0], [times(x0, masks)], w), masks);
  let iterations = 0;

  /** Copies a Rayleigh–Ritz result into the carried buffers, frees the step's scratch; returns its values. */
  function carry(next: { x: Tensor; ax: Tensor; lambda: Float32Array; p: Tensor | null }, m: Tensor): Float32Array {
    assignAt(carried.x, next.x, 0);
    assignAt(carried.ax, next.ax, 0);
    assignAt(carried.masks, m, 0);
    if (next.p) assignAt(carried.p, next.p, 0);
    hasP = next.p !== null;
    release(scope);
    scope = mark();
    return next.lambda;
  }

  for (let it = 0; ; it++) {
    const active = rows.length;
    const x = front(carried.x, active), ax = front(carried.ax, active), m = front(carried.masks, active);
    const residual = sub(ax, mul(x, tensor(lambda, [active, w, 1])));
    const { squares, scales } = rowSquares(residual);
    const keep: number[] = [];
    const done: number[] = [];
    for (let b = 0; b < active; b++) {
      let passed = true;
      const bound = tol * Math.max(lambda[b * w], 0);
      for (let i = 0; i < k && passed; i++) passed = Math.sqrt(squares[b * w + i]) <= bound * (scales ? scales[b * w + i] : 1);
      (passed ? done : keep).push(b);
    }
    if (done.length > 0) {
      const finished = done.length === active ? x.toArray() : gatherRows(reshape(x, [active, w * d]), done).toArray();
      done.forEach((b, j) => {
        block.set(finished.subarray(j * w * d, (j + 1) * w * d), rows[b] * w * d);
        vectors.set(finished.subarray(j * w * d, j * w * d + k * d), rows[b] * k * d);
        values.set(lambda.subarray(b * w, (b + 1) * w), rows[b] * w);
      });
    }
    if (keep.length === 0) break;
    if (it === maxIter) {
      release(outer);
      throw new FwdgradError(`maskedTopK: ${keep.length} of ${batch} examples did not reach residual tol = ${tol} within maxIter = ${maxIter} LOBPCG steps`);
    }
    iterations = it + 1;
    const pick = (t: Tensor) => (keep.length === active ? t : reshape(gatherRows(reshape(t, [active, t.size / active]), keep), [keep.length, ...t.shape.slice(1)]));
    const live = { x: pick(x), ax: pick(ax), r: pick(residual), m: pick(m), p: hasP ? pick(front(carried.p, active)) : null };
    // LOBPCG's space: X, the residuals and the previous direction P, made orthonormal explicitly
    // and their images multiplied afresh: in f32, images carried as combinations drift from A·P,
    // and a Rayleigh–Ritz step on a merely linearly independent basis breaks down once residuals
    // near rounding (Hetmaniuk & Lehoucq 2006 on LOBPCG's basis selection).
    const r = complement(live.r, [live.x]);
    const blocks = [live.x, r];
    const images = [live.ax, times(r, live.m)];
    products += keep.length * w;
    if (live.p) {
      const p = complement(live.p, [live.x, r]);
      blocks.push(p);
      images.push(times(p, live.m));
      products += keep.length * w;
    }
    rows = Int32Array.from(keep, (b) => rows[b]);
    lambda = carry(rayleighRitz(blocks, images, w), live.m);
  }
  release(outer);
  const out = transpose(tensor(vectors, [batch, k, d]));
  return { vectors: out, block, values, iterations, products };
}

/** The start masked and orthonormalised; rows lost to the mask are replaced by the fallback's. */
function startingBlock(start: Tensor, masks: Tensor, fallback: (() => Tensor) | undefined): Tensor {
  const [batch, w, d] = start.shape;
  const maskRows = reshape(masks, [batch, 1, d]);
  const masked = mul(start, maskRows);
  // One CholeskyQR round leaves an error of about ε·κ²: enough for blocks the mask barely disturbed
  // (a warm start is orthonormal before masking); a second round for the others.
  const gram = rowDots(masked, masked).toArray();
  let worst = 0;
  for (let b = 0; b < batch; b++) for (let i = 0; i < w; i++) for (let j = 0; j < w; j++) worst = Math.max(worst, Math.abs(gram[(b * w + i) * w + j] - (i === j ? 1 : 0)));
  let x = choleskyQrRound(masked, gram);
  if (worst <= 1e-2) return x;
  x = orthonormalRows(x, 1);
  if (!fallback) return x;
  const lengths = sum(mul(x, x), 2).toArray();
  if (lengths.every((l) => l > 0)) return x;
  const values = x.toArray();
  const spare = fallback().toArray();
  lengths.forEach((l, at) => {
    if (!(l > 0)) values.set(spare.subarray((at % w) * d, (at % w + 1) * d), at * d);
  });
  return orthonormalRows(mul(tensor(values, [batch, w, d]), maskRows));
}

/**
 * The Rayleigh–Ritz step on the span of `blocks` (orthonormal rows together, each [a, w, d]) given
 * their images A·block: the top w eigenvectors C of H = K·A·Kᵀ (K = [blocks]) give X = Cᵀ·K and
 * A·X = Cᵀ·A·K; P is the part of X from the blocks after the first (LOBPCG's implicit direction).
 */
function rayleighRitz(blocks: Tensor[], images: Tensor[], w: number): { x: Tensor; ax: Tensor; lambda: Float32Array; p: Tensor | null } {
  const a = blocks[0].shape[0];
  const count = blocks.length;
  const n = count * w;
  const h = new Float32Array(a * n * n);
  for (let i = 0; i < count; i++) {
    for (let j = i; j < count; j++) {
      const part = rowDots(blocks[i], images[j]).toArray();
      for (let b = 0; b < a; b++) {
        const at = b * n * n;
        for (let r = 0; r < w; r++) {
          for (let c = 0; c < w; c++) {
            const v = part[(b * w + r) * w + c];
            const row = i * w + r, col = j * w + c;
            // Exactly symmetric: the two rounded triangles of a diagonal block are averaged.
            h[at + row * n + col] = i === j && c < r ? 0.5 * (h[at + row * n + col] + v) : v;
            h[at + col * n + row] = h[at + row * n + col];
          }
        }
      }
    }
  }
  const { values, vectors } = eigh(tensor(h, [a, n, n]));
  const allValues = values.toArray();
  const coefficients = leadingColumns(vectors, w).toArray();
  const lambda = new Float32Array(a * w);
  for (let b = 0; b < a; b++) lambda.set(allValues.subarray(b * n, b * n + w), b * w);
  const block = (i: number): Tensor => tensor(sliceRows(coefficients, a, n, w, i), [a, w, w]);
  const combine = (parts: Tensor[], from: number): Tensor | null => {
    let out: Tensor | null = null;
    for (let i = from; i < count; i++) {
      const term = matmul(block(i), parts[i]);
      out = out ? add(out, term) : term;
    }
    return out;
  };
  const p = combine(blocks, 1);
  const ap = combine(images, 1);
  const own = block(0);
  const x = matmul(own, blocks[0]);
  const ax = matmul(own, images[0]);
  return { x: p ? add(x, p) : x, ax: ap ? add(ax, ap) : ax, lambda, p };
}

/**
 * Rows i·w … (i+1)·w − 1 of each example's n×w coefficient matrix, transposed: [a, w, w] (so the
 * combination Cᵢᵀ·block is a plain product).
 */
function sliceRows(c: Float32Array, a: number, n: number, w: number, i: number): Float32Array {
  const out = new Float32Array(a * w * w);
  for (let b = 0; b < a; b++) {
    for (let r = 0; r < w; r++) for (let col = 0; col < w; col++) out[(b * w + col) * w + r] = c[b * n * w + (i * w + r) * w + col];
  }
  return out;
}

export interface MaskedLanczosOptions {
  /** Ritz pairs whose residuals must pass the test. */
  k: number;
  /** Ritz vectors returned per example (w ≥ k). */
  w: number;
  /** Test on the Lanczos residual estimates |β_j·s_j| ≤ tol·θ₁ of the leading k pairs. */
  tol: number;
  /** Lanczos steps at most per example (each one basis vector); reaching it throws. */
  maxSteps: number;
  /** Seed of the starting vectors. */
  seed: number;
  /** Floats of Krylov bases reserved at once; examples beyond run in a later group. Default 2^28 (1 GiB). */
  basisFloats?: number;
}

/** Floats of Lanczos bases reserved at once (1 GiB): examples beyond it run in a later group. */
export const LANCZOS_BASIS_FLOATS = 2 ** 28;

/**
 * The top w Ritz vectors of every A_b = M_b·G·M_b, as rows [B, w, d], by Lanczos with full
 * reorthogonalisation (Golub & Van Loan §10.1) run on each example's active units only. A single
 * starting vector makes Krylov methods converge at the square root of block iteration's rate on
 * clustered spectra; the products with G of all examples are still one gemm per step, while the
 * reorthogonalisation against the example's own basis (LanczosBases, engine/linalg/masked.ts) and
 * the tridiagonal eigenproblem (tridiagonal.ts) are per example. An example stops when its
 * estimates pass or its Krylov space is its whole active space (then the pairs are exact). Like any
 * single-vector Krylov method it sees one vector of a repeated eigenvalue's eigenspace; ties do not
 * occur in float data.
 */
export function maskedLanczos(gram: GramOperator, masks: Tensor, options: MaskedLanczosOptions): Tensor {
  const { k, w, tol, maxSteps, seed } = options;
  const basisFloats = options.basisFloats ?? LANCZOS_BASIS_FLOATS;
  const [batch, d] = masks.shape;
  const maskValues = masks.toArray();
  const active: Int32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const units: number[] = [];
    for (let u = 0; u < d; u++) if (maskValues[b * d + u] !== 0) units.push(u);
    active.push(Int32Array.from(units));
  }
  const steps = active.map((units) => Math.min(units.length, maxSteps));
  // Each example's Krylov basis is reserved whole ((steps + 1) × active floats); examples run in
  // consecutive groups whose bases fit `basisFloats`, so wide layers do not exhaust the heap.
  // One group (any batch of 512 up to width 512) runs exactly as the whole batch at once.
  const groups: number[][] = [[]];
  let reserved = 0;
  for (let b = 0; b < batch; b++) {
    const floats = (steps[b] + 1) * active[b].length;
    if (groups[groups.length - 1].length > 0 && reserved + floats > basisFloats) {
      groups.push([]);
      reserved = 0;
    }
    groups[groups.length - 1].push(b);
    reserved += floats;
  }
  const result = new Float32Array(batch * w * d);
  const starts = rng(seed).normal([batch, d]).toArray();
  const restarts = rng(seed + 1);
  const alpha = active.map((_, b) => new Float64Array(steps[b])), beta = active.map((_, b) => new Float64Array(steps[b]));
  const scale = new Float64Array(batch);
  // Checks cost a tridiagonal eigensolve: the first when the Krylov space is three blocks wide,
  // then at sizes growing by a fifth.
  const nextCheck = new Int32Array(batch).fill(Math.max(2 * k, 3 * w));
  // Each example's Ritz values at its last check: lower bounds for the next (interlacing).
  const lastValues: (Float64Array | undefined)[] = new Array(batch);
  for (const members of groups) {
    tidy(() => {
      const bases = new LanczosBases(d, active, steps, members);
      let live: number[] = [];
      for (const b of members) {
        const n = active[b].length;
        if (n === 0) continue;
        let length = 0;
        for (let i = 0; i < n; i++) length += starts[b * d + active[b][i]] ** 2;
        length = Math.sqrt(length);
        bases.set(b, 0, Float64Array.from(active[b], (u) => starts[b * d + u] / length));
        live.push(b);
      }
      for (let j = 0; live.length > 0; j++) {
        const step = mark();
        // One gemm for every live example: their current vectors scattered to full rows, times G.
        const images = gram.times(bases.rows(live, j)).toArray();
        const stillLive: number[] = [];
        live.forEach((b, r) => {
          const n = active[b].length;
          let { alpha: a, length } = bases.extend(b, j, images, r * d, j > 0 ? beta[b][j - 1] : 0);
          alpha[b][j] = a;
          const size = j + 1;
          scale[b] = Math.max(scale[b], Math.abs(a));
          const exhausted = size === n;
          if (!exhausted && !(length > 1e-6 * scale[b])) {
            // An invariant subspace: the Krylov space continues from a fresh direction (β = 0).
            bases.restart(b, j, restarts.normal([n]).toArray());
            length = 0;
          }
          beta[b][j] = exhausted ? 0 : length;
          scale[b] = Math.max(scale[b], length);
          if (!exhausted) bases.normalize(b, j + 1, length);
          if (!exhausted && size < nextCheck[b] && size < maxSteps) return stillLive.push(b);
          nextCheck[b] = Math.ceil(size * 1.2);
          const count = Math.min(w, size);
          const { values, vectors } = tridiagonalTop(alpha[b], beta[b], size, count, lastValues[b]);
          lastValues[b] = values;
          let passed = true;
          for (let i = 0; i < Math.min(k, count) && passed; i++) passed = Math.abs(beta[b][j] * vectors[i * size + size - 1]) <= tol * Math.max(values[0], 0);
          if (!passed && size >= maxSteps) {
            throw new FwdgradError(`maskedLanczos: example ${b} did not reach tol = ${tol} within maxSteps = ${maxSteps} Lanczos steps`);
          }
          if (!passed) return stillLive.push(b);
          bases.ritz(b, size, vectors, count, result, b * w * d);
        });
        release(step);
        live = stillLive;
      }
    });
  }
  return tensor(result, [batch, w, d]);
}
