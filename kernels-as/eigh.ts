// Symmetric eigendecomposition and Householder QR of f32 matrices, in f64 inside, column-major
// working arrays in the caller's scratch, row-major f32 outputs.
// eigh: Householder tridiagonalisation and the implicit QL algorithm (EISPACK tred2/tql2, as in
// JAMA's EigenvalueDecomposition); values descending, vectors as the columns of an n×n matrix.
// qr: Householder QR (Golub & Van Loan §5.2; JAMA's QRDecomposition), a = q·r with q m×kk having
// orthonormal columns and r kk×n upper triangular, kk = min(m, n).
import { axpy, col, dot, el, get, householder, hypot, loadColMajor, put, rot } from "./f64";

const EPS: f64 = 2.220446049250313e-16;

// @ts-ignore: decorator
@inline
function vget(V: usize, n: i32, i: i32, j: i32): f64 {
  return load<f64>(el(V, n, i, j));
}

// @ts-ignore: decorator
@inline
function vput(V: usize, n: i32, i: i32, j: i32, x: f64): void {
  store<f64>(el(V, n, i, j), x);
}

/** f64 scratch values eigh_f32 needs. */
export function eigh_scratch_f64(n: i32): i32 {
  return n * n + 2 * n;
}

/**
 * Eigen-decomposes `batch` symmetric n×n matrices (only symmetric input is meaningful; the lower
 * triangle is what tred2 reads). values: batch×n descending; vectors: batch×n×n, column j the unit
 * eigenvector of values[j]. Returns the most QL iterations one eigenvalue needed, or −1 past maxIter.
 */
export function eigh_f32(valuesPtr: usize, vectorsPtr: usize, aPtr: usize, workPtr: usize, batch: i32, n: i32, maxIter: i32): i32 {
  const V = workPtr;
  const d = V + ((<usize>n * <usize>n) << 3);
  const e = d + (<usize>n << 3);
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    loadColMajor(V, aPtr + ((<usize>b * <usize>n * <usize>n) << 2), n, n);
    tred2(V, d, e, n);
    const iters = tql2(V, d, e, n, maxIter);
    if (iters < 0) return -1;
    worst = max(worst, iters);
    // tql2 sorts ascending; write descending.
    for (let j = 0; j < n; j++) {
      const src = n - 1 - j;
      store<f32>(valuesPtr + ((<usize>b * <usize>n + <usize>j) << 2), <f32>get(d, src));
      for (let i = 0; i < n; i++) {
        store<f32>(vectorsPtr + ((<usize>b * <usize>n * <usize>n + <usize>i * <usize>n + <usize>j) << 2), <f32>vget(V, n, i, src));
      }
    }
  }
  return worst;
}

function tred2(V: usize, d: usize, e: usize, n: i32): void {
  for (let j = 0; j < n; j++) put(d, j, vget(V, n, n - 1, j));
  for (let i = n - 1; i > 0; i--) {
    let scale: f64 = 0;
    let h: f64 = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(get(d, k));
    if (scale == 0) {
      put(e, i, get(d, i - 1));
      for (let j = 0; j < i; j++) {
        put(d, j, vget(V, n, i - 1, j));
        vput(V, n, i, j, 0);
        vput(V, n, j, i, 0);
      }
    } else {
      for (let k = 0; k < i; k++) {
        put(d, k, get(d, k) / scale);
        h += get(d, k) * get(d, k);
      }
      let f = get(d, i - 1);
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      put(e, i, scale * g);
      h = h - f * g;
      put(d, i - 1, f - g);
      for (let j = 0; j < i; j++) put(e, j, 0);
      for (let j = 0; j < i; j++) {
        f = get(d, j);
        vput(V, n, j, i, f);
        g = get(e, j) + vget(V, n, j, j) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += vget(V, n, k, j) * get(d, k);
          put(e, k, get(e, k) + vget(V, n, k, j) * f);
        }
        put(e, j, g);
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        put(e, j, get(e, j) / h);
        f += get(e, j) * get(d, j);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) put(e, j, get(e, j) - hh * get(d, j));
      for (let j = 0; j < i; j++) {
        f = get(d, j);
        g = get(e, j);
        for (let k = j; k <= i - 1; k++) vput(V, n, k, j, vget(V, n, k, j) - (f * get(e, k) + g * get(d, k)));
        put(d, j, vget(V, n, i - 1, j));
        vput(V, n, i, j, 0);
      }
    }
    put(d, i, h);
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    vput(V, n, n - 1, i, vget(V, n, i, i));
    vput(V, n, i, i, 1);
    const h = get(d, i + 1);
    if (h != 0) {
      for (let k = 0; k <= i; k++) put(d, k, vget(V, n, k, i + 1) / h);
      for (let j = 0; j <= i; j++) {
        const g = dot(col(V, n, i + 1), col(V, n, j), i + 1);
        axpy(col(V, n, j), -g, d, i + 1);
      }
    }
    for (let k = 0; k <= i; k++) vput(V, n, k, i + 1, 0);
  }
  for (let j = 0; j < n; j++) {
    put(d, j, vget(V, n, n - 1, j));
    vput(V, n, n - 1, j, 0);
  }
  vput(V, n, n - 1, n - 1, 1);
  put(e, 0, 0);
}

function tql2(V: usize, d: usize, e: usize, n: i32, maxIter: i32): i32 {
  for (let i = 1; i < n; i++) put(e, i - 1, get(e, i));
  put(e, n - 1, 0);
  let f: f64 = 0;
  let tst1: f64 = 0;
  let worst = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(get(d, l)) + Math.abs(get(e, l)));
    let m = l;
    while (m < n) {
      if (Math.abs(get(e, m)) <= EPS * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > maxIter) return -1;
        let g = get(d, l);
        let p = (get(d, l + 1) - g) / (2 * get(e, l));
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        put(d, l, get(e, l) / (p + r));
        put(d, l + 1, get(e, l) * (p + r));
        const dl1 = get(d, l + 1);
        let h = g - get(d, l);
        for (let i = l + 2; i < n; i++) put(d, i, get(d, i) - h);
        f = f + h;
        p = get(d, m);
        let c: f64 = 1, c2: f64 = 1, c3: f64 = 1;
        const el1 = get(e, l + 1);
        let s: f64 = 0, s2: f64 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * get(e, i);
          h = c * p;
          r = hypot(p, get(e, i));
          put(e, i + 1, s * r);
          s = get(e, i) / r;
          c = p / r;
          p = c * get(d, i) - s * g;
          put(d, i + 1, h + s * (c * g + s * get(d, i)));
          // Columns i, i+1 of V: x ← c·x − s·y, y ← s·x + c·y.
          rot(col(V, n, i), col(V, n, i + 1), c, -s, n);
        }
        p = -s * s2 * c3 * el1 * get(e, l) / dl1;
        put(e, l, s * p);
        put(d, l, c * p);
      } while (Math.abs(get(e, l)) > EPS * tst1);
      worst = max(worst, iter);
    }
    put(d, l, get(d, l) + f);
    put(e, l, 0);
  }
  // Selection sort, ascending, moving the vectors along.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = get(d, i);
    for (let j = i + 1; j < n; j++) {
      if (get(d, j) < p) {
        k = j;
        p = get(d, j);
      }
    }
    if (k != i) {
      put(d, k, get(d, i));
      put(d, i, p);
      for (let r = 0; r < n; r++) {
        const t = vget(V, n, r, i);
        vput(V, n, r, i, vget(V, n, r, k));
        vput(V, n, r, k, t);
      }
    }
  }
  return worst;
}

/** f64 scratch values qr_f32 needs. */
export function qr_scratch_f64(m: i32, n: i32): i32 {
  return m * n + m * min(m, n) + n;
}

/** Householder QR of `batch` row-major m×n matrices: q batch×m×kk, r batch×kk×n, kk = min(m, n). */
export function qr_f32(qPtr: usize, rPtr: usize, aPtr: usize, workPtr: usize, batch: i32, m: i32, n: i32): void {
  const kk = min(m, n);
  const QR = workPtr;
  const Q = QR + ((<usize>m * <usize>n) << 3);
  const rdiag = Q + ((<usize>m * <usize>kk) << 3);
  for (let b = 0; b < batch; b++) {
    loadColMajor(QR, aPtr + ((<usize>b * <usize>m * <usize>n) << 2), m, n);
    for (let k = 0; k < kk; k++) {
      const norm = householder(el(QR, m, k, k), m - k);
      if (norm != 0) {
        for (let j = k + 1; j < n; j++) {
          const s = -dot(el(QR, m, k, k), el(QR, m, k, j), m - k) / load<f64>(el(QR, m, k, k));
          axpy(el(QR, m, k, j), s, el(QR, m, k, k), m - k);
        }
      }
      put(rdiag, k, -norm);
    }
    const rOut = rPtr + ((<usize>b * <usize>kk * <usize>n) << 2);
    for (let i = 0; i < kk; i++) {
      for (let j = 0; j < n; j++) {
        const v: f64 = i < j ? load<f64>(el(QR, m, i, j)) : i == j ? get(rdiag, i) : 0;
        store<f32>(rOut + ((<usize>i * <usize>n + <usize>j) << 2), <f32>v);
      }
    }
    // Q: apply the reflections, last first, to the leading kk columns of the identity.
    for (let k = kk - 1; k >= 0; k--) {
      memory.fill(col(Q, m, k), 0, <usize>m << 3);
      store<f64>(el(Q, m, k, k), 1);
      for (let j = k; j < kk; j++) {
        if (load<f64>(el(QR, m, k, k)) != 0) {
          const s = -dot(el(QR, m, k, k), el(Q, m, k, j), m - k) / load<f64>(el(QR, m, k, k));
          axpy(el(Q, m, k, j), s, el(QR, m, k, k), m - k);
        }
      }
    }
    const qOut = qPtr + ((<usize>b * <usize>m * <usize>kk) << 2);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < kk; j++) store<f32>(qOut + ((<usize>i * <usize>kk + <usize>j) << 2), <f32>load<f64>(el(Q, m, i, j)));
    }
  }
}
