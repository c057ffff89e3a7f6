// Twin of kernels-as/svd.ts: Householder bidiagonalisation and Golub–Kahan QR in f64, operation for
// operation (f64 arithmetic and √ are exact in both), so the two give the same bits. Addresses are
// byte pointers into the engine's memory as in the kernel; f64 working arrays are column-major.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { f64Helpers, hypot } from "./f64.ts";

const EPS = 2.220446049250313e-16;
const TINY = 1.6033346880071782e-291;

export function createSvdRef(heap: Heap) {
  const { dot, axpy, householder, rot, loadColMajor, storeRowMajor } = f64Helpers(heap);

  function decompose(A: number, U: number, V: number, s: number, e: number, work: number, m: number, n: number, nu: number, maxIter: number): number {
    const d = heap.f64();
    const at = (M: number, rows: number, i: number, j: number) => M + j * rows + i;
    const identityColumn = (M: number, rows: number, j: number) => {
      d.fill(0, M + j * rows, M + (j + 1) * rows);
      d[at(M, rows, j, j)] = 1;
    };
    const nct = Math.min(m - 1, n);
    const nrt = Math.max(0, Math.min(n - 2, m));
    d.fill(0, U, U + m * nu);
    d.fill(0, V, V + n * n);
    for (let k = 0; k < Math.max(nct, nrt); k++) {
      if (k < nct) d[s + k] = -householder(at(A, m, k, k), m - k);
      for (let j = k + 1; j < n; j++) {
        if (k < nct && d[s + k] !== 0) {
          const t = -dot(at(A, m, k, k), at(A, m, k, j), m - k) / d[at(A, m, k, k)];
          axpy(at(A, m, k, j), t, at(A, m, k, k), m - k);
        }
        d[e + j] = d[at(A, m, k, j)];
      }
      if (k < nct) d.copyWithin(at(U, m, k, k), at(A, m, k, k), at(A, m, k, k) + m - k);
      if (k < nrt) {
        const norm = householder(e + k + 1, n - k - 1);
        d[e + k] = -norm;
        if (k + 1 < m && norm !== 0) {
          d.fill(0, work + k + 1, work + m);
          for (let j = k + 1; j < n; j++) axpy(work + k + 1, d[e + j], at(A, m, k + 1, j), m - k - 1);
          for (let j = k + 1; j < n; j++) axpy(at(A, m, k + 1, j), -d[e + j] / d[e + k + 1], work + k + 1, m - k - 1);
        }
        for (let i = k + 1; i < n; i++) d[at(V, n, i, k)] = d[e + i];
      }
    }
    let p = Math.min(n, m + 1);
    if (nct < n) d[s + nct] = d[at(A, m, nct, nct)];
    if (m < p) d[s + p - 1] = 0;
    if (nrt + 1 < p) d[e + nrt] = d[at(A, m, nrt, p - 1)];
    d[e + p - 1] = 0;
    for (let j = nct; j < nu; j++) identityColumn(U, m, j);
    for (let k = nct - 1; k >= 0; k--) {
      if (d[s + k] !== 0) {
        for (let j = k + 1; j < nu; j++) {
          const t = -dot(at(U, m, k, k), at(U, m, k, j), m - k) / d[at(U, m, k, k)];
          axpy(at(U, m, k, j), t, at(U, m, k, k), m - k);
        }
        for (let i = k; i < m; i++) d[at(U, m, i, k)] = -d[at(U, m, i, k)];
        d[at(U, m, k, k)] = 1 + d[at(U, m, k, k)];
        for (let i = 0; i < k; i++) d[at(U, m, i, k)] = 0;
      } else {
        identityColumn(U, m, k);
      }
    }
    for (let k = n - 1; k >= 0; k--) {
      if (k < nrt && d[e + k] !== 0) {
        for (let j = k + 1; j < n; j++) {
          const t = -dot(at(V, n, k + 1, k), at(V, n, k + 1, j), n - k - 1) / d[at(V, n, k + 1, k)];
          axpy(at(V, n, k + 1, j), t, at(V, n, k + 1, k), n - k - 1);
        }
      }
      identityColumn(V, n, k);
    }

    const pp = p - 1;
    let iter = 0;
    let worst = 0;
    const swapColumns = (M: number, rows: number, k: number) => {
      for (let i = 0; i < rows; i++) {
        const t = d[M + k * rows + i];
        d[M + k * rows + i] = d[M + (k + 1) * rows + i];
        d[M + (k + 1) * rows + i] = t;
      }
    };
    while (p > 0) {
      if (iter > maxIter) return -1;
      let k = p - 2;
      for (; k >= 0; k--) {
        if (Math.abs(d[e + k]) <= TINY + EPS * (Math.abs(d[s + k]) + Math.abs(d[s + k + 1]))) {
          d[e + k] = 0;
          break;
        }
      }
      let kase: number;
      if (k === p - 2) {
        kase = 4;
      } else {
        let ks = p - 1;
        for (; ks > k; ks--) {
          const t = (ks !== p ? Math.abs(d[e + ks]) : 0) + (ks !== k + 1 ? Math.abs(d[e + ks - 1]) : 0);
          if (Math.abs(d[s + ks]) <= TINY + EPS * t) {
            d[s + ks] = 0;
            break;
          }
        }
        if (ks === k) kase = 3;
        else if (ks === p - 1) kase = 1;
        else {
          kase = 2;
          k = ks;
        }
      }
      k++;
      if (kase === 1) {
        let f = d[e + p - 2];
        d[e + p - 2] = 0;
        for (let j = p - 2; j >= k; j--) {
          const t = hypot(d[s + j], f);
          const cs = d[s + j] / t, sn = f / t;
          d[s + j] = t;
          if (j !== k) {
            f = -sn * d[e + j - 1];
            d[e + j - 1] = cs * d[e + j - 1];
          }
          rot(V + j * n, V + (p - 1) * n, cs, sn, n);
        }
      } else if (kase === 2) {
        let f = d[e + k - 1];
        d[e + k - 1] = 0;
        for (let j = k; j < p; j++) {
          const t = hypot(d[s + j], f);
          const cs = d[s + j] / t, sn = f / t;
          d[s + j] = t;
          f = -sn * d[e + j];
          d[e + j] = cs * d[e + j];
          rot(U + j * m, U + (k - 1) * m, cs, sn, m);
        }
      } else if (kase === 3) {
        const scale = Math.max(Math.max(Math.max(Math.max(Math.abs(d[s + p - 1]), Math.abs(d[s + p - 2])), Math.abs(d[e + p - 2])), Math.abs(d[s + k])), Math.abs(d[e + k]));
        const sp = d[s + p - 1] / scale, spm1 = d[s + p - 2] / scale, epm1 = d[e + p - 2] / scale;
        const sk = d[s + k] / scale, ek = d[e + k] / scale;
        const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
        const c = (sp * epm1) * (sp * epm1);
        let shift = 0;
        if (b !== 0 || c !== 0) {
          shift = Math.sqrt(b * b + c);
          if (b < 0) shift = -shift;
          shift = c / (b + shift);
        }
        let f = (sk + sp) * (sk - sp) + shift;
        let g = sk * ek;
        for (let j = k; j < p - 1; j++) {
          let t = hypot(f, g);
          let cs = f / t, sn = g / t;
          if (j !== k) d[e + j - 1] = t;
          f = cs * d[s + j] + sn * d[e + j];
          d[e + j] = cs * d[e + j] - sn * d[s + j];
          g = sn * d[s + j + 1];
          d[s + j + 1] = cs * d[s + j + 1];
          rot(V + j * n, V + (j + 1) * n, cs, sn, n);
          t = hypot(f, g);
          cs = f / t;
          sn = g / t;
          d[s + j] = t;
          f = cs * d[e + j] + sn * d[s + j + 1];
          d[s + j + 1] = -sn * d[e + j] + cs * d[s + j + 1];
          g = sn * d[e + j + 1];
          d[e + j + 1] = cs * d[e + j + 1];
          if (j < m - 1) rot(U + j * m, U + (j + 1) * m, cs, sn, m);
        }
        d[e + p - 2] = f;
        iter++;
      } else {
        if (d[s + k] <= 0) {
          d[s + k] = d[s + k] < 0 ? -d[s + k] : 0;
          for (let i = 0; i <= pp; i++) d[at(V, n, i, k)] = -d[at(V, n, i, k)];
        }
        while (k < pp) {
          if (d[s + k] >= d[s + k + 1]) break;
          const t = d[s + k];
          d[s + k] = d[s + k + 1];
          d[s + k + 1] = t;
          if (k < n - 1) swapColumns(V, n, k);
          if (k < m - 1) swapColumns(U, m, k);
          k++;
        }
        worst = Math.max(worst, iter);
        iter = 0;
        p--;
      }
    }
    return worst;
  }

  return twins("svd", {
    svd_scratch_f64(m: number, n: number, full: number): number {
      const nu = full ? m : n;
      return m * n + m * nu + n * n + 3 * n + m + 2;
    },
    svd_f32(uPtr: number, sPtr: number, vPtr: number, aPtr: number, workPtr: number, batch: number, m: number, n: number, full: number, maxIter: number): number {
      const nu = full ? m : n;
      const A = workPtr >>> 3;
      const U = A + m * n, V = U + m * nu, s = V + n * n, e = s + n + 1, work = e + n + 1;
      let worst = 0;
      for (let b = 0; b < batch; b++) {
        loadColMajor(A, aPtr + b * m * n * 4, m, n);
        const sweeps = decompose(A, U, V, s, e, work, m, n, nu, maxIter);
        if (sweeps < 0) return -1;
        worst = Math.max(worst, sweeps);
        storeRowMajor(uPtr + b * m * nu * 4, U, m, nu);
        storeRowMajor(vPtr + b * n * n * 4, V, n, n);
        const f = heap.f32(), d = heap.f64();
        for (let j = 0; j < n; j++) f[(sPtr >>> 2) + b * n + j] = d[s + j];
      }
      return worst;
    },
  });
}
