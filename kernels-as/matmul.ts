// Dense f32 matrix products, row-major, no aliasing between out and the inputs.
// First SIMD version: a 4-row × 8-column register block of f32x4 accumulators walks the shared
// dimension p in order, so every output is the sequential sum Σ_p a[i,p]·b[p,j] rounded after each
// multiply and add (no FMA): the TS twin reproduces it bit for bit. Cache blocking and packed
// panels come with the kernels issue.

// @ts-ignore: decorator
@inline
function at(ptr: usize, row: i32, stride: i32, col: i32): usize {
  return ptr + ((<usize>row * <usize>stride + <usize>col) << 2);
}

/** Rows [i0, i0+4) × columns [j0, j0+8). */
// @ts-ignore: decorator
@inline
function block4x8(outPtr: usize, aPtr: usize, bPtr: usize, i0: i32, j0: i32, k: i32, n: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const bRow = at(bPtr, p, n, j0);
    const b0 = v128.load(bRow), b1 = v128.load(bRow, 16);
    const a0 = f32x4.splat(load<f32>(at(aPtr, i0, k, p)));
    const a1 = f32x4.splat(load<f32>(at(aPtr, i0 + 1, k, p)));
    const a2 = f32x4.splat(load<f32>(at(aPtr, i0 + 2, k, p)));
    const a3 = f32x4.splat(load<f32>(at(aPtr, i0 + 3, k, p)));
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0)); c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0)); c31 = f32x4.add(c31, f32x4.mul(a3, b1));
  }
  v128.store(at(outPtr, i0, n, j0), c00); v128.store(at(outPtr, i0, n, j0), c01, 16);
  v128.store(at(outPtr, i0 + 1, n, j0), c10); v128.store(at(outPtr, i0 + 1, n, j0), c11, 16);
  v128.store(at(outPtr, i0 + 2, n, j0), c20); v128.store(at(outPtr, i0 + 2, n, j0), c21, 16);
  v128.store(at(outPtr, i0 + 3, n, j0), c30); v128.store(at(outPtr, i0 + 3, n, j0), c31, 16);
}

/** One row × columns [j0, j0+4). */
// @ts-ignore: decorator
@inline
function block1x4(outPtr: usize, aPtr: usize, bPtr: usize, i: i32, j0: i32, k: i32, n: i32): void {
  let c = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    c = f32x4.add(c, f32x4.mul(f32x4.splat(load<f32>(at(aPtr, i, k, p))), v128.load(at(bPtr, p, n, j0))));
  }
  v128.store(at(outPtr, i, n, j0), c);
}

/** One output element, scalar. */
// @ts-ignore: decorator
@inline
function block1x1(outPtr: usize, aPtr: usize, bPtr: usize, i: i32, j: i32, k: i32, n: i32): void {
  let s: f32 = 0;
  for (let p = 0; p < k; p++) s += load<f32>(at(aPtr, i, k, p)) * load<f32>(at(bPtr, p, n, j));
  store<f32>(at(outPtr, i, n, j), s);
}

/** out[m×n] = a[m×k]·b[k×n]. */
export function matmul_f32(outPtr: usize, aPtr: usize, bPtr: usize, m: i32, k: i32, n: i32): void {
  const m4 = m & ~3, n8 = n & ~7, n4 = n & ~3;
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n8; j += 8) block4x8(outPtr, aPtr, bPtr, i, j, k, n);
    for (let r = i; r < i + 4; r++) {
      for (let j = n8; j < n4; j += 4) block1x4(outPtr, aPtr, bPtr, r, j, k, n);
      for (let j = n4; j < n; j++) block1x1(outPtr, aPtr, bPtr, r, j, k, n);
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n4; j += 4) block1x4(outPtr, aPtr, bPtr, i, j, k, n);
    for (let j = n4; j < n; j++) block1x1(outPtr, aPtr, bPtr, i, j, k, n);
  }
}

/** out[b, c, r] = x[b, r, c]: swaps the last two axes of a stack of `batch` rows×cols matrices. */
export function transpose_f32(outPtr: usize, xPtr: usize, batch: i32, rows: i32, cols: i32): void {
  const tile = 16;
  const plane = <usize>rows * <usize>cols;
  for (let b = 0; b < batch; b++) {
    const src = xPtr + ((<usize>b * plane) << 2);
    const dst = outPtr + ((<usize>b * plane) << 2);
    // Square tiles keep both the reads and the writes within a few cache lines.
    for (let r0 = 0; r0 < rows; r0 += tile) {
      const r1 = min(r0 + tile, rows);
      for (let c0 = 0; c0 < cols; c0 += tile) {
        const c1 = min(c0 + tile, cols);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) store<f32>(at(dst, c, rows, r), load<f32>(at(src, r, cols, c)));
        }
      }
    }
  }
}
