// f64 vector helpers for the decompositions, over contiguous f64 arrays (column-major storage keeps
// every inner loop of the Householder and rotation updates contiguous, as ml-matrix's transposed SVD
// storage does). f64x2 bodies with a scalar tail; dot keeps two lane sums, combined at the end, and
// engine/kernels-ref/f64.ts mirrors that order. Elementwise updates round each operation as written.

// @ts-ignore: decorator
@inline
export function col(base: usize, rows: i32, j: i32): usize {
  return base + ((<usize>j * <usize>rows) << 3);
}

// @ts-ignore: decorator
@inline
export function el(base: usize, rows: i32, i: i32, j: i32): usize {
  return base + ((<usize>j * <usize>rows + <usize>i) << 3);
}

/** Element i of an f64 array. */
// @ts-ignore: decorator
@inline
export function get(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline
export function put(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

/**
 * Turns the len values at x into a Householder vector in place (LINPACK/JAMA form): divides them by
 * ±‖x‖ (the sign of x[0]) and adds 1 to x[0]. Returns that signed norm (0 leaves x unchanged); the
 * reflection maps x to −norm·e₁.
 */
export function householder(x: usize, len: i32): f64 {
  let norm: f64 = 0;
  for (let i = 0; i < len; i++) norm = hypot(norm, get(x, i));
  if (norm != 0) {
    if (get(x, 0) < 0) norm = -norm;
    for (let i = 0; i < len; i++) put(x, i, get(x, i) / norm);
    put(x, 0, get(x, 0) + 1);
  }
  return norm;
}

/** Σ x[i]·y[i]: even and odd indices in two lanes, lane0 + lane1, then the odd tail. */
export function dot(x: usize, y: usize, len: i32): f64 {
  const body = len & ~1;
  let acc = f64x2.splat(0);
  for (let i = 0; i < body; i += 2) {
    const o = <usize>i << 3;
    acc = f64x2.add(acc, f64x2.mul(v128.load(x + o), v128.load(y + o)));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (body < len) s += load<f64>(x + (<usize>body << 3)) * load<f64>(y + (<usize>body << 3));
  return s;
}

/** y += t·x. */
export function axpy(y: usize, t: f64, x: usize, len: i32): void {
  const body = len & ~1;
  const tv = f64x2.splat(t);
  for (let i = 0; i < body; i += 2) {
    const o = <usize>i << 3;
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(tv, v128.load(x + o))));
  }
  if (body < len) {
    const o = <usize>body << 3;
    store<f64>(y + o, load<f64>(y + o) + t * load<f64>(x + o));
  }
}

/** Plane rotation of two vectors: x ← cs·x + sn·y, y ← −sn·x + cs·y. */
export function rot(x: usize, y: usize, cs: f64, sn: f64, len: i32): void {
  const body = len & ~1;
  const c = f64x2.splat(cs), s = f64x2.splat(sn), ns = f64x2.splat(-sn);
  for (let i = 0; i < body; i += 2) {
    const o = <usize>i << 3;
    const xv = v128.load(x + o), yv = v128.load(y + o);
    v128.store(x + o, f64x2.add(f64x2.mul(c, xv), f64x2.mul(s, yv)));
    v128.store(y + o, f64x2.add(f64x2.mul(ns, xv), f64x2.mul(c, yv)));
  }
  if (body < len) {
    const o = <usize>body << 3;
    const xv = load<f64>(x + o), yv = load<f64>(y + o);
    store<f64>(x + o, cs * xv + sn * yv);
    store<f64>(y + o, -sn * xv + cs * yv);
  }
}

/** x ← t·x. */
export function scal(x: usize, t: f64, len: i32): void {
  for (let i = 0; i < len; i++) store<f64>(x + (<usize>i << 3), load<f64>(x + (<usize>i << 3)) * t);
}

/** √(a² + b²) without overflow or underflow (JAMA's Maths.hypot). */
export function hypot(a: f64, b: f64): f64 {
  const aa = Math.abs(a), ab = Math.abs(b);
  if (aa > ab) {
    const r = b / a;
    return aa * Math.sqrt(1 + r * r);
  }
  if (b != 0) {
    const r = a / b;
    return ab * Math.sqrt(1 + r * r);
  }
  return 0;
}

/** Column-major f64 copy of a row-major f32 rows×cols matrix. */
export function loadColMajor(dst: usize, src: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) store<f64>(el(dst, rows, i, j), <f64>load<f32>(src + ((<usize>i * <usize>cols + <usize>j) << 2)));
  }
}

/** Row-major f32 copy of a column-major f64 rows×cols matrix. */
export function storeRowMajor(dst: usize, src: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) store<f32>(dst + ((<usize>i * <usize>cols + <usize>j) << 2), <f32>load<f64>(el(src, rows, i, j)));
  }
}
