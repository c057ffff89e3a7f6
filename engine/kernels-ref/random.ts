// Twin of kernels-as/random.ts: Philox4x32-10 (Salmon et al., SC 2011) in TypeScript, the same stream
// bit for bit. u32 words are kept as non-negative numbers (>>> 0); the high half of the 32×32-bit
// product is computed exactly from 16-bit halves. Normals use the engine's own log and sin/cos.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { counterBlock, DIST_NORMAL, DIST_SIGN, fillDraw, philox, unit } from "./draws.ts";

/** One Philox4x32-10 block: the four u32 words for counter (c0..c3) under key (k0, k1). */
export function philoxBlock(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): Uint32Array {
  const x = Uint32Array.of(c0, c1, c2, c3);
  philox(x, k0 >>> 0, k1 >>> 0);
  return x;
}

const fr = Math.fround;
/** drawn_combination_f32's chunk (kernels-as/random.ts): the scratch it asks for. */
const COMBINATION_CHUNK = 1024;

export function createRandomRef(heap: Heap) {
  return twins("random", {
    philox_block_u32(outPtr: number, k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): void {
      heap.u32().set(philoxBlock(k0, k1, c0, c1, c2, c3), outPtr >>> 2);
    },
    philox_uniform_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      const m = heap.f32(), out = outPtr >>> 2;
      for (let i = 0; i < n; i += 4) {
        const w = counterBlock(k0, k1, c0 >>> 0, c1 >>> 0, i >> 2);
        for (let j = 0; j < 4 && i + j < n; j++) m[out + i + j] = unit(w[j]);
      }
    },
    philox_normal_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      fillDraw(heap.f32(), outPtr >>> 2, 0, n, DIST_NORMAL, k0, k1, c0, c1);
    },
    drawn_combination_scratch_f32(): number {
      return COMBINATION_CHUNK;
    },
    drawn_combination_f32(
      outPtr: number, workPtr: number, coefPtr: number, count: number, size: number, from: number, to: number, scale: number,
      dist: number, k0: number, k1: number, c0: number, c1: number,
    ): void {
      const m = heap.f32(), out = outPtr >>> 2, coef = coefPtr >>> 2;
      const v = new Float32Array(to - from);
      m.fill(0, out + from, out + to);
      for (let k = 0; k < count; k++) {
        fillDraw(v, 0, k * size + from, to - from, dist, k0, k1, c0, c1);
        for (let i = from; i < to; i++) m[out + i] = fr(m[out + i] + fr(m[coef + k] * v[i - from]));
      }
      const s = fr(scale);
      for (let i = from; i < to; i++) m[out + i] = fr(m[out + i] * s);
    },
    philox_sign_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      fillDraw(heap.f32(), outPtr >>> 2, 0, n, DIST_SIGN, k0, k1, c0, c1);
    },
  });
}
