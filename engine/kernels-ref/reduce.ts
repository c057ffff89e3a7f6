// Twin of kernels-as/reduce.ts: reductions over the middle axis of an [outer, len, inner] f32 tensor,
// summed in the kernel's order (four lane sums when inner is 1), rounded to f32 after every add.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";

const fr = Math.fround;

export function createReduceRef(heap: Heap) {
  return twins("reduce", {
    sum_axis_f32(outPtr: number, xPtr: number, outer: number, len: number, inner: number): void {
      const m = heap.f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      if (inner === 1) {
        // Four lane partial sums over the body, combined pairwise, then the tail in order.
        const body = len & ~3;
        for (let o = 0; o < outer; o++) {
          const row = x + o * len;
          const lanes = [0, 0, 0, 0];
          for (let a = 0; a < body; a++) lanes[a & 3] = fr(lanes[a & 3] + m[row + a]);
          let s = fr(fr(lanes[0] + lanes[1]) + fr(lanes[2] + lanes[3]));
          for (let a = body; a < len; a++) s = fr(s + m[row + a]);
          m[out + o] = s;
        }
        return;
      }
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let a = 0; a < len; a++) s = fr(s + m[x + (o * len + a) * inner + i]);
          m[out + o * inner + i] = s;
        }
      }
    },
    max_axis_f32(outPtr: number, xPtr: number, outer: number, len: number, inner: number): void {
      const m = heap.f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          // Math.max has f32.max's semantics: NaN wins, +0 beats −0.
          let v = m[x + o * len * inner + i];
          for (let a = 1; a < len; a++) v = Math.max(v, m[x + (o * len + a) * inner + i]);
          m[out + o * inner + i] = v;
        }
      }
    },
    max_jvp_f32(outPtr: number, xPtr: number, maxPtr: number, dxPtr: number, outer: number, len: number, inner: number): void {
      const m = heap.f32(), out = outPtr >>> 2, x = xPtr >>> 2, mx = maxPtr >>> 2, dx = dxPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const top = m[mx + o * inner + i];
          let pick = 0;
          for (let a = 0; a < len; a++) {
            const v = m[x + (o * len + a) * inner + i];
            if (top !== top ? v !== v : v === top) {
              pick = a;
              break;
            }
          }
          m[out + o * inner + i] = m[dx + (o * len + pick) * inner + i];
        }
      }
    },
  });
}
