// Batched top-k eigenvectors of every example's masked Gram A_b = M_b·G·M_b (G = WᵀW shared by the
// batch) for the W̃⊥ estimators, by LOBPCG (Knyazev 2001): each example keeps a block X of w ≥ k Ritz
// vectors; its residuals R = A·X − X·Λ and the previous update P span, with X, the space of the next
// Rayleigh–Ritz step. LOBPCG is the usual tracker for slowly moving eigenproblems: from a start
// near the answer (the example's block from its previous visit) one or two steps pass the test.
// Blocks are stored as rows [B, w, d], so the products with G of all examples are one gemm
// [B·w, d]·G; orthonormalisation is CholeskyQR (Fukaya et al. 2014). An example stops as soon as
// its leading k residuals pass the test and the others go on as a smaller batch: cost follows need.
import { mark, release } from "../arena.ts";
import { FwdgradError } from "../errors.ts";
import { eigh } from "./decompositions.ts";
import { gatherRows, matmul, mul, reshape, sub, sum, transpose, add } from "../ops.ts";
import { copyInto, empty, leadingColumns, prefix, tensor, type Tensor } from "../tensor.ts";

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
  const [batch, c] = x.shape;
  let y = x;
  for (let round = 0; round < rounds; round++) {
    const gram = matmul(y, y, { transB: true }).toArray();
    y = matmul(tensor(inverseCholesky(gram, batch, c), [batch, c, c]), y);
  }
  return y;
}

/** s − (s·xᵀ)·x per example: s's rows with the span of x's orthonormal rows taken out. */
function projectOut(s: Tensor, x: Tensor): Tensor {
  return sub(s, matmul(matmul(s, x, { transB: true }), x));
}

/**
 * Orthonormal rows spanning the part of s's rows outside the span of `bases` (orthonormal rows
 * each). A row that loses all but 0.1 % of its length to the projection is left out: what remains
 * of it is rounding. Projected twice, as in classical Gram–Schmidt with reorthogonalisation: once
 * is not enough near convergence, where rounding is a large part of small residuals.
 */
function complement(s: Tensor, bases: Tensor[]): Tensor {
  const [batch, c] = s.shape;
  const before = sum(mul(s, s), 2).toArray();
  let y = s;
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
  /** [w, d]: rows that replace a start's rows lost to the mask (dependent once masked). */
  fallback?: Tensor;
}

export interface MaskedTopK {
  /** [B, d, k]: orthonormal top-k eigenvectors of each A_b (zero columns past A_b's rank). */
  vectors: Tensor;
  /** Every example's whole block of w Ritz vectors, rows [B, w, d]: the next visit's start. */
  block: Float32Array;
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
export function maskedTopK(gram: Tensor, masks: Tensor, start: Tensor, options: MaskedTopKOptions): MaskedTopK {
  const { k, tol, maxIter, fallback } = options;
  const [batch, d] = masks.shape;
  const w = start.shape[1];
  if (start.rank !== 3 || start.shape[0] !== batch || start.shape[2] !== d || w < k) {
    throw new FwdgradError(`maskedTopK: start must be [${batch}, ≥ ${k}, ${d}], got [${start.shape.join(", ")}]`);
  }
  const vectors = new Float32Array(batch * k * d);
  const block = new Float32Array(batch * w * d);
  // The state carried between steps lives in buffers made before the loop, its live examples at
  // their front; each step's scratch is released once the new state is copied in.
  const outer = mark();
  const carried = { masks: empty([batch, d]), x: empty([batch, w, d]), ax: empty([batch, w, d]), p: empty([batch, w, d]) };
  const front = (t: Tensor, a: number) => prefix(t, [a, ...t.shape.slice(1)]);
  const times = (rows: Tensor, m: Tensor): Tensor => {
    const [a, c] = rows.shape;
    return mul(reshape(matmul(reshape(rows, [a * c, d]), gram), [a, c, d]), reshape(m, [a, 1, d]));
  };
  let products = batch * w;
  let rows = Int32Array.from({ length: batch }, (_, b) => b);
  let hasP = false;
  let scope = mark();
  const x0 = startingBlock(start, masks, fallback);
  let { lambda } = carry(rayleighRitz([x0], [times(x0, masks)], w), masks);
  let iterations = 0;

  function carry(next: { x: Tensor; ax: Tensor; lambda: Float32Array; p: Tensor | null }, m: Tensor): { lambda: Float32Array } {
    const a = next.x.shape[0];
    copyInto(front(carried.x, a), next.x);
    copyInto(front(carried.ax, a), next.ax);
    copyInto(front(carried.masks, a), m);
    if (next.p) copyInto(front(carried.p, a), next.p);
    hasP = next.p !== null;
    release(scope);
    scope = mark();
    return { lambda: next.lambda };
  }

  for (let it = 0; ; it++) {
    const active = rows.length;
    const x = front(carried.x, active), ax = front(carried.ax, active), m = front(carried.masks, active);
    const residual = sub(ax, mul(x, tensor(lambda, [active, w, 1])));
    const squares = sum(mul(residual, residual), 2).toArray();
    const keep: number[] = [];
    const done: number[] = [];
    for (let b = 0; b < active; b++) {
      let passed = true;
      const bound = tol * Math.max(lambda[b * w], 0);
      for (let i = 0; i < k && passed; i++) passed = Math.sqrt(squares[b * w + i]) <= bound;
      (passed ? done : keep).push(b);
    }
    if (done.length > 0) {
      const values = done.length === active ? x.toArray() : gatherRows(reshape(x, [active, w * d]), done).toArray();
      done.forEach((b, j) => {
        block.set(values.subarray(j * w * d, (j + 1) * w * d), rows[b] * w * d);
        vectors.set(values.subarray(j * w * d, j * w * d + k * d), rows[b] * k * d);
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
    ({ lambda } = carry(rayleighRitz(blocks, images, w), live.m));
  }
  release(outer);
  const out = transpose(tensor(vectors, [batch, k, d]));
  return { vectors: out, block, iterations, products };
}

/** The start masked and orthonormalised; rows lost to the mask are replaced by the fallback's. */
function startingBlock(start: Tensor, masks: Tensor, fallback: Tensor | undefined): Tensor {
  const [batch, w, d] = start.shape;
  const maskRows = reshape(masks, [batch, 1, d]);
  const x = orthonormalRows(mul(start, maskRows));
  if (!fallback) return x;
  const lengths = sum(mul(x, x), 2).toArray();
  if (lengths.every((l) => l > 0)) return x;
  const values = x.toArray();
  const spare = fallback.toArray();
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
      const part = matmul(blocks[i], images[j], { transB: true }).toArray();
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
