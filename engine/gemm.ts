// The typed wrapper around the gemm kernel: shapes in, one kernel call out, packing scratch taken
// from the arena for the duration of the call. Callers validate shapes first (ops.ts, linalg.ts).
import { engine } from "./backend.ts";
import { DIST_CODE, type Draw } from "./tensor.ts";

export interface GemmOperand {
  ptr: number;
  /** Elements between consecutive matrices of a stack; 0 reuses one matrix for the whole batch. */
  stride: number;
  /** Stored transposed: A as k×m, B as n×k. */
  trans: boolean;
}

/** out[b] (m×n, contiguous) = op(A[b])·op(B[b]) for b < batch. */
export function gemm(outPtr: number, a: GemmOperand, b: GemmOperand, batch: number, m: number, k: number, n: number): void {
  const { heap, k: kernels } = engine();
  const start = heap.mark();
  const pack = heap.alloc(kernels.gemm_scratch_f32() * 4).ptr;
  kernels.gemm_f32(outPtr, a.ptr, b.ptr, pack, batch, m, k, n, a.stride, b.stride, Number(a.trans), Number(b.trans), 0, m);
  heap.release(start);
}

/**
 * out[b] (m×n) = op(A)·V[b]ᵀ for b < batch, where V[b] (n×k) is elements b·n·k .. (b+1)·n·k of the
 * draw, never stored: the kernel draws each panel of V as the product needs it (the same bits as
 * drawing V first and multiplying).
 */
export function gemmDrawn(outPtr: number, a: GemmOperand, draw: Draw, batch: number, m: number, k: number, n: number): void {
  const { heap, k: kernels } = engine();
  const start = heap.mark();
  const pack = heap.alloc(kernels.gemm_drawn_scratch_f32() * 4).ptr;
  kernels.gemm_drawn_f32(outPtr, a.ptr, pack, batch, m, k, n, a.stride, Number(a.trans), DIST_CODE[draw.distribution], ...draw.key, ...draw.counter, 0, n);
  heap.release(start);
}
