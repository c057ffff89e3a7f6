// Twin of kernels-as/draws.ts: the random streams' values one element at a time, the same bits as the
// kernels' four-blocks-at-a-time SIMD lanes. Element e of a stream under key (k0, k1) from block
// (c0, c1): normal, Box–Muller on block e/4's word pairs (values 0, 1 from (x0, x1), 2, 3 from
// (x2, x3)); sign (Rademacher), bit e mod 32 of word (e/32) mod 4 of block e/128, set giving −1.
import { logf32, turn } from "./math.ts";

const fr = Math.fround;
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_M24 = 5.9604644775390625e-8;
/** Distribution codes of the drawn kernels (kernels-as/draws.ts). */
export const DIST_NORMAL = 0;
export const DIST_SIGN = 1;

/** High 32 bits of the 64-bit product of two u32, exactly, from 16-bit halves. */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 of one counter block under key (k0, k1), in place in `x` (four u32). */
export function philox(x: Uint32Array, k0: number, k1: number): void {
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

const words: Uint32Array = new Uint32Array(4);

/** The four words of block b after (c0, c1) (a shared buffer, valid until the next call). */
export function counterBlock(k0: number, k1: number, c0: number, c1: number, b: number): Uint32Array {
  const lo = (c0 + b) >>> 0;
  words[0] = lo;
  words[1] = (c1 + (lo < c0 >>> 0 ? 1 : 0)) >>> 0;
  words[2] = 0;
  words[3] = 0;
  philox(words, k0 >>> 0, k1 >>> 0);
  return words;
}

/** top24(x)·2^-24: a uniform value in [0, 1). */
export const unit = (x: number): number => (x >>> 8) * TWO_POW_M24;
const boxMullerRadius = (x: number) => fr(Math.sqrt(fr(-2 * logf32(((x >>> 8) + 1) * TWO_POW_M24))));

/** Stream elements [e, e + count) of distribution `dist` into out[at ..]. */
export function fillDraw(out: Float32Array, at: number, e: number, count: number, dist: number, k0: number, k1: number, c0: number, c1: number): void {
  const end = e + count;
  // Elements share blocks (128 signs or 4 normals a block): draw each block once.
  const perBlock = dist === DIST_SIGN ? 128 : 4;
  let block = -1;
  let w: Uint32Array = words;
  let radii = [0, 0];
  for (let i = e; i < end; i++) {
    if (Math.floor(i / perBlock) !== block) {
      block = Math.floor(i / perBlock);
      w = counterBlock(k0, k1, c0 >>> 0, c1 >>> 0, block);
      if (dist !== DIST_SIGN) radii = [boxMullerRadius(w[0]), boxMullerRadius(w[2])];
    }
    if (dist === DIST_SIGN) {
      out[at + i - e] = (w[(i >> 5) & 3] >>> (i & 31)) & 1 ? -1 : 1;
    } else {
      const pair = (i >> 1) & 1;
      out[at + i - e] = fr(radii[pair] * turn(unit(w[2 * pair + 1]), (i & 1) === 1));
    }
  }
}
