// Reductions over one axis of a row-major tensor viewed as [outer, len, inner]:
// out[o, i] = reduce_a x[o, a, i]. When inner ≥ 4 the f32x4 body runs across `inner` (each lane
// keeps a strictly sequential order over a); when inner == 1 the rows are contiguous and four lane
// partial sums are kept, combined as (l0 + l1) + (l2 + l3), then the tail added in order.
// engine/kernels-ref/reduce.ts repeats exactly this order, so both give the same bits. out must not
// alias x.

export function sum_axis_f32(outPtr: usize, xPtr: usize, outer: i32, len: i32, inner: i32): void {
  if (inner == 1) {
    const body = len & ~3;
    for (let o = 0; o < outer; o++) {
      const row = xPtr + ((<usize>o * <usize>len) << 2);
      let acc = f32x4.splat(0);
      for (let a = 0; a < body; a += 4) acc = f32x4.add(acc, v128.load(row + (<usize>a << 2)));
      let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
        (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (let a = body; a < len; a++) s += load<f32>(row + (<usize>a << 2));
      store<f32>(outPtr + (<usize>o << 2), s);
    }
    return;
  }
  const body = inner & ~3;
  for (let o = 0; o < outer; o++) {
    const src = xPtr + ((<usize>o * <usize>len * <usize>inner) << 2);
    const dst = outPtr + ((<usize>o * <usize>inner) << 2);
    for (let i = 0; i < body; i += 4) {
      let acc = f32x4.splat(0);
      for (let a = 0; a < len; a++) acc = f32x4.add(acc, v128.load(src + ((<usize>a * <usize>inner + <usize>i) << 2)));
      v128.store(dst + (<usize>i << 2), acc);
    }
    for (let i = body; i < inner; i++) {
      let s: f32 = 0;
      for (let a = 0; a < len; a++) s += load<f32>(src + ((<usize>a * <usize>inner + <usize>i) << 2));
      store<f32>(dst + (<usize>i << 2), s);
    }
  }
}

/** Maximum with WebAssembly's f32.max semantics: NaN if any input is NaN, +0 over −0. len ≥ 1. */
export function max_axis_f32(outPtr: usize, xPtr: usize, outer: i32, len: i32, inner: i32): void {
  const body = inner & ~3;
  for (let o = 0; o < outer; o++) {
    const src = xPtr + ((<usize>o * <usize>len * <usize>inner) << 2);
    const dst = outPtr + ((<usize>o * <usize>inner) << 2);
    for (let i = 0; i < body; i += 4) {
      let acc = v128.load(src + (<usize>i << 2));
      for (let a = 1; a < len; a++) acc = f32x4.max(acc, v128.load(src + ((<usize>a * <usize>inner + <usize>i) << 2)));
      v128.store(dst + (<usize>i << 2), acc);
    }
    for (let i = body; i < inner; i++) {
      let m = load<f32>(src + (<usize>i << 2));
      for (let a = 1; a < len; a++) m = max<f32>(m, load<f32>(src + ((<usize>a * <usize>inner + <usize>i) << 2)));
      store<f32>(dst + (<usize>i << 2), m);
    }
  }
}

/**
 * Tangent of max over an axis: out[o, i] = dx[o, a*, i] where a* is the first index whose value
 * equals the maximum (ties take the first; a NaN maximum selects the first NaN).
 */
export function max_jvp_f32(outPtr: usize, xPtr: usize, maxPtr: usize, dxPtr: usize, outer: i32, len: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const base = <usize>o * <usize>len * <usize>inner;
    for (let i = 0; i < inner; i++) {
      const m = load<f32>(maxPtr + ((<usize>o * <usize>inner + <usize>i) << 2));
      const isNan = m != m;
      let pick: i32 = 0;
      for (let a = 0; a < len; a++) {
        const v = load<f32>(xPtr + ((base + <usize>a * <usize>inner + <usize>i) << 2));
        if (isNan ? v != v : v == m) { pick = a; break; }
      }
      store<f32>(outPtr + ((<usize>o * <usize>inner + <usize>i) << 2),
        load<f32>(dxPtr + ((base + <usize>pick * <usize>inner + <usize>i) << 2)));
    }
  }
}
