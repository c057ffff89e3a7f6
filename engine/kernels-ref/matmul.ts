// Twin of kernels-as/matmul.ts: the same products without the packing and blocking. Each output
// element is the sequential sum Σ_p a[i,p]·b[p,j] in increasing p, rounded to f32 after each
// multiply and each add, as the kernel's micro-kernel does across its KC blocks; booleans arrive as 0/1.
import { GEMM_SCRATCH_F32, KC } from "../../kernels-as/shared.ts";
import { fillDraw } from "./draws.ts";
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";

const fr = Math.fround;

export function createMatmulRef(heap: Heap) {
  return twins("matmul", {
    gemm_scratch_f32(): number {
      return GEMM_SCRATCH_F32;
    },
    gemm_f32(
      outPtr: number, aPtr: number, bPtr: number, packPtr: number,
      batch: number, m: number, k: number, n: number, aStride: number, bStride: number,
      transA: number, transB: number, rowFrom: number, rowTo: number,
    ): void {
      const mem = heap.f32();
      for (let bi = 0; bi < batch; bi++) {
        const a = (aPtr >>> 2) + bi * aStride, b = (bPtr >>> 2) + bi * bStride, out = (outPtr >>> 2) + bi * m * n;
        for (let i = rowFrom; i < rowTo; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) {
              const av = transA ? mem[a + p * m + i] : mem[a + i * k + p];
              const bv = transB ? mem[b + j * k + p] : mem[b + p * n + j];
              s = fr(s + fr(av * bv));
            }
            mem[out + i * n + j] = s;
          }
        }
      }
    },
    gemm_drawn_scratch_f32(): number {
      // kernels-as/matmul.ts: a row of a drawn block in whole groups of 32 normals.
      return GEMM_SCRATCH_F32 + KC + 2 * 32;
    },
    gemm_drawn_f32(
      outPtr: number, aPtr: number, packPtr: number, batch: number, m: number, k: number, n: number, aStride: number, transA: number,
      dist: number, k0: number, k1: number, c0: number, c1: number, colFrom: number, colTo: number,
    ): void {
      const mem = heap.f32();
      const v = new Float32Array(k);
      for (let bi = 0; bi < batch; bi++) {
        const a = (aPtr >>> 2) + bi * aStride, out = (outPtr >>> 2) + bi * m * n;
        for (let j = colFrom; j < colTo; j++) {
          fillDraw(v, 0, bi * n * k + j * k, k, dist, k0, k1, c0, c1);
          for (let i = 0; i < m; i++) {
            let s = 0;
            for (let p = 0; p < k; p++) s = fr(s + fr((transA ? mem[a + p * m + i] : mem[a + i * k + p]) * v[p]));
            mem[out + i * n + j] = s;
          }
        }
      }
    },
    transpose_f32(outPtr: number, xPtr: number, batch: number, rows: number, cols: number): void {
      const m = heap.f32(), out = outPtr >>> 2, x = xPtr >>> 2, plane = rows * cols;
      for (let b = 0; b < batch; b++) {
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) m[out + b * plane + c * rows + r] = m[x + b * plane + r * cols + c];
        }
      }
    },
    gemv_f32(yPtr: number, aPtr: number, xPtr: number, m: number, n: number, trans: number): void {
      const mem = heap.f32(), y = yPtr >>> 2, a = aPtr >>> 2, x = xPtr >>> 2;
      if (!trans) {
        const body = n & ~3;
        for (let i = 0; i < m; i++) {
          const lanes = [0, 0, 0, 0];
          for (let j = 0; j < body; j++) lanes[j & 3] = fr(lanes[j & 3] + fr(mem[a + i * n + j] * mem[x + j]));
          let s = fr(fr(lanes[0] + lanes[1]) + fr(lanes[2] + lanes[3]));
          for (let j = body; j < n; j++) s = fr(s + fr(mem[a + i * n + j] * mem[x + j]));
          mem[y + i] = s;
        }
        return;
      }
      mem.fill(0, y, y + n);
      for (let i = 0; i < m; i++) {
        const xi = mem[x + i];
        for (let j = 0; j < n; j++) mem[y + j] = mem[y + j] + fr(xi * mem[a + i * n + j]);
      }
    },
    masked_products_scratch(d: number, c: number): number {
      return d + d * ((c + 3) & ~3) + 8;
    },
    masked_products_f32(outPtr: number, xPtr: number, gramPtr: number, maskPtr: number, workPtr: number, batch: number, d: number, c: number): void {
      const mem = heap.f32();
      const gram = gramPtr >>> 2;
      for (let b = 0; b < batch; b++) {
        const x = (xPtr >>> 2) + b * c * d, out = (outPtr >>> 2) + b * c * d, mask = (maskPtr >>> 2) + b * d;
        const active: number[] = [];
        for (let j = 0; j < d; j++) if (mem[mask + j] !== 0) active.push(j);
        mem.fill(0, out, out + c * d);
        for (const i of active) {
          for (let r = 0; r < c; r++) {
            let s = 0;
            for (const j of active) s = fr(s + fr(mem[x + r * d + j] * mem[gram + i * d + j]));
            mem[out + r * d + i] = s;
          }
        }
      }
    },
    rowdots_f32(outPtr: number, aPtr: number, cPtr: number, batch: number, m: number, n: number, k: number): void {
      const mem = heap.f32();
      const body = k & ~3;
      for (let b = 0; b < batch; b++) {
        const a = (aPtr >>> 2) + b * m * k, c = (cPtr >>> 2) + b * n * k, out = (outPtr >>> 2) + b * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const lanes = [0, 0, 0, 0];
            for (let p = 0; p < body; p++) lanes[p & 3] = fr(lanes[p & 3] + fr(mem[a + i * k + p] * mem[c + j * k + p]));
            let s = fr(fr(lanes[0] + lanes[1]) + fr(lanes[2] + lanes[3]));
            for (let p = body; p < k; p++) s = fr(s + fr(mem[a + i * k + p] * mem[c + j * k + p]));
            mem[out + i * n + j] = s;
          }
        }
      }
    },
  });
}
