// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011). Block b of the stream under key (k0, k1) is philox(counter = (b_lo, b_hi, 0, 0)).
// A call fills n values from consecutive blocks starting at block (c0, c1): four uniform or normal
// values a block, or 128 signs. The values come from draws.ts, eight blocks at a time in SIMD lanes;
// engine/kernels-ref/random.ts computes the same stream in TypeScript, bit for bit.
import { DIST_NORMAL, DIST_SIGN, fillDraw, NORMAL_GROUP, storeGroup, uniformGroup } from "./draws";

/** Values per chunk of drawn_combination_f32: small enough to stay in L1 beside its output. */
const COMBINATION_CHUNK: i32 = 1024;

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;

let x0: u32 = 0, x1: u32 = 0, x2: u32 = 0, x3: u32 = 0;

/** Ten Philox rounds on (x0..x3) with key (k0, k1), in place in the globals. */
// @ts-ignore: decorator
@inline
function philox(k0: u32, k1: u32): void {
  for (let round = 0; round < 10; round++) {
    const p0 = <u64>M0 * <u64>x0;
    const p1 = <u64>M1 * <u64>x2;
    const y0 = <u32>(p1 >>> 32) ^ x1 ^ k0;
    const y2 = <u32>(p0 >>> 32) ^ x3 ^ k1;
    x1 = <u32>p1;
    x3 = <u32>p0;
    x0 = y0;
    x2 = y2;
    k0 += W0;
    k1 += W1;
  }
}

/** Raw Philox4x32-10 output of one block with a full 128-bit counter, for known-answer tests. */
export function philox_block_u32(outPtr: usize, k0: u32, k1: u32, c0: u32, c1: u32, c2: u32, c3: u32): void {
  x0 = c0; x1 = c1; x2 = c2; x3 = c3;
  philox(k0, k1);
  store<u32>(outPtr, x0); store<u32>(outPtr, x1, 4); store<u32>(outPtr, x2, 8); store<u32>(outPtr, x3, 12);
}

/** n uniform values in [0, 1): the top 24 bits of each word times 2^-24, four blocks per step. */
export function philox_uniform_f32(outPtr: usize, n: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  for (let g = 0; g < n; g += NORMAL_GROUP) {
    uniformGroup(k0, k1, c0, c1, <u32>(g >> 2));
    storeGroup(outPtr + (<usize>g << 2), 0, min(NORMAL_GROUP, n - g));
  }
}

/**
 * n standard normal values by Box–Muller on word pairs (x0, x1) and (x2, x3) of each block:
 * u1 = (top24 + 1)·2^-24 ∈ (0, 1], u2 ∈ [0, 1), r = √(−2 ln u1), outputs r·cos 2πu2, r·sin 2πu2.
 */
export function philox_normal_f32(outPtr: usize, n: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  fillDraw(outPtr, 0, n, DIST_NORMAL, k0, k1, c0, c1);
}

/** n Rademacher values ±1 (E[v] = 0, E[v²] = 1): 128 per block, bit e mod 32 of word (e/32) mod 4; set gives −1. */
export function philox_sign_f32(outPtr: usize, n: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  fillDraw(outPtr, 0, n, DIST_SIGN, k0, k1, c0, c1);
}

/** Scratch floats drawn_combination_f32 needs at workPtr: one chunk of draws. */
export function drawn_combination_scratch_f32(): i32 {
  return COMBINATION_CHUNK;
}

/**
 * out[i] = scale · Σ_k coef[k]·V_k[i] for i in [from, to), where V_k[i] is element k·size + i of the
 * stream (dist: 0 normal, 1 sign; see draws.ts) and the sum runs in k order from 0, rounded after each
 * multiply and add: the bits of gemm_f32 on [1, count]·[count, size] then scale_f32, without storing V.
 * A forward gradient's update Σ_k c_k·V_k, drawn again rather than kept.
 */
export function drawn_combination_f32(
  outPtr: usize, workPtr: usize, coefPtr: usize, count: i32, size: i32, from: i32, to: i32, scale: f32,
  dist: i32, k0: u32, k1: u32, c0: u32, c1: u32,
): void {
  for (let i0 = from; i0 < to; i0 += COMBINATION_CHUNK) {
    const len = min(COMBINATION_CHUNK, to - i0);
    const out = outPtr + (<usize>i0 << 2);
    memory.fill(out, 0, <usize>len << 2);
    for (let k = 0; k < count; k++) {
      fillDraw(workPtr, k * size + i0, len, dist, k0, k1, c0, c1);
      const c = f32x4.splat(load<f32>(coefPtr + (<usize>k << 2)));
      let i = 0;
      for (; i + 4 <= len; i += 4) {
        const o = out + (<usize>i << 2);
        v128.store(o, f32x4.add(v128.load(o), f32x4.mul(c, v128.load(workPtr + (<usize>i << 2)))));
      }
      const cs = load<f32>(coefPtr + (<usize>k << 2));
      for (; i < len; i++) {
        const o = out + (<usize>i << 2);
        store<f32>(o, load<f32>(o) + cs * load<f32>(workPtr + (<usize>i << 2)));
      }
    }
    const s = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= len; i += 4) v128.store(out + (<usize>i << 2), f32x4.mul(v128.load(out + (<usize>i << 2)), s));
    for (; i < len; i++) store<f32>(out + (<usize>i << 2), load<f32>(out + (<usize>i << 2)) * scale);
  }
}
