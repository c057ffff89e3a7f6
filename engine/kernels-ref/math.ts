// Twin of kernels-as/math.ts: the engine's own f32 exp, log and sin/cos of a turn, operation for
// operation, with f32 rounding after every operation (Math.fround), so they give the kernels' bits
// in every runtime (the hosts' Math functions differ between JS engines in the last bits).
const fr = Math.fround;

// Bit casts between f32 and i32 through one shared word.
const castF32 = new Float32Array(1);
const castI32 = new Int32Array(castF32.buffer);
function bitsOf(x: number): number {
  castF32[0] = x;
  return castI32[0];
}
function floatOf(bits: number): number {
  castI32[0] = bits;
  return castF32[0];
}

// expf32 (Cody–Waite reduction and FreeBSD e_expf.c's rational form).
const EXP_OVERFLOW = fr(88.72283);
const EXP_UNDERFLOW = fr(-103.972084);
const INV_LN2 = fr(1.4426950216);
const EXP_LN2_HI = fr(0.69314575195);
const EXP_LN2_LO = fr(1.4286067653e-6);
const EXP_P1 = fr(0.1666662544);
const EXP_P2 = fr(-0.0027667332906);

export function expf32(value: number): number {
  const x = fr(value);
  if (x !== x) return x;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  const k = Math.floor(fr(fr(x * INV_LN2) + 0.5));
  const r = fr(fr(x - fr(k * EXP_LN2_HI)) - fr(k * EXP_LN2_LO));
  const z = fr(r * r);
  const c = fr(r - fr(z * fr(EXP_P1 + fr(z * EXP_P2))));
  const er = fr(1 + fr(r + fr(fr(r * c) / fr(2 - c))));
  const k1 = k >> 1;
  const k2 = k - k1;
  return fr(fr(er * floatOf((k1 + 127) << 23)) * floatOf((k2 + 127) << 23));
}

// logf32 (FreeBSD e_logf.c).
const LG1 = fr(0.66666662693);
const LG2 = fr(0.40000972152);
const LG3 = fr(0.28498786688);
const LG4 = fr(0.24279078841);
const LN2_HI = fr(0.69313812256);
const LN2_LO = fr(9.0580006145e-6);
const TWO_POW_25 = 33554432;

export function logf32(value: number): number {
  const x = fr(value);
  let ix = bitsOf(x);
  let k = 0;
  if (ix < 0x00800000 || ix >= 0x7f800000) {
    if ((ix & 0x7fffffff) === 0) return -Infinity;
    if (ix < 0) return NaN;
    if (ix >= 0x7f800000) return x;
    k = -25;
    ix = bitsOf(fr(x * TWO_POW_25));
  }
  ix += 0x3f800000 - 0x3f3504f3;
  k += (ix >> 23) - 0x7f;
  ix = (ix & 0x007fffff) + 0x3f3504f3;
  const f = fr(floatOf(ix) - 1);
  const s = fr(f / fr(2 + f));
  const z = fr(s * s);
  const w = fr(z * z);
  const t1 = fr(w * fr(LG2 + fr(w * LG4)));
  const t2 = fr(z * fr(LG1 + fr(w * LG3)));
  const r = fr(t2 + t1);
  const hfsq = fr(fr(0.5 * f) * f);
  const dk = k;
  return fr(fr(fr(fr(fr(s * fr(hfsq + r)) + fr(dk * LN2_LO)) - hfsq) + f) + fr(dk * LN2_HI));
}

// sin and cos of 2π·t for t ∈ [0, 1): quadrant, fraction folded to [0, π/4], Taylor polynomials.
const HALF_PI = fr(1.5707963268);
const S3 = fr(-0.16666667), S5 = fr(0.008333334), S7 = fr(-0.0001984127), S9 = fr(0.0000027557319);
const C2 = fr(-0.5), C4 = fr(0.041666668), C6 = fr(-0.0013888889), C8 = fr(0.0000248015873);
const C10 = fr(-0.00000027557319);

function sinPoly(a: number): number {
  const z = fr(a * a);
  return fr(a + fr(fr(a * z) * fr(S3 + fr(z * fr(S5 + fr(z * fr(S7 + fr(z * S9))))))));
}

function cosPoly(a: number): number {
  const z = fr(a * a);
  return fr(1 + fr(z * fr(C2 + fr(z * fr(C4 + fr(z * fr(C6 + fr(z * fr(C8 + fr(z * C10))))))))));
}

/** sin(2πt) (wantSin) or cos(2πt) for t ∈ [0, 1). */
export function turn(t: number, wantSin: boolean): number {
  const x4 = fr(t * 4);
  const q = Math.floor(x4);
  const f = fr(x4 - q);
  const swap = f > 0.5;
  const a = fr((swap ? fr(1 - f) : f) * HALF_PI);
  const s = swap ? cosPoly(a) : sinPoly(a);
  const c = swap ? sinPoly(a) : cosPoly(a);
  const quadrant = (wantSin ? q : q + 1) & 3;
  if (quadrant === 0) return s;
  if (quadrant === 1) return c;
  if (quadrant === 2) return -s;
  return -c;
}
