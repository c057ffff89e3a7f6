// The random streams' values, four Philox blocks at a time in SIMD lanes: the one generator behind
// the random kernels (random.ts) and the products whose operand is drawn where it is used
// (matmul.ts gemm_drawn_f32). Element e of a stream under key (k0, k1) starting at block (c0, c1):
// - normal: block (c0, c1) + e/4, Box–Muller on its word pairs (x0, x1) → values 0, 1 and (x2, x3)
//   → values 2, 3: u1 = (top24 + 1)·2^-24 ∈ (0, 1], u2 = top24·2^-24, r = √(−2 ln u1),
//   r·cos 2πu2 then r·sin 2πu2;
// - sign (Rademacher): block (c0, c1) + e/128, bit e mod 32 of word (e/32) mod 4; set gives −1.
// Every lane runs the scalar formula's operations in its order (IEEE f32, no FMA), so the values are
// those of engine/kernels-ref/draws.ts bit for bit. Only wasm globals hold state (per instance, so
// threads sharing one memory never share them); no static memory.
import { HALF_PI, LG1, LG2, LG3, LG4, LN2_HI, LN2_LO, S3, S5, S7, S9, C2, C4, C6, C8, C10 } from "./math";

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;
const TWO_POW_M24: f32 = 5.9604645e-8;

/** Normal (or uniform) values per group: eight blocks of four. */
export const NORMAL_GROUP: i32 = 32;
/** Sign values per Philox block: 128 bits. */
export const SIGN_BLOCK: i32 = 128;
/** Distribution codes of the drawn kernels. */
export const DIST_NORMAL: i32 = 0;
export const DIST_SIGN: i32 = 1;

// Lane l of Xw is word w of block b + l after philox8 (Yw: block b + 4 + l); Gi is block b + i's
// four values after normalGroup or uniformGroup.
let X0: v128 = i32x4(0, 0, 0, 0), X1: v128 = i32x4(0, 0, 0, 0), X2: v128 = i32x4(0, 0, 0, 0), X3: v128 = i32x4(0, 0, 0, 0);
let G0: v128 = i32x4(0, 0, 0, 0), G1: v128 = i32x4(0, 0, 0, 0), G2: v128 = i32x4(0, 0, 0, 0), G3: v128 = i32x4(0, 0, 0, 0);
let G4: v128 = i32x4(0, 0, 0, 0), G5: v128 = i32x4(0, 0, 0, 0), G6: v128 = i32x4(0, 0, 0, 0), G7: v128 = i32x4(0, 0, 0, 0);

// Lane l of Xw (and Yw) is word w of block b + l (b + 4 + l) after philox8.
let Y0: v128 = i32x4(0, 0, 0, 0), Y1: v128 = i32x4(0, 0, 0, 0), Y2: v128 = i32x4(0, 0, 0, 0), Y3: v128 = i32x4(0, 0, 0, 0);

/** The low (even) or high (odd) 32-bit halves of each lane's u32 × u32 product, from two widening multiplies. */
// @ts-ignore: decorator
@inline
function lows(lo: v128, hi: v128): v128 {
  return v128.shuffle<u32>(lo, hi, 0, 2, 4, 6);
}
// @ts-ignore: decorator
@inline
function highs(lo: v128, hi: v128): v128 {
  return v128.shuffle<u32>(lo, hi, 1, 3, 5, 7);
}

/** The counters of blocks b + first .. b + first + 3 after (c0, c1): low words, and high words with the carry. */
// @ts-ignore: decorator
@inline
function counterLow(c0: u32, b: u32, first: u32): v128 {
  return i32x4.add(i32x4.splat(c0 + b + first), i32x4(0, 1, 2, 3));
}
// @ts-ignore: decorator
@inline
function counterHigh(lo: v128, c0: u32, c1: u32): v128 {
  // A lane whose low word wrapped past c0 carries into the high word (lt_u gives −1 there).
  return i32x4.sub(i32x4.splat(c1), i32x4.lt_u(lo, i32x4.splat(c0)));
}

/**
 * Philox4x32-10 of blocks b .. b + 7 after (c0, c1), one per lane: b + l into X0..X3, b + 4 + l into
 * Y0..Y3. Two independent sets of lanes in one loop, so that one's multiplies overlap the other's.
 */
export function philox8(k0: u32, k1: u32, c0: u32, c1: u32, b: u32): void {
  let x0 = counterLow(c0, b, 0), y0 = counterLow(c0, b, 4);
  let x1 = counterHigh(x0, c0, c1), y1 = counterHigh(y0, c0, c1);
  let x2 = i32x4.splat(0), x3 = i32x4.splat(0), y2 = i32x4.splat(0), y3 = i32x4.splat(0);
  const m0 = i32x4.splat(M0), m1 = i32x4.splat(M1);
  let key0 = k0, key1 = k1;
  for (let round = 0; round < 10; round++) {
    const kv0 = i32x4.splat(key0), kv1 = i32x4.splat(key1);
    const xp0l = i64x2.extmul_low_i32x4_u(x0, m0), xp0h = i64x2.extmul_high_i32x4_u(x0, m0);
    const xp1l = i64x2.extmul_low_i32x4_u(x2, m1), xp1h = i64x2.extmul_high_i32x4_u(x2, m1);
    const yp0l = i64x2.extmul_low_i32x4_u(y0, m0), yp0h = i64x2.extmul_high_i32x4_u(y0, m0);
    const yp1l = i64x2.extmul_low_i32x4_u(y2, m1), yp1h = i64x2.extmul_high_i32x4_u(y2, m1);
    const nx0 = v128.xor(v128.xor(highs(xp1l, xp1h), x1), kv0);
    const nx2 = v128.xor(v128.xor(highs(xp0l, xp0h), x3), kv1);
    const ny0 = v128.xor(v128.xor(highs(yp1l, yp1h), y1), kv0);
    const ny2 = v128.xor(v128.xor(highs(yp0l, yp0h), y3), kv1);
    x1 = lows(xp1l, xp1h); x3 = lows(xp0l, xp0h);
    y1 = lows(yp1l, yp1h); y3 = lows(yp0l, yp0h);
    x0 = nx0; x2 = nx2; y0 = ny0; y2 = ny2;
    key0 += W0;
    key1 += W1;
  }
  X0 = x0; X1 = x1; X2 = x2; X3 = x3;
  Y0 = y0; Y1 = y1; Y2 = y2; Y3 = y3;
}

/** top24(x)·2^-24 per lane: exact, the top 24 bits fit an f32. */
// @ts-ignore: decorator
@inline
function unit4(x: v128): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(x, 8)), f32x4.splat(TWO_POW_M24));
}

/** logf32 (math.ts) for x ∈ (0, 1], all normal, so none of its special cases arise. */
// @ts-ignore: decorator
@inline
function log4(x: v128): v128 {
  let ix = i32x4.add(x, i32x4.splat(0x3f800000 - 0x3f3504f3));
  const dk = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(0x7f)));
  ix = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = f32x4.sub(ix, f32x4.splat(1));
  const s = f32x4.div(f, f32x4.add(f32x4.splat(2), f));
  const z = f32x4.mul(s, s);
  const w = f32x4.mul(z, z);
  const t1 = f32x4.mul(w, f32x4.add(f32x4.splat(LG2), f32x4.mul(w, f32x4.splat(LG4))));
  const t2 = f32x4.mul(z, f32x4.add(f32x4.splat(LG1), f32x4.mul(w, f32x4.splat(LG3))));
  const r = f32x4.add(t2, t1);
  const hfsq = f32x4.mul(f32x4.mul(f32x4.splat(0.5), f), f);
  let out = f32x4.add(f32x4.mul(s, f32x4.add(hfsq, r)), f32x4.mul(dk, f32x4.splat(LN2_LO)));
  out = f32x4.add(f32x4.sub(out, hfsq), f);
  return f32x4.add(out, f32x4.mul(dk, f32x4.splat(LN2_HI)));
}

// @ts-ignore: decorator
@inline
function sinPoly4(a: v128): v128 {
  const z = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.splat(S7), f32x4.mul(z, f32x4.splat(S9)));
  p = f32x4.add(f32x4.splat(S5), f32x4.mul(z, p));
  p = f32x4.add(f32x4.splat(S3), f32x4.mul(z, p));
  return f32x4.add(a, f32x4.mul(f32x4.mul(a, z), p));
}

// @ts-ignore: decorator
@inline
function cosPoly4(a: v128): v128 {
  const z = f32x4.mul(a, a);
  let p = f32x4.add(f32x4.splat(C8), f32x4.mul(z, f32x4.splat(C10)));
  p = f32x4.add(f32x4.splat(C6), f32x4.mul(z, p));
  p = f32x4.add(f32x4.splat(C4), f32x4.mul(z, p));
  p = f32x4.add(f32x4.splat(C2), f32x4.mul(z, p));
  return f32x4.add(f32x4.splat(1), f32x4.mul(z, p));
}

/** r·cos 2πt into C and r·sin 2πt into S, per lane: math.ts `turn` with its branches as selects. */
let C: v128 = i32x4(0, 0, 0, 0), S: v128 = i32x4(0, 0, 0, 0);
// @ts-ignore: decorator
@inline
function polar4(r: v128, t: v128): void {
  const x4 = f32x4.mul(t, f32x4.splat(4));
  const quadrant = f32x4.floor(x4);
  const f = f32x4.sub(x4, quadrant);
  // The quadrant (0..3) as an integer: 2^23 + q holds q in its low mantissa bits (cheaper than a
  // saturating conversion).
  const q = v128.and(f32x4.add(quadrant, f32x4.splat(8388608)), i32x4.splat(3));
  const swap = f32x4.gt(f, f32x4.splat(0.5));
  const a = f32x4.mul(v128.bitselect(f32x4.sub(f32x4.splat(1), f), f, swap), f32x4.splat(HALF_PI));
  const sp = sinPoly4(a), cp = cosPoly4(a);
  const s = v128.bitselect(cp, sp, swap), c = v128.bitselect(sp, cp, swap);
  // Quadrant q: sin 2πt is s, c, −s, −c and cos 2πt (quadrant q + 1) is c, −s, −c, s. An odd q swaps
  // the two; bit 1 of q (sine) or of q + 1 (cosine) flips a sign.
  const odd = i32x4.eq(v128.and(q, i32x4.splat(1)), i32x4.splat(1));
  const sinSign = i32x4.shl(v128.and(q, i32x4.splat(2)), 30);
  const cosSign = i32x4.shl(v128.and(i32x4.add(q, i32x4.splat(1)), i32x4.splat(2)), 30);
  S = f32x4.mul(r, v128.xor(v128.bitselect(c, s, odd), sinSign));
  C = f32x4.mul(r, v128.xor(v128.bitselect(s, c, odd), cosSign));
}

/** Four blocks' words (lanes = blocks) to their normal values, block i's four in T0..T3 (i = lane). */
let T0: v128 = i32x4(0, 0, 0, 0), T1: v128 = i32x4(0, 0, 0, 0), T2: v128 = i32x4(0, 0, 0, 0), T3: v128 = i32x4(0, 0, 0, 0);
// @ts-ignore: decorator
@inline
function boxMuller4(w0: v128, w1: v128, w2: v128, w3: v128): void {
  const minusTwo = f32x4.splat(-2);
  const one = i32x4.splat(1);
  const r0 = f32x4.sqrt(f32x4.mul(minusTwo, log4(f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(i32x4.shr_u(w0, 8), one)), f32x4.splat(TWO_POW_M24)))));
  polar4(r0, unit4(w1));
  const cos0 = C, sin0 = S;
  const r1 = f32x4.sqrt(f32x4.mul(minusTwo, log4(f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(i32x4.shr_u(w2, 8), one)), f32x4.splat(TWO_POW_M24)))));
  polar4(r1, unit4(w3));
  transpose4(cos0, sin0, C, S);
}

/** T0..T3 = the 4×4 transpose of rows a, b, c, d. */
// @ts-ignore: decorator
@inline
function transpose4(a: v128, b: v128, c: v128, d: v128): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a, b, 2, 6, 3, 7), t3 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  T0 = v128.shuffle<f32>(t0, t1, 0, 1, 4, 5);
  T1 = v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
  T2 = v128.shuffle<f32>(t2, t3, 0, 1, 4, 5);
  T3 = v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
}

/** The normal values of blocks b .. b + 7 (stream elements 4b .. 4b + 31): block b + i's four in Gi. */
export function normalGroup(k0: u32, k1: u32, c0: u32, c1: u32, b: u32): void {
  philox8(k0, k1, c0, c1, b);
  boxMuller4(X0, X1, X2, X3);
  G0 = T0; G1 = T1; G2 = T2; G3 = T3;
  boxMuller4(Y0, Y1, Y2, Y3);
  G4 = T0; G5 = T1; G6 = T2; G7 = T3;
}

/** The uniform values top24·2^-24 of blocks b .. b + 7, block b + i's four in Gi. */
export function uniformGroup(k0: u32, k1: u32, c0: u32, c1: u32, b: u32): void {
  philox8(k0, k1, c0, c1, b);
  transpose4(unit4(X0), unit4(X1), unit4(X2), unit4(X3));
  G0 = T0; G1 = T1; G2 = T2; G3 = T3;
  transpose4(unit4(Y0), unit4(Y1), unit4(Y2), unit4(Y3));
  G4 = T0; G5 = T1; G6 = T2; G7 = T3;
}

/** Value i (0..31) of the last group. */
function groupValue(i: i32): f32 {
  const q = i >> 2;
  const v = q < 4 ? (q < 2 ? (q == 0 ? G0 : G1) : (q == 2 ? G2 : G3)) : (q < 6 ? (q == 4 ? G4 : G5) : (q == 6 ? G6 : G7));
  const lane = i & 3;
  return lane < 2 ? (lane == 0 ? f32x4.extract_lane(v, 0) : f32x4.extract_lane(v, 1)) : (lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3));
}

/** Stores the last group's values [from, to) (0 ≤ from ≤ to ≤ 32), value i at dst + 4i. */
export function storeGroup(dst: usize, from: i32, to: i32): void {
  if (from == 0 && to == NORMAL_GROUP) {
    v128.store(dst, G0); v128.store(dst, G1, 16); v128.store(dst, G2, 32); v128.store(dst, G3, 48);
    v128.store(dst, G4, 64); v128.store(dst, G5, 80); v128.store(dst, G6, 96); v128.store(dst, G7, 112);
    return;
  }
  for (let i = from; i < to; i++) store<f32>(dst + (<usize>i << 2), groupValue(i));
}

/** ±1 from the 32 bits of `word`, bits [from, to), stored from dst (element from at dst). */
// @ts-ignore: decorator
@inline
function signsOfWord(dst: usize, word: u32, from: i32, to: i32): void {
  let bit = from;
  const plusOne = f32x4.splat(1), minusOne = f32x4.splat(-1);
  if ((bit & 3) == 0) {
    const w = i32x4.splat(word);
    for (; bit + 4 <= to; bit += 4) {
      const set = i32x4.ne(v128.and(i32x4.shr_u(w, <u32>bit) , i32x4(1, 2, 4, 8)), i32x4.splat(0));
      v128.store(dst + (<usize>(bit - from) << 2), v128.bitselect(minusOne, plusOne, set));
    }
  }
  for (; bit < to; bit++) store<f32>(dst + (<usize>(bit - from) << 2), ((word >>> <u32>bit) & 1) != 0 ? <f32>-1 : <f32>1);
}

/** Word w (0..3) of block l (0..7) after philox8. */
function blockWord(w: i32, l: i32): u32 {
  const x = l < 4 ? (w < 2 ? (w == 0 ? X0 : X1) : (w == 2 ? X2 : X3)) : (w < 2 ? (w == 0 ? Y0 : Y1) : (w == 2 ? Y2 : Y3));
  const lane = l & 3;
  return lane < 2 ? (lane == 0 ? i32x4.extract_lane(x, 0) : i32x4.extract_lane(x, 1)) : (lane == 2 ? i32x4.extract_lane(x, 2) : i32x4.extract_lane(x, 3));
}

/** Stream elements [e, e + count) of distribution `dist`, stored contiguously from dst. */
export function fillDraw(dst: usize, e: i32, count: i32, dist: i32, k0: u32, k1: u32, c0: u32, c1: u32): void {
  const end = e + count;
  if (dist == DIST_SIGN) {
    // Eight blocks (1024 signs) per Philox call; block-major, then word, then bit.
    const group = 8 * SIGN_BLOCK;
    for (let g = (e / group) * group; g < end; g += group) {
      philox8(k0, k1, c0, c1, <u32>(g / SIGN_BLOCK));
      for (let l = 0; l < 8; l++) {
        for (let w = 0; w < 4; w++) {
          const start = g + l * SIGN_BLOCK + 32 * w;
          const from = max(e, start), to = min(end, start + 32);
          if (from < to) signsOfWord(dst + (<usize>(from - e) << 2), blockWord(w, l), from - start, to - start);
        }
      }
    }
    return;
  }
  for (let g = (e / NORMAL_GROUP) * NORMAL_GROUP; g < end; g += NORMAL_GROUP) {
    normalGroup(k0, k1, c0, c1, <u32>(g >> 2));
    const from = max(e, g), to = min(end, g + NORMAL_GROUP);
    storeGroup(dst + (<usize>(from - e) << 2) - (<usize>(from - g) << 2), from - g, to - g);
  }
}
