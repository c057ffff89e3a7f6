// Data movement over row-major f32 tensors: repeating an axis (broadcasting) and gathering rows.
// out must not alias x. Rows are copied with f32x4 loads and stores plus a scalar tail.

// @ts-ignore: decorator
@inline
function copyRow(dst: usize, src: usize, len: i32): void {
  const body = len & ~3;
  for (let i = 0; i < body; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, v128.load(src + o));
  }
  for (let i = body; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(src + o));
  }
}

/** out[o, a, i] = x[o, i] for a < times: inserts a repeated axis of length `times`. */
export function repeat_axis_f32(outPtr: usize, xPtr: usize, outer: i32, times: i32, inner: i32): void {
  for (let o = 0; o < outer; o++) {
    const src = xPtr + ((<usize>o * <usize>inner) << 2);
    const dst = outPtr + ((<usize>o * <usize>times * <usize>inner) << 2);
    for (let a = 0; a < times; a++) copyRow(dst + ((<usize>a * <usize>inner) << 2), src, inner);
  }
}

/** out[r, :] = x[index[r], :] for r < count; index holds i32 row numbers, already range-checked. */
export function gather_rows_f32(outPtr: usize, xPtr: usize, indexPtr: usize, count: i32, rowLen: i32): void {
  for (let r = 0; r < count; r++) {
    const row = load<i32>(indexPtr + (<usize>r << 2));
    copyRow(outPtr + ((<usize>r * <usize>rowLen) << 2), xPtr + ((<usize>row * <usize>rowLen) << 2), rowLen);
  }
}
