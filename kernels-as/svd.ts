// Singular value decomposition of f32 matrices with m ≥ n (callers transpose wider ones), in f64
// inside: Householder bidiagonalisation, then Golub–Kahan implicit-shift QR on the bidiagonal
// (Golub & Van Loan §8.6; the LINPACK dsvdc formulation as in JAMA's SingularValueDecomposition).
// Working arrays are column-major f64 in the caller's scratch; outputs are row-major f32:
// u m×nu (nu = n thin, m full), s n descending and non-negative, v n×n, with a = u·diag(s)·vᵀ.
import { axpy, col, dot, el, get, householder, hypot, loadColMajor, put, rot, storeRowMajor } from "./f64";

const EPS: f64 = 2.220446049250313e-16;
const TINY: f64 = 1.6033346880071782e-291;

/** f64 scratch values svd_f32 needs per call (reused across the batch). */
export function svd_scratch_f64(m: i32, n: i32, full: bool): i32 {
  const nu = full ? m : n;
  return m * n + m * nu + n * n + 3 * n + m + 2;
}

/**
 * Decomposes `batch` row-major m×n matrices (a[b] at aPtr + b·m·n floats) into u, s, v, each stacked
 * the same way. Returns the largest number of QR sweeps any singular value needed, or −1 if one did
 * not converge within maxIter sweeps (outputs are then incomplete).
 */
export function svd_f32(uPtr: usize, sPtr: usize, vPtr: usize, aPtr: usize, workPtr: usize, batch: i32, m: i32, n: i32, full: bool, maxIter: i32): i32 {
  const nu = full ? m : n;
  const A = workPtr;
  const U = A + ((<usize>m * <usize>n) << 3);
  const V = U + ((<usize>m * <usize>nu) << 3);
  const s = V + ((<usize>n * <usize>n) << 3);
  const e = s + ((<usize>n + 1) << 3);
  const work = e + ((<usize>n + 1) << 3);
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    loadColMajor(A, aPtr + ((<usize>b * <usize>m * <usize>n) << 2), m, n);
    const sweeps = decompose(A, U, V, s, e, work, m, n, nu, maxIter);
    if (sweeps < 0) return -1;
    worst = max(worst, sweeps);
    storeRowMajor(uPtr + ((<usize>b * <usize>m * <usize>nu) << 2), U, m, nu);
    storeRowMajor(vPtr + ((<usize>b * <usize>n * <usize>n) << 2), V, n, n);
    for (let j = 0; j < n; j++) store<f32>(sPtr + ((<usize>b * <usize>n + <usize>j) << 2), <f32>load<f64>(s + (<usize>j << 3)));
  }
  return worst;
}

function identityColumn(M: usize, rows: i32, j: i32): void {
  memory.fill(col(M, rows, j), 0, <usize>rows << 3);
  store<f64>(el(M, rows, j, j), 1);
}

function decompose(A: usize, U: usize, V: usize, s: usize, e: usize, work: usize, m: i32, n: i32, nu: i32, maxIter: i32): i32 {
  const nct = min(m - 1, n);
  const nrt = max(0, min(n - 2, m));
  memory.fill(U, 0, (<usize>m * <usize>nu) << 3);
  memory.fill(V, 0, (<usize>n * <usize>n) << 3);
  // Bidiagonalisation: Householder reflections from the left (columns) and right (rows) alternately.
  for (let k = 0; k < max(nct, nrt); k++) {
    if (k < nct) put(s, k, -householder(el(A, m, k, k), m - k));
    for (let j = k + 1; j < n; j++) {
      if (k < nct && get(s, k) != 0) {
        const t = -dot(el(A, m, k, k), el(A, m, k, j), m - k) / load<f64>(el(A, m, k, k));
        axpy(el(A, m, k, j), t, el(A, m, k, k), m - k);
      }
      put(e, j, load<f64>(el(A, m, k, j)));
    }
    if (k < nct) memory.copy(el(U, m, k, k), el(A, m, k, k), <usize>(m - k) << 3);
    if (k < nrt) {
      const norm = householder(e + ((<usize>k + 1) << 3), n - k - 1);
      put(e, k, -norm);
      if (k + 1 < m && norm != 0) {
        memory.fill(work + ((<usize>k + 1) << 3), 0, <usize>(m - k - 1) << 3);
        for (let j = k + 1; j < n; j++) axpy(work + ((<usize>k + 1) << 3), get(e, j), el(A, m, k + 1, j), m - k - 1);
        for (let j = k + 1; j < n; j++) axpy(el(A, m, k + 1, j), -get(e, j) / get(e, k + 1), work + ((<usize>k + 1) << 3), m - k - 1);
      }
      for (let i = k + 1; i < n; i++) store<f64>(el(V, n, i, k), get(e, i));
    }
  }
  let p = min(n, m + 1);
  if (nct < n) put(s, nct, load<f64>(el(A, m, nct, nct)));
  if (m < p) put(s, p - 1, 0);
  if (nrt + 1 < p) put(e, nrt, load<f64>(el(A, m, nrt, p - 1)));
  put(e, p - 1, 0);

  // U: accumulate the left reflections backwards.
  for (let j = nct; j < nu; j++) identityColumn(U, m, j);
  for (let k = nct - 1; k >= 0; k--) {
    if (get(s, k) != 0) {
      for (let j = k + 1; j < nu; j++) {
        const t = -dot(el(U, m, k, k), el(U, m, k, j), m - k) / load<f64>(el(U, m, k, k));
        axpy(el(U, m, k, j), t, el(U, m, k, k), m - k);
      }
      for (let i = k; i < m; i++) store<f64>(el(U, m, i, k), -load<f64>(el(U, m, i, k)));
      store<f64>(el(U, m, k, k), 1 + load<f64>(el(U, m, k, k)));
      for (let i = 0; i < k; i++) store<f64>(el(U, m, i, k), 0);
    } else {
      identityColumn(U, m, k);
    }
  }
  // V: accumulate the right reflections backwards.
  for (let k = n - 1; k >= 0; k--) {
    if (k < nrt && get(e, k) != 0) {
      for (let j = k + 1; j < n; j++) {
        const t = -dot(el(V, n, k + 1, k), el(V, n, k + 1, j), n - k - 1) / load<f64>(el(V, n, k + 1, k));
        axpy(el(V, n, k + 1, j), t, el(V, n, k + 1, k), n - k - 1);
      }
    }
    identityColumn(V, n, k);
  }
  return qrSweeps(U, V, s, e, m, n, p, maxIter);
}

/** Implicit-shift QR on the bidiagonal (s, e), rotating the columns of U and V along. */
function qrSweeps(U: usize, V: usize, s: usize, e: usize, m: i32, n: i32, p: i32, maxIter: i32): i32 {
  const pp = p - 1;
  let iter = 0;
  let worst = 0;
  while (p > 0) {
    if (iter > maxIter) return -1;
    // Find k: e[k] negligible (a split), or k = −1.
    let k = p - 2;
    for (; k >= 0; k--) {
      if (Math.abs(get(e, k)) <= TINY + EPS * (Math.abs(get(s, k)) + Math.abs(get(s, k + 1)))) {
        put(e, k, 0);
        break;
      }
    }
    let kase: i32;
    if (k == p - 2) {
      kase = 4;
    } else {
      let ks = p - 1;
      for (; ks > k; ks--) {
        const t = (ks != p ? Math.abs(get(e, ks)) : 0) + (ks != k + 1 ? Math.abs(get(e, ks - 1)) : 0);
        if (Math.abs(get(s, ks)) <= TINY + EPS * t) {
          put(s, ks, 0);
          break;
        }
      }
      if (ks == k) kase = 3;
      else if (ks == p - 1) kase = 1;
      else {
        kase = 2;
        k = ks;
      }
    }
    k++;
    if (kase == 1) {
      // Deflate a negligible s[p−1].
      let f = get(e, p - 2);
      put(e, p - 2, 0);
      for (let j = p - 2; j >= k; j--) {
        const t = hypot(get(s, j), f);
        const cs = get(s, j) / t, sn = f / t;
        put(s, j, t);
        if (j != k) {
          f = -sn * get(e, j - 1);
          put(e, j - 1, cs * get(e, j - 1));
        }
        rot(col(V, n, j), col(V, n, p - 1), cs, sn, n);
      }
    } else if (kase == 2) {
      // Split at a negligible s[k−1].
      let f = get(e, k - 1);
      put(e, k - 1, 0);
      for (let j = k; j < p; j++) {
        const t = hypot(get(s, j), f);
        const cs = get(s, j) / t, sn = f / t;
        put(s, j, t);
        f = -sn * get(e, j);
        put(e, j, cs * get(e, j));
        rot(col(U, m, j), col(U, m, k - 1), cs, sn, m);
      }
    } else if (kase == 3) {
      // One QR step with the Wilkinson-style shift from the trailing 2×2.
      const scale = Math.max(Math.max(Math.max(Math.max(Math.abs(get(s, p - 1)), Math.abs(get(s, p - 2))), Math.abs(get(e, p - 2))), Math.abs(get(s, k))), Math.abs(get(e, k)));
      const sp = get(s, p - 1) / scale, spm1 = get(s, p - 2) / scale, epm1 = get(e, p - 2) / scale;
      const sk = get(s, k) / scale, ek = get(e, k) / scale;
      const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
      const c = (sp * epm1) * (sp * epm1);
      let shift: f64 = 0;
      if (b != 0 || c != 0) {
        shift = Math.sqrt(b * b + c);
        if (b < 0) shift = -shift;
        shift = c / (b + shift);
      }
      let f = (sk + sp) * (sk - sp) + shift;
      let g = sk * ek;
      for (let j = k; j < p - 1; j++) {
        let t = hypot(f, g);
        let cs = f / t, sn = g / t;
        if (j != k) put(e, j - 1, t);
        f = cs * get(s, j) + sn * get(e, j);
        put(e, j, cs * get(e, j) - sn * get(s, j));
        g = sn * get(s, j + 1);
        put(s, j + 1, cs * get(s, j + 1));
        rot(col(V, n, j), col(V, n, j + 1), cs, sn, n);
        t = hypot(f, g);
        cs = f / t;
        sn = g / t;
        put(s, j, t);
        f = cs * get(e, j) + sn * get(s, j + 1);
        put(s, j + 1, -sn * get(e, j) + cs * get(s, j + 1));
        g = sn * get(e, j + 1);
        put(e, j + 1, cs * get(e, j + 1));
        if (j < m - 1) rot(col(U, m, j), col(U, m, j + 1), cs, sn, m);
      }
      put(e, p - 2, f);
      iter++;
    } else {
      // Converged: make s[k] non-negative, move it into descending order.
      if (get(s, k) <= 0) {
        put(s, k, get(s, k) < 0 ? -get(s, k) : 0);
        for (let i = 0; i <= pp; i++) store<f64>(el(V, n, i, k), -load<f64>(el(V, n, i, k)));
      }
      while (k < pp) {
        if (get(s, k) >= get(s, k + 1)) break;
        const t = get(s, k);
        put(s, k, get(s, k + 1));
        put(s, k + 1, t);
        if (k < n - 1) swapColumns(V, n, k);
        if (k < m - 1) swapColumns(U, m, k);
        k++;
      }
      worst = max(worst, iter);
      iter = 0;
      p--;
    }
  }
  return worst;
}

function swapColumns(M: usize, rows: i32, k: i32): void {
  const a = col(M, rows, k), b = col(M, rows, k + 1);
  for (let i = 0; i < rows; i++) {
    const o = <usize>i << 3;
    const t = load<f64>(a + o);
    store<f64>(a + o, load<f64>(b + o));
    store<f64>(b + o, t);
  }
}
