// Pure-TypeScript twins of the kernels in kernels-as/, same names and parameters (byte pointers into
// the engine's memory, element counts). They are the fallback where WebAssembly SIMD is missing and
// the oracle the kernel tests compare against. Each reproduces its kernel's operation order with f32
// rounding after every operation (Math.fround, or a store into a Float32Array), so the results are
// the same bits: a correctly rounded f64 +, −, ×, ÷ or √ of f32 inputs, rounded to f32, equals the f32 operation.
import type { Heap } from "./heap.ts";
import { createEighRef } from "./kernels-ref-eigh.ts";
import { createSvdRef } from "./kernels-ref-svd.ts";

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

// expf32 of kernels-as/math.ts (Cody–Waite reduction and FreeBSD e_expf.c's rational form).
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

// logf32 of kernels-as/math.ts (FreeBSD e_logf.c).
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

// sin/cos of 2πt for t ∈ [0, 1), as sinTurn/cosTurn in kernels-as/math.ts.
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

function turn(t: number, wantSin: boolean): number {
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

// Philox4x32-10 constants, as in kernels-as/random.ts.
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

// Packing scratch of the WebAssembly gemm (MC·KC + KC·NC + MR·NR floats); a test checks both agree.
const GEMM_SCRATCH_F32 = 64 * 256 + 256 * 512 + 4 * 8;

const unit = (x: number) => (x >>> 8) * TWO_POW_M24;
const boxMullerRadius = (x: number) => fr(Math.sqrt(fr(-2 * logf32(((x >>> 8) + 1) * TWO_POW_M24))));

/** The TypeScript kernel set over `heap`'s memory; the WebAssembly exports have the same shape. */
export function createRefKernels(heap: Heap) {
  const f32 = () => heap.f32();
  const binary = (op: (a: number, b: number) => number) => (outPtr: number, aPtr: number, bPtr: number, n: number) => {
    const m = f32(), o = outPtr >>> 2, a = aPtr >>> 2, b = bPtr >>> 2;
    for (let i = 0; i < n; i++) m[o + i] = op(m[a + i], m[b + i]);
  };
  const unary = (op: (x: number) => number) => (outPtr: number, xPtr: number, n: number) => {
    const m = f32(), o = outPtr >>> 2, x = xPtr >>> 2;
    for (let i = 0; i < n; i++) m[o + i] = op(m[x + i]);
  };

  return {
    ...createSvdRef(heap),
    ...createEighRef(heap),
    add_f32: binary((a, b) => a + b),
    sub_f32: binary((a, b) => a - b),
    mul_f32: binary((a, b) => a * b),
    div_f32: binary((a, b) => a / b),
    scale_f32(outPtr: number, xPtr: number, c: number, n: number): void {
      const m = f32(), o = outPtr >>> 2, x = xPtr >>> 2, cf = fr(c);
      for (let i = 0; i < n; i++) m[o + i] = m[x + i] * cf;
    },
    neg_f32: unary((x) => -x),
    relu_f32: unary((x) => (x < 0 ? 0 : x)),
    relu_jvp_f32(outPtr: number, xPtr: number, dxPtr: number, n: number): void {
      const m = f32(), o = outPtr >>> 2, x = xPtr >>> 2, dx = dxPtr >>> 2;
      for (let i = 0; i < n; i++) m[o + i] = m[x + i] > 0 ? m[dx + i] : 0;
    },
    exp_f32: unary(expf32),
    log_f32: unary(logf32),

    sum_axis_f32(outPtr: number, xPtr: number, outer: number, len: number, inner: number): void {
      const m = f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      if (inner === 1) {
        // Four lane partial sums over the body, combined pairwise, then the tail in order.
        const body = len & ~3;
        for (let o = 0; o < outer; o++) {
          const row = x + o * len;
          const lanes = [0, 0, 0, 0];
          for (let a = 0; a < body; a++) lanes[a & 3] = fr(lanes[a & 3] + m[row + a]);
          let s = fr(fr(lanes[0] + lanes[1]) + fr(lanes[2] + lanes[3]));
          for (let a = body; a < len; a++) s = fr(s + m[row + a]);
          m[out + o] = s;
        }
        return;
      }
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let s = 0;
          for (let a = 0; a < len; a++) s = fr(s + m[x + (o * len + a) * inner + i]);
          m[out + o * inner + i] = s;
        }
      }
    },
    max_axis_f32(outPtr: number, xPtr: number, outer: number, len: number, inner: number): void {
      const m = f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          // Math.max has f32.max's semantics: NaN wins, +0 beats −0.
          let v = m[x + o * len * inner + i];
          for (let a = 1; a < len; a++) v = Math.max(v, m[x + (o * len + a) * inner + i]);
          m[out + o * inner + i] = v;
        }
      }
    },
    max_jvp_f32(outPtr: number, xPtr: number, maxPtr: number, dxPtr: number, outer: number, len: number, inner: number): void {
      const m = f32(), out = outPtr >>> 2, x = xPtr >>> 2, mx = maxPtr >>> 2, dx = dxPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const top = m[mx + o * inner + i];
          let pick = 0;
          for (let a = 0; a < len; a++) {
            const v = m[x + (o * len + a) * inner + i];
            if (top !== top ? v !== v : v === top) {
              pick = a;
              break;
            }
          }
          m[out + o * inner + i] = m[dx + (o * len + pick) * inner + i];
        }
      }
    },

    /** Same contract as kernels-as/matmul.ts gemm_f32; booleans arrive as 0/1. */
    gemm_f32(
      outPtr: number, aPtr: number, bPtr: number, biasPtr: number, packPtr: number,
      batch: number, m: number, k: number, n: number, aStride: number, bStride: number,
      transA: number, transB: number, alpha: number, relu: number,
    ): void {
      const mem = f32(), alphaF = fr(alpha);
      for (let bi = 0; bi < batch; bi++) {
        const a = (aPtr >>> 2) + bi * aStride, b = (bPtr >>> 2) + bi * bStride, out = (outPtr >>> 2) + bi * m * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) {
              const av = transA ? mem[a + p * m + i] : mem[a + i * k + p];
              const bv = transB ? mem[b + j * k + p] : mem[b + p * n + j];
              s = fr(s + fr(av * bv));
            }
            if (alphaF !== 1) s = fr(s * alphaF);
            if (biasPtr) s = fr(s + mem[(biasPtr >>> 2) + j]);
            if (relu && s < 0) s = 0;
            mem[out + i * n + j] = s;
          }
        }
      }
    },
    gemv_f32(yPtr: number, aPtr: number, xPtr: number, m: number, n: number, trans: number): void {
      const mem = f32(), y = yPtr >>> 2, a = aPtr >>> 2, x = xPtr >>> 2;
      if (!trans) {
        const body = n & ~3;
        for (let i = 0; i < m; i++) {
          const lanes = [0, 0, 0, 0];
          for (let j = 0; j < body; j++) lanes[j & 3] = fr(lanes[j & 3] + fr(mem[a + i * n + j] * mem[x + j]));
          let s = fr(fr(lanes[0] + lanes[1]) + fr(lanes[2] + lanes[3]));
          for (let j = body; j < n; j++) s = fr(s + fr(mem[a + i * n + j] * mem[x + j]));
          mem[y + i] = s;
        }
        return;
      }
      mem.fill(0, y, y + n);
      for (let i = 0; i < m; i++) {
        const xi = mem[x + i];
        for (let j = 0; j < n; j++) mem[y + j] = mem[y + j] + fr(xi * mem[a + i * n + j]);
      }
    },
    gemm_scratch_f32(): number {
      return GEMM_SCRATCH_F32;
    },
    transpose_f32(outPtr: number, xPtr: number, batch: number, rows: number, cols: number): void {
      const m = f32(), out = outPtr >>> 2, x = xPtr >>> 2, plane = rows * cols;
      for (let b = 0; b < batch; b++) {
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) m[out + b * plane + c * rows + r] = m[x + b * plane + r * cols + c];
        }
      }
    },
    repeat_axis_f32(outPtr: number, xPtr: number, outer: number, times: number, inner: number): void {
      const m = f32(), out = outPtr >>> 2, x = xPtr >>> 2;
      for (let o = 0; o < outer; o++) {
        for (let a = 0; a < times; a++) m.copyWithin(out + (o * times + a) * inner, x + o * inner, x + (o + 1) * inner);
      }
    },
    gather_rows_f32(outPtr: number, xPtr: number, indexPtr: number, count: number, rowLen: number): void {
      const m = f32(), idx = heap.i32(), out = outPtr >>> 2, x = xPtr >>> 2, ix = indexPtr >>> 2;
      for (let r = 0; r < count; r++) {
        const src = x + idx[ix + r] * rowLen;
        m.copyWithin(out + r * rowLen, src, src + rowLen);
      }
    },

    softmax_xent_f32(lossPtr: number, zPtr: number, labelsPtr: number, rows: number, cols: number): void {
      const m = f32(), labels = heap.i32(), loss = lossPtr >>> 2, z = zPtr >>> 2, lab = labelsPtr >>> 2;
      for (let r = 0; r < rows; r++) {
        const row = z + r * cols;
        let top = m[row];
        for (let c = 1; c < cols; c++) top = Math.max(top, m[row + c]);
        let s = 0;
        for (let c = 0; c < cols; c++) s = fr(s + expf32(fr(m[row + c] - top)));
        m[loss + r] = fr(top + logf32(s)) - m[row + labels[lab + r]];
      }
    },
    softmax_xent_jvp_f32(outPtr: number, zPtr: number, labelsPtr: number, dzPtr: number, rows: number, cols: number): void {
      const m = f32(), labels = heap.i32(), out = outPtr >>> 2, z = zPtr >>> 2, lab = labelsPtr >>> 2, dz = dzPtr >>> 2;
      for (let r = 0; r < rows; r++) {
        const row = z + r * cols, drow = dz + r * cols;
        let top = m[row];
        for (let c = 1; c < cols; c++) top = Math.max(top, m[row + c]);
        let s = 0;
        let weighted = 0;
        for (let c = 0; c < cols; c++) {
          const e = expf32(fr(m[row + c] - top));
          s = fr(s + e);
          weighted = fr(weighted + fr(e * m[drow + c]));
        }
        m[out + r] = fr(weighted / s) - m[drow + labels[lab + r]];
      }
    },

    philox_block_u32(outPtr: number, k0: number, k1: number, c0: number, c1: number, c2: number, c3: number): void {
      words[0] = c0; words[1] = c1; words[2] = c2; words[3] = c3;
      philox(words, k0 >>> 0, k1 >>> 0);
      heap.u32().set(words, outPtr >>> 2);
    },
    philox_uniform_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      const m = f32(), out = outPtr >>> 2;
      for (let i = 0; i < n; i += 4) {
        const w = counterBlock(k0, k1, c0 >>> 0, c1 >>> 0, i >> 2);
        for (let j = 0; j < 4 && i + j < n; j++) m[out + i + j] = unit(w[j]);
      }
    },
    philox_normal_f32(outPtr: number, n: number, k0: number, k1: number, c0: number, c1: number): void {
      const m = f32(), out = outPtr >>> 2;
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
  };
}

/** The kernel ABI: every kernel's name and signature. The WebAssembly module must export exactly these. */
export type Kernels = ReturnType<typeof createRefKernels>;
