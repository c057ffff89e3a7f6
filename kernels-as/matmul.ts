// Dense f32 matrix products, row-major, out must not alias the inputs.
// GEMM in the Goto/BLIS scheme (Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication", TOMS 2008): B is packed into KC×NR column panels and A into MR×KC row panels,
// both contiguous, and a 4×8 register-blocked f32x4 micro-kernel walks the packed panels. Transposed
// operands are handled by the packing, never materialised. Every output element is the sequential
// sum Σ_p a[i,p]·b[p,j] with a rounding after each multiply and each add (no FMA), in increasing p,
// across KC blocks too (a block continues from the stored partial sums), so the TS twin gives the
// same bits. The epilogue (scale, bias, ReLU) runs on each finished block while it is still in cache.
import { DIST_NORMAL, fillDraw, NORMAL_GROUP } from "./draws";
import { GEMM_SCRATCH_F32, KC, MC, MR, NC, NR } from "./shared";

/** Scratch floats gemm_f32 needs at packPtr: a packed A block, a packed B block and one edge tile. */
export function gemm_scratch_f32(): i32 {
  return GEMM_SCRATCH_F32;
}

// @ts-ignore: decorator
@inline
function at(ptr: usize, row: i32, stride: i32, col: i32): usize {
  return ptr + ((<usize>row * <usize>stride + <usize>col) << 2);
}

/** Packs op(A)[i0 .. i0+mc, p0 .. p0+kc] as MR-row panels, each kc steps of MR values; pads with 0. */
function packA(dst: usize, a: usize, transA: bool, m: i32, k: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = min(MR, mc - ip);
    for (let p = 0; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        let v: f32 = 0;
        if (r < rows) {
          const i = i0 + ip + r;
          v = transA ? load<f32>(at(a, p0 + p, m, i)) : load<f32>(at(a, i, k, p0 + p));
        }
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** Packs op(B)[p0 .. p0+kc, j0 .. j0+nc] as NR-column panels, each kc rows of NR values; pads with 0. */
function packB(dst: usize, b: usize, transB: bool, k: i32, n: i32, p0: i32, kc: i32, j0: i32, nc: i32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    if (!transB && cols == NR) {
      // SIMD body: two f32x4 copies per row of the panel.
      for (let p = 0; p < kc; p++) {
        const src = at(b, p0 + p, n, j0 + jp);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        dst += NR << 2;
      }
      continue;
    }
    for (let p = 0; p < kc; p++) {
      for (let c = 0; c < NR; c++) {
        let v: f32 = 0;
        if (c < cols) {
          const j = j0 + jp + c;
          v = transB ? load<f32>(at(b, j, k, p0 + p)) : load<f32>(at(b, p0 + p, n, j));
        }
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** C[4×8] (row stride ldc bytes) = (resume ? C : 0) + Σ_p aPanel[p]·bPanel[p], in p order. */
// @ts-ignore: decorator
@inline
function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, resume: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (resume) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  }
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0)); c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0)); c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0)); c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0)); c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += MR << 2;
    bp += NR << 2;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

/**
 * out[i0 .. i0+mc rows, j0 .. j0+nc cols] (row stride ldc bytes) += op(A) rows · the packed B block
 * (from 0 when not `resume`): packs each MC-row block of A, then the micro-kernel over the panels.
 */
// @ts-ignore: decorator
@inline
function multiplyBlock(
  aPack: usize, bPack: usize, tile: usize, a: usize, transA: bool, m: i32, k: i32,
  out: usize, ldc: usize, n: i32, p0: i32, kc: i32, j0: i32, nc: i32, rowFrom: i32, rowTo: i32, resume: bool,
): void {
  for (let i0 = rowFrom; i0 < rowTo; i0 += MC) {
    const mc = min(MC, rowTo - i0);
    packA(aPack, a, transA, m, k, i0, mc, p0, kc);
    for (let jp = 0; jp < nc; jp += NR) {
      const cols = min(NR, nc - jp);
      const bp = bPack + ((<usize>jp * <usize>kc) << 2);
      for (let ip = 0; ip < mc; ip += MR) {
        const rows = min(MR, mc - ip);
        const ap = aPack + ((<usize>ip * <usize>kc) << 2);
        const c = at(out, i0 + ip, n, j0 + jp);
        if (rows == MR && cols == NR) {
          micro(ap, bp, kc, c, ldc, resume);
          continue;
        }
        // Edge: run the full micro-kernel on a private tile, copy the valid part.
        if (resume) {
          for (let r = 0; r < rows; r++) memory.copy(tile + ((<usize>r * NR) << 2), c + <usize>r * ldc, <usize>cols << 2);
        }
        micro(ap, bp, kc, tile, NR << 2, resume);
        for (let r = 0; r < rows; r++) memory.copy(c + <usize>r * ldc, tile + ((<usize>r * NR) << 2), <usize>cols << 2);
      }
    }
  }
}

/**
 * out[b] = op(A[b]) · op(B[b]) for b < batch, with op(A) m×k and op(B) k×n. A[b] starts at
 * aPtr + b·aStride elements (aStride 0 shares one A), likewise B; out[b] is m×n, contiguous.
 * transA: A is stored k×m; transB: B is stored n×k. packPtr: GEMM_SCRATCH_F32 floats of
 * 16-byte-aligned scratch. Only rows rowFrom .. rowTo of each out[b] are written, each exactly as a
 * call over all rows writes it, so threads can share one product by row ranges.
 */
export function gemm_f32(
  outPtr: usize, aPtr: usize, bPtr: usize, packPtr: usize,
  batch: i32, m: i32, k: i32, n: i32, aStride: i32, bStride: i32,
  transA: bool, transB: bool, rowFrom: i32, rowTo: i32,
): void {
  const aPack = packPtr;
  const bPack = packPtr + ((<usize>(MC * KC)) << 2);
  const tile = bPack + ((<usize>(KC * NC)) << 2);
  const ldc = <usize>n << 2;
  for (let bi = 0; bi < batch; bi++) {
    const a = aPtr + ((<usize>bi * <usize>aStride) << 2);
    const b = bPtr + ((<usize>bi * <usize>bStride) << 2);
    const out = outPtr + ((<usize>bi * <usize>m * <usize>n) << 2);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nc = min(NC, n - j0);
      if (k == 0) {
        for (let i = rowFrom; i < rowTo; i++) memory.fill(at(out, i, n, j0), 0, <usize>nc << 2);
      }
      for (let p0 = 0; p0 < k; p0 += KC) {
        const kc = min(KC, k - p0);
        packB(bPack, b, transB, k, n, p0, kc, j0, nc);
        multiplyBlock(aPack, bPack, tile, a, transA, m, k, out, ldc, n, p0, kc, j0, nc, rowFrom, rowTo, p0 > 0);
      }
    }
  }
}

/** Scratch floats gemm_drawn_f32 needs at packPtr: gemm_f32's, and one row of a drawn block in whole groups. */
export function gemm_drawn_scratch_f32(): i32 {
  return GEMM_SCRATCH_F32 + KC + 2 * NORMAL_GROUP;
}

/**
 * Packs V[j0 .. j0+nc, p0 .. p0+kc]ᵀ as packB does for a B stored n×k (transposed), where V is n×k
 * row-major and its element (j, p) is element base + j·k + p of the random stream: each row's run is
 * drawn into `row`, then spread into its panel column.
 */
function packDrawn(dst: usize, row: usize, base: i32, k: i32, p0: i32, kc: i32, j0: i32, nc: i32, dist: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    for (let c = 0; c < NR; c++) {
      const column = dst + (<usize>c << 2);
      if (c >= cols) {
        for (let p = 0; p < kc; p++) store<f32>(column + ((<usize>p * NR) << 2), 0);
        continue;
      }
      // Normals come in groups of NORMAL_GROUP: draw whole groups from an aligned start (a partial
      // group would be stored lane by lane), then read the run from its offset.
      const e = base + (j0 + jp + c) * k + p0;
      const skip = dist == DIST_NORMAL ? e % NORMAL_GROUP : 0;
      const span = dist == DIST_NORMAL ? (skip + kc + NORMAL_GROUP - 1) / NORMAL_GROUP * NORMAL_GROUP : kc;
      fillDraw(row, e - skip, span, dist, k0, k1, c0, c1);
      const from = row + (<usize>skip << 2);
      for (let p = 0; p < kc; p++) store<f32>(column + ((<usize>p * NR) << 2), load<f32>(from + (<usize>p << 2)));
    }
    dst += (<usize>kc * NR) << 2;
  }
}

/**
 * out[b] = op(A[b]) · V[b]ᵀ for b < batch, where V[b] (n×k) is never stored: its element (j, p) is
 * element b·n·k + j·k + p of the random stream (dist: 0 normal, 1 sign; key (k0, k1), first block
 * (c0, c1); see draws.ts), drawn into the packed panels as the product needs them. The same bits as
 * gemm_f32 with transB over the drawn V. A as in gemm_f32; out[b] is m×n, and only columns
 * colFrom .. colTo are written, so threads split V itself (each draws only its rows of V).
 */
export function gemm_drawn_f32(
  outPtr: usize, aPtr: usize, packPtr: usize, batch: i32, m: i32, k: i32, n: i32, aStride: i32, transA: bool,
  dist: i32, k0: u32, k1: u32, c0: u32, c1: u32, colFrom: i32, colTo: i32,
): void {
  const aPack = packPtr;
  const bPack = packPtr + ((<usize>(MC * KC)) << 2);
  const tile = bPack + ((<usize>(KC * NC)) << 2);
  const row = tile + ((<usize>(MR * NR)) << 2);
  const ldc = <usize>n << 2;
  for (let bi = 0; bi < batch; bi++) {
    const a = aPtr + ((<usize>bi * <usize>aStride) << 2);
    const out = outPtr + ((<usize>bi * <usize>m * <usize>n) << 2);
    for (let j0 = colFrom; j0 < colTo; j0 += NC) {
      const nc = min(NC, colTo - j0);
      if (k == 0) {
        for (let i = 0; i < m; i++) memory.fill(at(out, i, n, j0), 0, <usize>nc << 2);
      }
      for (let p0 = 0; p0 < k; p0 += KC) {
        const kc = min(KC, k - p0);
        packDrawn(bPack, row, bi * n * k, k, p0, kc, j0, nc, dist, k0, k1, c0, c1);
        multiplyBlock(aPack, bPack, tile, a, transA, m, k, out, ldc, n, p0, kc, j0, nc, 0, m, p0 > 0);
      }
    }
  }
}

/** out[b, c, r] = x[b, r, c]: swaps the last two axes of a stack of `batch` rows×cols matrices. */
export function transpose_f32(outPtr: usize, xPtr: usize, batch: i32, rows: i32, cols: i32): void {
  const tileSize = 16;
  const plane = <usize>rows * <usize>cols;
  for (let b = 0; b < batch; b++) {
    const src = xPtr + ((<usize>b * plane) << 2);
    const dst = outPtr + ((<usize>b * plane) << 2);
    // Square tiles keep both the reads and the writes within a few cache lines.
    for (let r0 = 0; r0 < rows; r0 += tileSize) {
      const r1 = min(r0 + tileSize, rows);
      for (let c0 = 0; c0 < cols; c0 += tileSize) {
        const c1 = min(c0 + tileSize, cols);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) store<f32>(at(dst, c, rows, r), load<f32>(at(src, r, cols, c)));
        }
      }
    }
  }
}

/**
 * y = op(A)·x for one row-major m×n matrix: trans = 0 gives y[m] = A·x, trans = 1 gives y[n] = Aᵀ·x.
 * A·x: each row's dot keeps four lane sums over j ≡ l (mod 4), combined (l0 + l1) + (l2 + l3), then
 * the tail in order. Aᵀ·x: y accumulates x[i]·A[i, :] row by row (each y[j] a sequential sum over i).
 */
export function gemv_f32(yPtr: usize, aPtr: usize, xPtr: usize, m: i32, n: i32, trans: bool): void {
  const body = n & ~3;
  if (!trans) {
    for (let i = 0; i < m; i++) {
      const row = at(aPtr, i, n, 0);
      let acc = f32x4.splat(0);
      for (let j = 0; j < body; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(row + (<usize>j << 2)), v128.load(xPtr + (<usize>j << 2))));
      let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (let j = body; j < n; j++) s += load<f32>(row + (<usize>j << 2)) * load<f32>(xPtr + (<usize>j << 2));
      store<f32>(yPtr + (<usize>i << 2), s);
    }
    return;
  }
  memory.fill(yPtr, 0, <usize>n << 2);
  for (let i = 0; i < m; i++) {
    const row = at(aPtr, i, n, 0);
    const xi = load<f32>(xPtr + (<usize>i << 2));
    const xv = f32x4.splat(xi);
    for (let j = 0; j < body; j += 4) {
      const o = <usize>j << 2;
      v128.store(yPtr + o, f32x4.add(v128.load(yPtr + o), f32x4.mul(xv, v128.load(row + o))));
    }
    for (let j = body; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(yPtr + o, load<f32>(yPtr + o) + xi * load<f32>(row + o));
    }
  }
}

/**
 * out[b, i, j] = Σ_p a[b, i, p]·c[b, j, p] for b < batch, with a[b] m×k and c[b] n×k row-major: each
 * example's rows against another set of its rows (A·Cᵀ with no operand transposed or packed; the
 * W̃⊥ solvers' Gram and Rayleigh–Ritz products). Each dot keeps four lane sums over p ≡ l (mod 4),
 * combined (l0 + l1) + (l2 + l3), then the tail in order, as gemv_f32 does; four dots of one row of
 * a run side by side so that their sums do not wait on each other.
 */
export function rowdots_f32(outPtr: usize, aPtr: usize, cPtr: usize, batch: i32, m: i32, n: i32, k: i32): void {
  const body = k & ~3;
  for (let bi = 0; bi < batch; bi++) {
    const a = aPtr + ((<usize>bi * <usize>m * <usize>k) << 2);
    const c = cPtr + ((<usize>bi * <usize>n * <usize>k) << 2);
    const out = outPtr + ((<usize>bi * <usize>m * <usize>n) << 2);
    for (let i = 0; i < m; i++) {
      const row = at(a, i, k, 0);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const c0 = at(c, j, k, 0), c1 = at(c, j + 1, k, 0), c2 = at(c, j + 2, k, 0), c3 = at(c, j + 3, k, 0);
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        for (let p = 0; p < body; p += 4) {
          const o = <usize>p << 2;
          const x = v128.load(row + o);
          s0 = f32x4.add(s0, f32x4.mul(x, v128.load(c0 + o)));
          s1 = f32x4.add(s1, f32x4.mul(x, v128.load(c1 + o)));
          s2 = f32x4.add(s2, f32x4.mul(x, v128.load(c2 + o)));
          s3 = f32x4.add(s3, f32x4.mul(x, v128.load(c3 + o)));
        }
        store<f32>(at(out, i, n, j), finishDot(s0, row, c0, body, k));
        store<f32>(at(out, i, n, j + 1), finishDot(s1, row, c1, body, k));
        store<f32>(at(out, i, n, j + 2), finishDot(s2, row, c2, body, k));
        store<f32>(at(out, i, n, j + 3), finishDot(s3, row, c3, body, k));
      }
      for (; j < n; j++) {
        const cj = at(c, j, k, 0);
        let s = f32x4.splat(0);
        for (let p = 0; p < body; p += 4) s = f32x4.add(s, f32x4.mul(v128.load(row + (<usize>p << 2)), v128.load(cj + (<usize>p << 2))));
        store<f32>(at(out, i, n, j), finishDot(s, row, cj, body, k));
      }
    }
  }
}

/** (l0 + l1) + (l2 + l3) of the lane sums, then the tail p ∈ [body, k) of x·y in order. */
// @ts-ignore: decorator
@inline
function finishDot(lanes: v128, x: usize, y: usize, body: i32, k: i32): f32 {
  let s = (f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1)) + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3));
  for (let p = body; p < k; p++) s += load<f32>(x + (<usize>p << 2)) * load<f32>(y + (<usize>p << 2));
  return s;
}

/** Scratch words (4 bytes each) masked_products_f32 needs at workPtr: an index list, a compacted block and 8 words of slack. */
export function masked_products_scratch(d: i32, c: i32): i32 {
  return d + d * ((c + 3) & ~3) + 8;
}

/**
 * out[b, r, i] = mask[b, i] ≠ 0 ? Σ_{j: mask[b, j] ≠ 0} x[b, r, j]·gram[i, j] : 0, for b < batch, with
 * x [batch, c, d], mask [batch, d] and a symmetric gram [d, d]: each example's rows times the Gram
 * restricted to its active units (the W̃⊥ solvers' M·G·M products, whose rows vanish off the mask).
 * A mask of a active units costs a²·c multiply-adds instead of the gemm's d²·c. Each sum runs over
 * the active j in increasing order with a rounding after each multiply and add: for rows that are 0
 * off the mask and a gram of G[i, j] = G[j, i] bits, the gemm x·G's bits (its skipped terms add 0).
 * Per example: the active units' indices and x's active columns, transposed to rows of c (padded to
 * whole vectors), go to the scratch at workPtr; two output units at a time then walk the list.
 */
export function masked_products_f32(outPtr: usize, xPtr: usize, gramPtr: usize, maskPtr: usize, workPtr: usize, batch: i32, d: i32, c: i32): void {
  const cp = (c + 3) & ~3;
  const index = workPtr;
  const rows = workPtr + (<usize>d << 2);
  for (let b = 0; b < batch; b++) {
    const x = xPtr + ((<usize>b * <usize>c * <usize>d) << 2);
    const out = outPtr + ((<usize>b * <usize>c * <usize>d) << 2);
    const mask = maskPtr + ((<usize>b * <usize>d) << 2);
    memory.fill(out, 0, (<usize>c * <usize>d) << 2);
    let a = 0;
    for (let j = 0; j < d; j++) {
      if (load<f32>(mask + (<usize>j << 2)) != 0) {
        store<i32>(index + (<usize>a << 2), j);
        const row = rows + ((<usize>a * <usize>cp) << 2);
        for (let r = 0; r < c; r++) store<f32>(row + (<usize>r << 2), load<f32>(at(x, r, d, j)));
        for (let r = c; r < cp; r++) store<f32>(row + (<usize>r << 2), 0);
        a++;
      }
    }
    for (let t = 0; t < a; t += 2) {
      const i0 = load<i32>(index + (<usize>t << 2));
      // An odd last unit is computed twice over (its pair is itself): one code path.
      const i1 = t + 1 < a ? load<i32>(index + (<usize>(t + 1) << 2)) : i0;
      const g0 = gramPtr + ((<usize>i0 * <usize>d) << 2);
      const g1 = gramPtr + ((<usize>i1 * <usize>d) << 2);
      // Passes of 12 columns (W̃⊥'s default block); the last may have 4 or 8 left: its lanes past
      // c read the next row (or the scratch's slack) and are never stored.
      for (let q = 0; q < cp; q += 12) maskedPass(out, rows, index, g0, g1, i0, i1, a, cp, q, c, d);
    }
  }
}

/** Stores the lanes of `v` as out[q .. q+3, i], those below c. */
// @ts-ignore: decorator
@inline
function storeColumn(out: usize, v: v128, i: i32, q: i32, c: i32, d: i32): void {
  if (q < c) store<f32>(at(out, q, d, i), f32x4.extract_lane(v, 0));
  if (q + 1 < c) store<f32>(at(out, q + 1, d, i), f32x4.extract_lane(v, 1));
  if (q + 2 < c) store<f32>(at(out, q + 2, d, i), f32x4.extract_lane(v, 2));
  if (q + 3 < c) store<f32>(at(out, q + 3, d, i), f32x4.extract_lane(v, 3));
}

/** Columns q .. q+11 of units i0 and i1 (six sums of four lanes). */
function maskedPass(out: usize, rows: usize, index: usize, g0: usize, g1: usize, i0: i32, i1: i32, a: i32, cp: i32, q: i32, c: i32, d: i32): void {
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0);
  let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0);
  let row = rows + (<usize>q << 2);
  const step = <usize>cp << 2;
  for (let t = 0; t < a; t++) {
    const j = <usize>load<i32>(index + (<usize>t << 2)) << 2;
    const a0 = f32x4.splat(load<f32>(g0 + j)), a1 = f32x4.splat(load<f32>(g1 + j));
    const v0 = v128.load(row), v1 = v128.load(row, 16), v2 = v128.load(row, 32);
    s00 = f32x4.add(s00, f32x4.mul(v0, a0));
    s01 = f32x4.add(s01, f32x4.mul(v1, a0));
    s02 = f32x4.add(s02, f32x4.mul(v2, a0));
    s10 = f32x4.add(s10, f32x4.mul(v0, a1));
    s11 = f32x4.add(s11, f32x4.mul(v1, a1));
    s12 = f32x4.add(s12, f32x4.mul(v2, a1));
    row += step;
  }
  storeColumn(out, s00, i0, q, c, d);
  storeColumn(out, s01, i0, q + 4, c, d);
  storeColumn(out, s02, i0, q + 8, c, d);
  storeColumn(out, s10, i1, q, c, d);
  storeColumn(out, s11, i1, q + 4, c, d);
  storeColumn(out, s12, i1, q + 8, c, d);
}
