// Twin of kernels-as/random.ts: Philox4x32-10 (Salmon et al., SC 2011) in TypeScript, the same stream
// bit for bit. u32 words are kept as non-negative numbers (>>> 0); the high half of the 32×32-bit
// product is computed exactly from 16-bit halves. Normals use the engine's own log and sin/cos.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { logf32, turn } from "./math.ts";

const fr = Math.fround;

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_M24 = 5.9604644775390625e-8;

/** High 32 bits of the 64-bit product of two u32, exactly, from 16-bit halves. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 of one counter block under key (k0, k1), into `x` (four u32). */
function philox(x: Uint32Array, k0: number, k1: number): void {
  let x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
  for (let round = 0; round < 10; round++) {
    const y0 = (mulhi(M1, x2) ^ x1 ^ k0) >>> 0;
    const y2 = (mulhi(M0, x0) ^ x3 ^ k1) >>> 0;
    x1 = Math.imul(M1, x2) >>> 0;
    x3 = Math.imul(M0, x0) >>> 0;
    x0 = y0;
    x2 = y2;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
}

const words = new Uint32Array(4);

/** One Philox4x32-10 block: the four u32 words for counter (c0..c3) under key (k0, k1). */
export function philoxBlock(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): Uint32Array {
  const x = Uint32Array.of(c0, c1, c2, c3);
  philox(x, k0 >>> 0, k1 >>> 0);
  return x;
}

function counterBlock(k0: number, k1: number, c0: number, c1: number, b: number): Uint32Array {
  const lo = (c0 + b) >>> 0;
  words[0] = lo;
  words[1] = (c1 + (lo < c0 >>> 0 ? 1 : 0)) >>> 0;
  words[2] = 0;
  words[3] = 0;
  philox(words, k0 >>> 0, k1 >>> 0);
  return words;
}

const unit = (x: number) => (x >>> 8) * TWO_POW_M24;
const boxMullerRadius = (x: number) => fr(Math.sqrt(fr(-2 * logf32(((x >>> 8) + 1) * TWO_POW_M24))));

export function createRandomRef(heap: Heap) {
  return twins("random", {
    philox_block_u32(outPtr: number, k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): void {
      words[0] = c0; words[1] = c1; words[2] = c2; words[3] = c3;
      philox(words, k0 >>> 0, k1 >>> 0);
      heap.u32().set(words, outPtr >>> 2);
    },
    philox_uniform_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      const m = heap.f32(), out = outPtr >>> 2;
      for (let i = 0; i < n; i += 4) {
        const w = counterBlock(k0, k1, c0 >>> 0, c1 >>> 0, i >> 2);
        for (let j = 0; j < 4 && i + j < n; j++) m[out + i + j] = unit(w[j]);
      }
    },
    philox_normal_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      const m = heap.f32(), out = outPtr >>> 2;
      for (let i = 0; i < n; i += 4) {
        const w = counterBlock(k0, k1, c0 >>> 0, c1 >>> 0, i >> 2);
        for (let pair = 0; pair < 2 && i + 2 * pair < n; pair++) {
          const r = boxMullerRadius(w[2 * pair]);
          const t = unit(w[2 * pair + 1]);
          m[out + i + 2 * pair] = r * turn(t, false);
          if (i + 2 * pair + 1 < n) m[out + i + 2 * pair + 1] = r * turn(t, true);
        }
      }
    },
  });
}
