// Scalar f32 transcendental functions shared by the kernels. They are written out here, not taken
// from the host, so that every runtime (and engine/kernels-ref/math.ts, which mirrors them operation
// for operation) produces the same bits. Each uses only +, −, ×, ÷, sqrt and bit manipulation, all
// of which WebAssembly defines exactly; there is no fused multiply-add.

// exp: Cody–Waite reduction x = k·ln2 + r, |r| ≤ ln2/2, then the rational form
// e^r = 1 + r + r·c/(2 − c) with c = r − r²(P1 + r²P2) (Cody & Waite; FreeBSD e_expf.c).
const EXP_OVERFLOW: f32 = 88.72283;
const EXP_UNDERFLOW: f32 = -103.972084;
const INV_LN2: f32 = 1.4426950216;
const EXP_LN2_HI: f32 = 0.69314575195;
const EXP_LN2_LO: f32 = 1.4286067653e-6;
const EXP_P1: f32 = 0.16666625440;
const EXP_P2: f32 = -0.0027667332906;

// @ts-ignore: decorator
@inline
export function expf32(x: f32): f32 {
  if (x != x) return x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  const k = Mathf.floor(x * INV_LN2 + 0.5);
  const r = (x - k * EXP_LN2_HI) - k * EXP_LN2_LO;
  const z = r * r;
  const c = r - z * (EXP_P1 + z * EXP_P2);
  const er: f32 = 1 + (r + (r * c) / (2 - c));
  // 2^k in two steps keeps both factors normal for k in [-150, 128].
  const ki = <i32>k;
  const k1 = ki >> 1;
  const k2 = ki - k1;
  return er * reinterpret<f32>((k1 + 127) << 23) * reinterpret<f32>((k2 + 127) << 23);
}

// log: x = 2^k·m with m ∈ [√2/2, √2), f = m − 1, s = f/(2 + f),
// log(1 + f) = f − f²/2 + s(f²/2 + R(s²)) (FreeBSD e_logf.c, the Lg1..Lg4 minimax fit).
export const LG1: f32 = 0.66666662693;
export const LG2: f32 = 0.40000972152;
export const LG3: f32 = 0.28498786688;
export const LG4: f32 = 0.24279078841;
export const LN2_HI: f32 = 0.69313812256;
export const LN2_LO: f32 = 9.0580006145e-6;
const TWO_POW_25: f32 = 33554432;

// @ts-ignore: decorator
@inline
export function logf32(x: f32): f32 {
  let ix = reinterpret<i32>(x);
  let k: i32 = 0;
  if (ix < 0x00800000 || ix >= 0x7f800000) {
    if ((ix & 0x7fffffff) == 0) return -Infinity;
    if (ix < 0) return NaN;
    if (ix >= 0x7f800000) return x;
    // Subnormal: scale into the normal range first.
    k = -25;
    ix = reinterpret<i32>(x * TWO_POW_25);
  }
  ix += 0x3f800000 - 0x3f3504f3;
  k += (ix >> 23) - 0x7f;
  ix = (ix & 0x007fffff) + 0x3f3504f3;
  const f = reinterpret<f32>(ix) - 1;
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * LG4);
  const t2 = z * (LG1 + w * LG3);
  const r = t2 + t1;
  const hfsq: f32 = 0.5 * f * f;
  const dk = <f32>k;
  return s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI;
}

// sin and cos of 2π·t for t ∈ [0, 1): t is split exactly into a quadrant and a fraction, the
// fraction folded to [0, π/4], and Taylor polynomials (error < 2e-9 there) evaluated by Horner.
export const HALF_PI: f32 = 1.5707963268;
export const S3: f32 = -0.16666667;
export const S5: f32 = 0.008333334;
export const S7: f32 = -0.0001984127;
export const S9: f32 = 0.0000027557319;
export const C2: f32 = -0.5;
export const C4: f32 = 0.041666668;
export const C6: f32 = -0.0013888889;
export const C8: f32 = 0.0000248015873;
export const C10: f32 = -0.00000027557319;

// @ts-ignore: decorator
@inline
function sinPoly(a: f32): f32 {
  const z = a * a;
  return a + a * z * (S3 + z * (S5 + z * (S7 + z * S9)));
}

// @ts-ignore: decorator
@inline
function cosPoly(a: f32): f32 {
  const z = a * a;
  return 1 + z * (C2 + z * (C4 + z * (C6 + z * (C8 + z * C10))));
}

/** sin(2πt) (wantSin) or cos(2πt), for t ∈ [0, 1). */
// @ts-ignore: decorator
@inline
export function turn(t: f32, wantSin: bool): f32 {
  const x4 = t * 4;
  const q = <i32>Mathf.floor(x4);
  const f = x4 - <f32>q;
  const swap = f > 0.5;
  const a: f32 = (swap ? <f32>1 - f : f) * HALF_PI;
  const s: f32 = swap ? cosPoly(a) : sinPoly(a);
  const c: f32 = swap ? sinPoly(a) : cosPoly(a);
  // cos(2πt) = sin(2π(t + ¼)): one quadrant further on.
  const quadrant = (wantSin ? q : q + 1) & 3;
  if (quadrant == 0) return s;
  if (quadrant == 1) return c;
  if (quadrant == 2) return -s;
  return -c;
}
