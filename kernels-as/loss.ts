// Softmax cross-entropy on row-major logits z[rows, cols] with i32 labels, one loss per row.
// Sums run sequentially over the classes so that the twin (engine/kernels-ref/loss.ts) gives the
// same bits.
import { expf32, logf32 } from "./math";

/** loss[r] = log Σ_c e^{z[r,c]} − z[r, label[r]], stabilised by the row maximum. */
export function softmax_xent_f32(lossPtr: usize, zPtr: usize, labelsPtr: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = zPtr + ((<usize>r * <usize>cols) << 2);
    let m = load<f32>(row);
    for (let c = 1; c < cols; c++) m = max<f32>(m, load<f32>(row + (<usize>c << 2)));
    let s: f32 = 0;
    for (let c = 0; c < cols; c++) s += expf32(load<f32>(row + (<usize>c << 2)) - m);
    const label = load<i32>(labelsPtr + (<usize>r << 2));
    store<f32>(lossPtr + (<usize>r << 2), (m + logf32(s)) - load<f32>(row + (<usize>label << 2)));
  }
}

/** Tangent: out[r] = Σ_c softmax(z_r)_c·dz[r,c] − dz[r, label[r]]. */
export function softmax_xent_jvp_f32(outPtr: usize, zPtr: usize, labelsPtr: usize, dzPtr: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = zPtr + ((<usize>r * <usize>cols) << 2);
    const drow = dzPtr + ((<usize>r * <usize>cols) << 2);
    let m = load<f32>(row);
    for (let c = 1; c < cols; c++) m = max<f32>(m, load<f32>(row + (<usize>c << 2)));
    let s: f32 = 0;
    let weighted: f32 = 0;
    for (let c = 0; c < cols; c++) {
      const e = expf32(load<f32>(row + (<usize>c << 2)) - m);
      s += e;
      weighted += e * load<f32>(drow + (<usize>c << 2));
    }
    const label = load<i32>(labelsPtr + (<usize>r << 2));
    store<f32>(outPtr + (<usize>r << 2), weighted / s - load<f32>(drow + (<usize>label << 2)));
  }
}
