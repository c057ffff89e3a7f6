// Twin of kernels-as/layout.ts: repeating an axis and gathering rows of row-major f32 tensors
// (plain copies, so the bits are the input's). out must not alias x.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";

export function createLayoutRef(heap: Heap) {
  return twins("layout", {
    repeat_axis_f32(outPtr: number, xPtr: number, outer: number, times: number, inner: number): void {
      const m = heap.f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let a = 0; a < times; a++) m.copyWithin(out + (o * times + a) * inner, x + o * inner, x + (o + 1) * inner);
      }
    },
    gather_rows_f32(outPtr: number, xPtr: number, indexPtr: number, count: number, rowLen: number): void {
      const m = heap.f32(), idx = heap.i32(), out = outPtr >>> 2, x = xPtr >>> 2, ix = indexPtr >>> 2;
      for (let r = 0; r < count; r++) {
        const src = x + idx[ix + r] * rowLen;
        m.copyWithin(out + r * rowLen, src, src + rowLen);
      }
    },
  });
}
