// Elementwise kernels over n contiguous f32 values. Layout: flat, 4-byte aligned (16 is faster).
// `out` may alias any input: each element is read before it is written, at the same index.
// Each kernel has an f32x4 body and a scalar tail for n % 4 with identical per-element operations.
import { expf32, logf32 } from "./math";

export function add_f32(outPtr: usize, aPtr: usize, bPtr: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.add(v128.load(aPtr + o), v128.load(bPtr + o)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(aPtr + o) + load<f32>(bPtr + o));
  }
}

export function sub_f32(outPtr: usize, aPtr: usize, bPtr: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.sub(v128.load(aPtr + o), v128.load(bPtr + o)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(aPtr + o) - load<f32>(bPtr + o));
  }
}

export function mul_f32(outPtr: usize, aPtr: usize, bPtr: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.mul(v128.load(aPtr + o), v128.load(bPtr + o)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(aPtr + o) * load<f32>(bPtr + o));
  }
}

export function div_f32(outPtr: usize, aPtr: usize, bPtr: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.div(v128.load(aPtr + o), v128.load(bPtr + o)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(aPtr + o) / load<f32>(bPtr + o));
  }
}

/** out = x·c for a scalar c. */
export function scale_f32(outPtr: usize, xPtr: usize, c: f32, n: i32): void {
  const body = n & ~3;
  const cv = f32x4.splat(c);
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.mul(v128.load(xPtr + o), cv));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(xPtr + o) * c);
  }
}

export function neg_f32(outPtr: usize, xPtr: usize, n: i32): void {
  const body = n & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, f32x4.neg(v128.load(xPtr + o)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, -load<f32>(xPtr + o));
  }
}

/** relu(x) = x < 0 ? 0 : x, so NaN passes through and −0 stays −0. */
export function relu_f32(outPtr: usize, xPtr: usize, n: i32): void {
  const body = n & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(xPtr + o);
    v128.store(outPtr + o, v128.andnot(x, f32x4.lt(x, zero)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(xPtr + o);
    store<f32>(outPtr + o, x < 0 ? 0 : x);
  }
}

/** Tangent of relu: out = x > 0 ? dx : 0 (the subgradient at 0 is 0). */
export function relu_jvp_f32(outPtr: usize, xPtr: usize, dxPtr: usize, n: i32): void {
  const body = n & ~3;
  const zero = f32x4.splat(0);
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(outPtr + o, v128.and(v128.load(dxPtr + o), f32x4.gt(v128.load(xPtr + o), zero)));
  }
  for (let i = body; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, load<f32>(xPtr + o) > 0 ? load<f32>(dxPtr + o) : 0);
  }
}

/** e^x with the bit-reproducible expf32 of math.ts. */
export function exp_f32(outPtr: usize, xPtr: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, expf32(load<f32>(xPtr + o)));
  }
}

/** Natural log with the bit-reproducible logf32 of math.ts. */
export function log_f32(outPtr: usize, xPtr: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(outPtr + o, logf32(load<f32>(xPtr + o)));
  }
}
