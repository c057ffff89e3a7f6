// Twin of kernels-as/eigh.ts (tred2/tql2 symmetric eigendecomposition and Householder QR),
// operation for operation, over the same column-major f64 scratch.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { f64Helpers, hypot } from "./f64.ts";

const EPS = 2.220446049250313e-16;

export function createEighRef(heap: Heap) {
  const { dot, axpy, householder, rot, loadColMajor } = f64Helpers(heap);

  function tred2(V: number, d: number, e: number, n: number): void {
    const x = heap.f64();
    const at = (i: number, j: number) => V + j * n + i;
    for (let j = 0; j < n; j++) x[d + j] = x[at(n - 1, j)];
    for (let i = n - 1; i > 0; i--) {
      let scale = 0;
      let h = 0;
      for (let k = 0; k < i; k++) scale += Math.abs(x[d + k]);
      if (scale === 0) {
        x[e + i] = x[d + i - 1];
        for (let j = 0; j < i; j++) {
          x[d + j] = x[at(i - 1, j)];
          x[at(i, j)] = 0;
          x[at(j, i)] = 0;
        }
      } else {
        for (let k = 0; k < i; k++) {
          x[d + k] = x[d + k] / scale;
          h += x[d + k] * x[d + k];
        }
        let f = x[d + i - 1];
        let g = Math.sqrt(h);
        if (f > 0) g = -g;
        x[e + i] = scale * g;
        h = h - f * g;
        x[d + i - 1] = f - g;
        for (let j = 0; j < i; j++) x[e + j] = 0;
        for (let j = 0; j < i; j++) {
          f = x[d + j];
          x[at(j, i)] = f;
          g = x[e + j] + x[at(j, j)] * f;
          for (let k = j + 1; k <= i - 1; k++) {
            g += x[at(k, j)] * x[d + k];
            x[e + k] = x[e + k] + x[at(k, j)] * f;
          }
          x[e + j] = g;
        }
        f = 0;
        for (let j = 0; j < i; j++) {
          x[e + j] = x[e + j] / h;
          f += x[e + j] * x[d + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j < i; j++) x[e + j] = x[e + j] - hh * x[d + j];
        for (let j = 0; j < i; j++) {
          f = x[d + j];
          g = x[e + j];
          for (let k = j; k <= i - 1; k++) x[at(k, j)] = x[at(k, j)] - (f * x[e + k] + g * x[d + k]);
          x[d + j] = x[at(i - 1, j)];
          x[at(i, j)] = 0;
        }
      }
      x[d + i] = h;
    }
    for (let i = 0; i < n - 1; i++) {
      x[at(n - 1, i)] = x[at(i, i)];
      x[at(i, i)] = 1;
      const h = x[d + i + 1];
      if (h !== 0) {
        for (let k = 0; k <= i; k++) x[d + k] = x[at(k, i + 1)] / h;
        for (let j = 0; j <= i; j++) {
          const g = dot(V + (i + 1) * n, V + j * n, i + 1);
          axpy(V + j * n, -g, d, i + 1);
        }
      }
      for (let k = 0; k <= i; k++) x[at(k, i + 1)] = 0;
    }
    for (let j = 0; j < n; j++) {
      x[d + j] = x[at(n - 1, j)];
      x[at(n - 1, j)] = 0;
    }
    x[at(n - 1, n - 1)] = 1;
    x[e] = 0;
  }

  function tql2(V: number, d: number, e: number, n: number, maxIter: number): number {
    const x = heap.f64();
    for (let i = 1; i < n; i++) x[e + i - 1] = x[e + i];
    x[e + n - 1] = 0;
    let f = 0;
    let tst1 = 0;
    let worst = 0;
    for (let l = 0; l < n; l++) {
      tst1 = Math.max(tst1, Math.abs(x[d + l]) + Math.abs(x[e + l]));
      let m = l;
      while (m < n) {
        if (Math.abs(x[e + m]) <= EPS * tst1) break;
        m++;
      }
      if (m > l) {
        let iter = 0;
        do {
          if (++iter > maxIter) return -1;
          let g = x[d + l];
          let p = (x[d + l + 1] - g) / (2 * x[e + l]);
          let r = hypot(p, 1);
          if (p < 0) r = -r;
          x[d + l] = x[e + l] / (p + r);
          x[d + l + 1] = x[e + l] * (p + r);
          const dl1 = x[d + l + 1];
          let h = g - x[d + l];
          for (let i = l + 2; i < n; i++) x[d + i] = x[d + i] - h;
          f = f + h;
          p = x[d + m];
          let c = 1, c2 = 1, c3 = 1;
          const el1 = x[e + l + 1];
          let s = 0, s2 = 0;
          for (let i = m - 1; i >= l; i--) {
            c3 = c2;
            c2 = c;
            s2 = s;
            g = c * x[e + i];
            h = c * p;
            r = hypot(p, x[e + i]);
            x[e + i + 1] = s * r;
            s = x[e + i] / r;
            c = p / r;
            p = c * x[d + i] - s * g;
            x[d + i + 1] = h + s * (c * g + s * x[d + i]);
            rot(V + i * n, V + (i + 1) * n, c, -s, n);
          }
          p = -s * s2 * c3 * el1 * x[e + l] / dl1;
          x[e + l] = s * p;
          x[d + l] = c * p;
        } while (Math.abs(x[e + l]) > EPS * tst1);
        worst = Math.max(worst, iter);
      }
      x[d + l] = x[d + l] + f;
      x[e + l] = 0;
    }
    for (let i = 0; i < n - 1; i++) {
      let k = i;
      let p = x[d + i];
      for (let j = i + 1; j < n; j++) {
        if (x[d + j] < p) {
          k = j;
          p = x[d + j];
        }
      }
      if (k !== i) {
        x[d + k] = x[d + i];
        x[d + i] = p;
        for (let r = 0; r < n; r++) {
          const t = x[V + i * n + r];
          x[V + i * n + r] = x[V + k * n + r];
          x[V + k * n + r] = t;
        }
      }
    }
    return worst;
  }

  return twins("eigh", {
    eigh_scratch_f64(n: number): number {
      return n * n + 2 * n;
    },
    eigh_f32(valuesPtr: number, vectorsPtr: number, aPtr: number, workPtr: number, batch: number, n: number, maxIter: number): number {
      const V = workPtr >>> 3, d = V + n * n, e = d + n;
      let worst = 0;
      for (let b = 0; b < batch; b++) {
        loadColMajor(V, aPtr + b * n * n * 4, n, n);
        tred2(V, d, e, n);
        const iters = tql2(V, d, e, n, maxIter);
        if (iters < 0) return -1;
        worst = Math.max(worst, iters);
        const f = heap.f32(), x = heap.f64();
        for (let j = 0; j < n; j++) {
          const src = n - 1 - j;
          f[(valuesPtr >>> 2) + b * n + j] = x[d + src];
          for (let i = 0; i < n; i++) f[(vectorsPtr >>> 2) + b * n * n + i * n + j] = x[V + src * n + i];
        }
      }
      return worst;
    },
    qr_scratch_f64(m: number, n: number): number {
      return m * n + m * Math.min(m, n) + n;
    },
    qr_f32(qPtr: number, rPtr: number, aPtr: number, workPtr: number, batch: number, m: number, n: number): void {
      const kk = Math.min(m, n);
      const QR = workPtr >>> 3, Q = QR + m * n, rdiag = Q + m * kk;
      const at = (M: number, i: number, j: number) => M + j * m + i;
      for (let b = 0; b < batch; b++) {
        loadColMajor(QR, aPtr + b * m * n * 4, m, n);
        const x = heap.f64();
        for (let k = 0; k < kk; k++) {
          const norm = householder(at(QR, k, k), m - k);
          if (norm !== 0) {
            for (let j = k + 1; j < n; j++) {
              const s = -dot(at(QR, k, k), at(QR, k, j), m - k) / x[at(QR, k, k)];
              axpy(at(QR, k, j), s, at(QR, k, k), m - k);
            }
          }
          x[rdiag + k] = -norm;
        }
        const f = heap.f32();
        const rOut = (rPtr >>> 2) + b * kk * n;
        for (let i = 0; i < kk; i++) {
          for (let j = 0; j < n; j++) f[rOut + i * n + j] = i < j ? x[at(QR, i, j)] : i === j ? x[rdiag + i] : 0;
        }
        for (let k = kk - 1; k >= 0; k--) {
          x.fill(0, Q + k * m, Q + (k + 1) * m);
          x[at(Q, k, k)] = 1;
          for (let j = k; j < kk; j++) {
            if (x[at(QR, k, k)] !== 0) {
              const s = -dot(at(QR, k, k), at(Q, k, j), m - k) / x[at(QR, k, k)];
              axpy(at(Q, k, j), s, at(QR, k, k), m - k);
            }
          }
        }
        const qOut = (qPtr >>> 2) + b * m * kk;
        for (let i = 0; i < m; i++) for (let j = 0; j < kk; j++) f[qOut + i * kk + j] = x[at(Q, i, j)];
      }
    },
  });
}
