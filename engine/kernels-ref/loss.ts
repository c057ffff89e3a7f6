// Twin of kernels-as/loss.ts: per-row softmax cross-entropy of [rows, cols] logits and its tangent,
// with the engine's own expf32/logf32 and f32 rounding after every operation.
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";
import { expf32, logf32 } from "./math.ts";

const fr = Math.fround;

export function createLossRef(heap: Heap) {
  return twins("loss", {
    softmax_xent_f32(lossPtr: number, zPtr: number, labelsPtr: number, rows: number, cols: number): void {
      const m = heap.f32(), labels = heap.i32(), loss = lossPtr >>> 2, z = zPtr >>> 2, lab = labelsPtr >>> 2;
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
      const m = heap.f32(), labels = heap.i32(), out = outPtr >>> 2, z = zPtr >>> 2, lab = labelsPtr >>> 2, dz = dzPtr >>> 2;
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
  });
}
