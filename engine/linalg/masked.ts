// Batched building blocks for symmetric eigenproblems that share one d×d operator G but are each
// restricted to their own coordinates (a mask per example: A_b = M_b·G·M_b). Solvers above the
// engine (W̃⊥'s LOBPCG and Lanczos, estimators/wperp/subspace.ts) are written with these and public
// ops; everything here that reads the heap or calls a kernel directly stays in the engine.
// Stacks of rows are [B, c, d], row-major f32; the Lanczos bases store each example's vectors
// compactly, on its own coordinates only (n_b floats per vector).
import { engine } from "../backend.ts";
import type { Heap } from "../heap.ts";
import type { Kernels } from "../kernel-abi.ts";
import { sumSquares } from "./decompositions.ts";
import { empty, zeros, type Tensor } from "../tensor.ts";

/** a·cᵀ per example for stacks of rows [B, m, k] and [B, n, k]: [B, m, n] (the rowdots kernel). */
export function rowDots(a: Tensor, c: Tensor): Tensor {
  const [batch, m, k] = a.shape;
  const out = empty([batch, m, c.shape[1]]);
  engine().k.rowdots_f32(out.ptr, a.ptr, c.ptr, batch, m, c.shape[1], k);
  return out;
}

/**
 * M_b·G·M_b·x_b for every example's rows x [B, c, d] with masks [B, d] (the masked_products kernel):
 * a mask of a active units costs a²·c multiply-adds, not the gemm's d²·c. The rows must vanish off
 * their masks, as every LOBPCG block here does; then the bits are those of the gemm x·G masked.
 */
export function maskedProducts(rows: Tensor, gram: Tensor, masks: Tensor): Tensor {
  const [batch, c, d] = rows.shape;
  const { heap, k } = engine();
  const out = empty([batch, c, d]);
  const start = heap.mark();
  const work = heap.alloc(k.masked_products_scratch(d, c) * 4).ptr;
  k.masked_products_f32(out.ptr, rows.ptr, gram.ptr, masks.ptr, work, batch, d, c);
  heap.release(start);
  return out;
}

/**
 * Lanczos bases (Golub & Van Loan §10.1) of the examples `members` of a batch, each on its own
 * coordinates `units[b]` of ℝ^d, with room for `steps[b] + 1` vectors v_0, v_1, … of each: the
 * heap side of a batched Lanczos solver, which keeps the recurrence's control (α, β, restarts,
 * convergence checks) itself. Allocates its storage in the current arena scope (run it in a `tidy`).
 * Each step's products with G of all live examples are one gemm: `rows` scatters the current
 * vectors to full rows, the caller multiplies them by G and hands each image back to `extend`.
 * Reorthogonalisation against the example's own basis is full (gemv kernel, classical Gram–Schmidt
 * with a second pass when the first removed much, Giraud et al. 2005).
 */
export class LanczosBases {
  private readonly heap: Heap;
  private readonly k: Kernels;
  private readonly offsets: Int32Array;
  private readonly basis: Tensor;
  private readonly coefficients: Tensor;
  private readonly scratch: Tensor;

  constructor(private readonly d: number, private readonly units: readonly Int32Array[], steps: readonly number[], members: readonly number[]) {
    ({ heap: this.heap, k: this.k } = engine());
    this.offsets = new Int32Array(units.length);
    let total = 0, most = 0;
    for (const b of members) {
      this.offsets[b] = total;
      total += (steps[b] + 1) * units[b].length;
      most = Math.max(most, steps[b]);
    }
    this.basis = empty([Math.max(total, 1)]);
    this.coefficients = empty([most + 1]);
    this.scratch = empty([d]);
  }

  /** Byte address of example b's vector v_j. */
  private row(b: number, j: number): number {
    return this.basis.ptr + 4 * (this.offsets[b] + j * this.units[b].length);
  }

  /** Sets v_j of example b to `values` (one per unit, rounded to f32). */
  set(b: number, j: number, values: ArrayLike<number>): void {
    this.heap.f32().set(values, this.row(b, j) >>> 2);
  }

  /** v_j of every listed example scattered to a full row, zero off its units: [examples.length, d]. */
  rows(examples: readonly number[], j: number): Tensor {
    const d = this.d;
    const rows = zeros([examples.length, d]);
    const f = this.heap.f32();
    for (let r = 0; r < examples.length; r++) {
      const units = this.units[examples[r]], from = this.row(examples[r], j) >>> 2, to = (rows.ptr >>> 2) + r * d;
      for (let i = 0; i < units.length; i++) f[to + units[i]] = f[from + i];
    }
    return rows;
  }

  /**
   * The Lanczos step from v_j of example b, given its image G·v_j as the full row at `at` of
   * `images`: α_j = v_jᵀ·G·v_j (accumulated in f64), v_{j+1} = G·v_j − α_j·v_j − β·v_{j−1}
   * (`beta` = β_{j−1}; v_{−1} absent), then reorthogonalised against v_0 … v_j. Returns α_j and
   * ‖v_{j+1}‖; v_{j+1} is left unnormalised (see `normalize`).
   */
  extend(b: number, j: number, images: Float32Array, at: number, beta: number): { alpha: number; length: number } {
    const units = this.units[b], n = units.length;
    const next = this.row(b, j + 1) >>> 2, current = this.row(b, j) >>> 2, previous = j > 0 ? this.row(b, j - 1) >>> 2 : -1;
    const f = this.heap.f32();
    let a = 0;
    for (let i = 0; i < n; i++) a += f[current + i] * images[at + units[i]];
    for (let i = 0; i < n; i++) f[next + i] = images[at + units[i]] - a * f[current + i] - (previous >= 0 ? beta * f[previous + i] : 0);
    return { alpha: a, length: this.reorthogonalize(b, j + 1) };
  }

  /** Replaces v_{j+1} of example b by `values` (one per unit) orthogonalised against v_0 … v_j: a fresh direction. */
  restart(b: number, j: number, values: Float32Array): void {
    this.set(b, j + 1, values);
    this.reorthogonalize(b, j + 1);
  }

  /** Divides v_j of example b by `length`, or by its own norm when `length` is 0 (a restarted vector). */
  normalize(b: number, j: number, length: number): void {
    const n = this.units[b].length, at = this.row(b, j);
    const unit = length > 0 ? length : Math.sqrt(sumSquares(at, n));
    const f = this.heap.f32();
    for (let i = 0; i < n; i++) f[(at >>> 2) + i] /= unit;
  }

  /**
   * Ritz vectors of example b: vector i = Σ_j vectors[i·size + j]·v_j for i < count (`vectors` from
   * the tridiagonal eigenproblem of its first `size` steps, f64, rows), each scattered into `out` at
   * `at + i·d` on the example's units (entries off them are left as they are).
   */
  ritz(b: number, size: number, vectors: Float64Array, count: number, out: Float32Array, at: number): void {
    const units = this.units[b], n = units.length;
    const coefficients = this.coefficients.ptr, scratch = this.scratch.ptr;
    for (let i = 0; i < count; i++) {
      this.heap.f32().set(vectors.subarray(i * size, (i + 1) * size), coefficients >>> 2);
      this.k.gemv_f32(scratch, this.row(b, 0), coefficients, size, n, 1);
      const f = this.heap.f32(), to = at + i * this.d;
      for (let t = 0; t < n; t++) out[to + units[t]] = f[(scratch >>> 2) + t];
    }
  }

  /**
   * Orthogonalises v_count of example b against v_0 … v_{count−1} by classical Gram–Schmidt (gemv
   * kernel), again when the first pass removed more than half of it; returns its length.
   */
  private reorthogonalize(b: number, count: number): number {
    const n = this.units[b].length, rows = this.row(b, 0), v = this.row(b, count);
    const coefficients = this.coefficients.ptr, scratch = this.scratch.ptr;
    let length = Math.sqrt(sumSquares(v, n));
    for (let pass = 0; pass < 2; pass++) {
      this.k.gemv_f32(coefficients, rows, v, count, n, 0);
      this.k.gemv_f32(scratch, rows, coefficients, count, n, 1);
      const f = this.heap.f32();
      for (let i = 0; i < n; i++) f[(v >>> 2) + i] -= f[(scratch >>> 2) + i];
      const after = Math.sqrt(sumSquares(v, n));
      const enough = after > 0.5 * length;
      length = after;
      if (enough) break;
    }
    return length;
  }
}
