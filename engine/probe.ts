// The machine's per-core SIMD peak, which the benchmarks report their products against: the probe
// kernel (kernels-as/probe.ts) timed on the calling thread.
import { engine } from "./backend.ts";
import { FwdgradError } from "./errors.ts";

/**
 * GFLOP/s of f32x4 multiplies and adds (no FMA, as every kernel computes) on the calling thread: the
 * best of `runs` calls of the probe kernel, `iterations` steps each, after one short warm-up call.
 * @throws {FwdgradError} when the WebAssembly kernels are not loaded (the TypeScript twins have no SIMD to probe).
 */
export function simdPeakGflops(iterations = 2_000_000, runs = 5): number {
  const { heap, wasm } = engine();
  if (!wasm) throw new FwdgradError("simdPeakGflops: the WebAssembly kernels are not loaded");
  const scope = heap.mark();
  try {
    const out = heap.alloc(48).ptr;
    wasm.simd_peak_f32(out, 10_000);
    let best = Infinity;
    for (let run = 0; run < runs; run++) {
      const t = performance.now();
      wasm.simd_peak_f32(out, iterations);
      best = Math.min(best, performance.now() - t);
    }
    return (iterations * wasm.simd_peak_flops_f32()) / (best * 1e6);
  } finally {
    heap.release(scope);
  }
}
