// Twin of kernels-as/f64.ts: the f64 vector helpers of the decompositions, over the engine's memory
// as one Float64Array (x, y are element indices; the f32 sides of loadColMajor/storeRowMajor are byte
// pointers). dot keeps the kernel's two lane sums; f64 arithmetic and √ are exact in both, so the
// results are the same bits.
import type { Heap } from "../heap.ts";

export function hypot(a: number, b: number): number {
  const aa = Math.abs(a), ab = Math.abs(b);
  if (aa > ab) {
    const r = b / a;
    return aa * Math.sqrt(1 + r * r);
  }
  if (b !== 0) {
    const r = a / b;
    return ab * Math.sqrt(1 + r * r);
  }
  return 0;
}

/** The f64 vector helpers over `heap`'s memory. */
export function f64Helpers(heap: Heap) {
  return {
    dot(x: number, y: number, len: number): number {
      const d = heap.f64();
      const body = len & ~1;
      let l0 = 0, l1 = 0;
      for (let i = 0; i < body; i += 2) {
        l0 += d[x + i] * d[y + i];
        l1 += d[x + i + 1] * d[y + i + 1];
      }
      let s = l0 + l1;
      if (body < len) s += d[x + body] * d[y + body];
      return s;
    },
    axpy(y: number, t: number, x: number, len: number): void {
      const d = heap.f64();
      for (let i = 0; i < len; i++) d[y + i] = d[y + i] + t * d[x + i];
    },
    /** x becomes a Householder vector in place; returns ±‖x‖. */
    householder(x: number, len: number): number {
      const d = heap.f64();
      let norm = 0;
      for (let i = 0; i < len; i++) norm = hypot(norm, d[x + i]);
      if (norm !== 0) {
        if (d[x] < 0) norm = -norm;
        for (let i = 0; i < len; i++) d[x + i] = d[x + i] / norm;
        d[x] = d[x] + 1;
      }
      return norm;
    },
    rot(x: number, y: number, cs: number, sn: number, len: number): void {
      const d = heap.f64();
      for (let i = 0; i < len; i++) {
        const xv = d[x + i], yv = d[y + i];
        d[x + i] = cs * xv + sn * yv;
        d[y + i] = -sn * xv + cs * yv;
      }
    },
    loadColMajor(dst: number, srcPtr: number, rows: number, cols: number): void {
      const d = heap.f64(), f = heap.f32(), src = srcPtr >>> 2;
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) d[dst + j * rows + i] = f[src + i * cols + j];
    },
    storeRowMajor(dstPtr: number, src: number, rows: number, cols: number): void {
      const d = heap.f64(), f = heap.f32(), dst = dstPtr >>> 2;
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) f[dst + i * cols + j] = d[src + j * rows + i];
    },
  };
}
