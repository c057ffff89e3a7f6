// Twin of kernels-as/probe.ts: the same twelve chains v ← v·m + c, one lane each (the lanes of a
// chain are equal), rounded to f32 after every operation.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";

const fr = Math.fround;

export function createProbeRef(heap: Heap) {
  return twins("probe", {
    simd_peak_f32(outPtr: number, iterations: number): void {
      const m = fr(0.999), c = fr(0.001);
      const f = heap.f32();
      for (let chain = 0; chain < 12; chain++) {
        let v = fr(chain / 16);
        for (let i = 0; i < iterations; i++) v = fr(fr(v * m) + c);
        f[(outPtr >>> 2) + chain] = v;
      }
    },
    simd_peak_flops_f32(): number {
      return 12 * 4 * 2;
    },
  });
}
