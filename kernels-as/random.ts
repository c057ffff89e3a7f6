// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011). Block b of the stream under key (k0, k1) is philox(counter = (b_lo, b_hi, 0, 0)).
// A call fills n values from consecutive blocks starting at block (c0, c1); each block yields four
// outputs. engine/kernels-ref/random.ts computes the same stream in TypeScript, bit for bit.
import { logf32, turn } from "./math";

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;
const TWO_POW_M24: f32 = 5.9604645e-8;

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

// @ts-ignore: decorator
@inline
function block(k0: u32, k1: u32, c0: u32, c1: u32, b: u32): void {
  const lo = c0 + b;
  x0 = lo; x1 = c1 + <u32>(lo < c0); x2 = 0; x3 = 0;
  philox(k0, k1);
}

// @ts-ignore: decorator
@inline
function unit(x: u32): f32 {
  return <f32>(x >>> 8) * TWO_POW_M24;
}

/** n uniform values in [0, 1): the top 24 bits of each word times 2^-24. */
export function philox_uniform_f32(outPtr: usize, n: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  for (let i = 0; i < n; i += 4) {
    block(k0, k1, c0, c1, <u32>(i >> 2));
    const o = outPtr + (<usize>i << 2);
    store<f32>(o, unit(x0));
    if (i + 1 < n) store<f32>(o, unit(x1), 4);
    if (i + 2 < n) store<f32>(o, unit(x2), 8);
    if (i + 3 < n) store<f32>(o, unit(x3), 12);
  }
}

/**
 * n standard normal values by Box–Muller on word pairs (x0, x1) and (x2, x3) of each block:
 * u1 = (top24 + 1)·2^-24 ∈ (0, 1], u2 ∈ [0, 1), r = √(−2 ln u1), outputs r·cos 2πu2, r·sin 2πu2.
 */
export function philox_normal_f32(outPtr: usize, n: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  for (let i = 0; i < n; i += 4) {
    block(k0, k1, c0, c1, <u32>(i >> 2));
    const o = outPtr + (<usize>i << 2);
    const r0 = Mathf.sqrt(-2 * logf32(<f32>((x0 >>> 8) + 1) * TWO_POW_M24));
    const t0 = unit(x1);
    store<f32>(o, r0 * turn(t0, false));
    if (i + 1 < n) store<f32>(o, r0 * turn(t0, true), 4);
    if (i + 2 < n) {
      const r1 = Mathf.sqrt(-2 * logf32(<f32>((x2 >>> 8) + 1) * TWO_POW_M24));
      const t1 = unit(x3);
      store<f32>(o, r1 * turn(t1, false), 8);
      if (i + 3 < n) store<f32>(o, r1 * turn(t1, true), 12);
    }
  }
}
