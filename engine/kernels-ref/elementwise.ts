// Twin of kernels-as/elementwise.ts: n contiguous f32 values, out may alias an input. Each result
// is rounded to f32 by the store into the Float32Array, as the kernel's f32 operation rounds it.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { expf32, logf32 } from "./math.ts";

export function createElementwiseRef(heap: Heap) {
  const binary = (outPtr: number, aPtr: number, bPtr: number, n: number, op: (a: number, b: number) => number) => {
    const m = heap.f32(), o = outPtr >>> 2, a = aPtr >>> 2, b = bPtr >>> 2;
    for (let i = 0; i < n; i++) m[o + i] = op(m[a + i], m[b + i]);
  };
  const unary = (outPtr: number, xPtr: number, n: number, op: (x: number) => number) => {
    const m = heap.f32(), o = outPtr >>> 2, x = xPtr >>> 2;
    for (let i = 0; i < n; i++) m[o + i] = op(m[x + i]);
  };

  return twins("elementwise", {
    add_f32(outPtr: number, aPtr: number, bPtr: number, n: number): void {
      binary(outPtr, aPtr, bPtr, n, (a, b) => a + b);
    },
    sub_f32(outPtr: number, aPtr: number, bPtr: number, n: number): void {
      binary(outPtr, aPtr, bPtr, n, (a, b) => a - b);
    },
    mul_f32(outPtr: number, aPtr: number, bPtr: number, n: number): void {
      binary(outPtr, aPtr, bPtr, n, (a, b) => a * b);
    },
    div_f32(outPtr: number, aPtr: number, bPtr: number, n: number): void {
      binary(outPtr, aPtr, bPtr, n, (a, b) => a / b);
    },
    scale_f32(outPtr: number, xPtr: number, c: number, n: number): void {
      const m = heap.f32(), o = outPtr >>> 2, x = xPtr >>> 2, cf = Math.fround(c);
      for (let i = 0; i < n; i++) m[o + i] = m[x + i] * cf;
    },
    neg_f32(outPtr: number, xPtr: number, n: number): void {
      unary(outPtr, xPtr, n, (x) => -x);
    },
    relu_f32(outPtr: number, xPtr: number, n: number): void {
      unary(outPtr, xPtr, n, (x) => (x < 0 ? 0 : x));
    },
    relu_jvp_f32(outPtr: number, xPtr: number, dxPtr: number, n: number): void {
      const m = heap.f32(), o = outPtr >>> 2, x = xPtr >>> 2, dx = dxPtr >>> 2;
      for (let i = 0; i < n; i++) m[o + i] = m[x + i] > 0 ? m[dx + i] : 0;
    },
    exp_f32(outPtr: number, xPtr: number, n: number): void {
      unary(outPtr, xPtr, n, expf32);
    },
    log_f32(outPtr: number, xPtr: number, n: number): void {
      unary(outPtr, xPtr, n, logf32);
    },
  });
}
