// A probe of the machine, not a computation: the per-core SIMD peak the benchmarks report their
// products against (`npm run bench`). Twelve independent f32x4 chains of a multiply then an add (no
// FMA, as every kernel), enough chains to cover the operations' latency, so the loop runs at the
// core's f32x4 multiply-and-add throughput. engine/kernels-ref/probe.ts computes the same values.

const CHAINS = 12;

/**
 * Runs `iterations` steps of v ← v·m + c on twelve f32x4 chains (chain i starts at i/16; m = 0.999,
 * c = 0.001, so the values stay bounded) and stores lane 0 of each chain at outPtr: 96·iterations
 * floating-point operations, timed by the caller.
 */
export function simd_peak_f32(outPtr: usize, iterations: i32): void {
  const m = f32x4.splat(0.999), c = f32x4.splat(0.001);
  let v0 = f32x4.splat(0), v1 = f32x4.splat(0.0625), v2 = f32x4.splat(0.125), v3 = f32x4.splat(0.1875);
  let v4 = f32x4.splat(0.25), v5 = f32x4.splat(0.3125), v6 = f32x4.splat(0.375), v7 = f32x4.splat(0.4375);
  let v8 = f32x4.splat(0.5), v9 = f32x4.splat(0.5625), v10 = f32x4.splat(0.625), v11 = f32x4.splat(0.6875);
  for (let i = 0; i < iterations; i++) {
    v0 = f32x4.add(f32x4.mul(v0, m), c); v1 = f32x4.add(f32x4.mul(v1, m), c);
    v2 = f32x4.add(f32x4.mul(v2, m), c); v3 = f32x4.add(f32x4.mul(v3, m), c);
    v4 = f32x4.add(f32x4.mul(v4, m), c); v5 = f32x4.add(f32x4.mul(v5, m), c);
    v6 = f32x4.add(f32x4.mul(v6, m), c); v7 = f32x4.add(f32x4.mul(v7, m), c);
    v8 = f32x4.add(f32x4.mul(v8, m), c); v9 = f32x4.add(f32x4.mul(v9, m), c);
    v10 = f32x4.add(f32x4.mul(v10, m), c); v11 = f32x4.add(f32x4.mul(v11, m), c);
  }
  store<f32>(outPtr, f32x4.extract_lane(v0, 0)); store<f32>(outPtr, f32x4.extract_lane(v1, 0), 4);
  store<f32>(outPtr, f32x4.extract_lane(v2, 0), 8); store<f32>(outPtr, f32x4.extract_lane(v3, 0), 12);
  store<f32>(outPtr, f32x4.extract_lane(v4, 0), 16); store<f32>(outPtr, f32x4.extract_lane(v5, 0), 20);
  store<f32>(outPtr, f32x4.extract_lane(v6, 0), 24); store<f32>(outPtr, f32x4.extract_lane(v7, 0), 28);
  store<f32>(outPtr, f32x4.extract_lane(v8, 0), 32); store<f32>(outPtr, f32x4.extract_lane(v9, 0), 36);
  store<f32>(outPtr, f32x4.extract_lane(v10, 0), 40); store<f32>(outPtr, f32x4.extract_lane(v11, 0), 44);
}

/** Floating-point operations of one iteration of simd_peak_f32: 12 chains × 4 lanes × (multiply + add). */
export function simd_peak_flops_f32(): i32 {
  return CHAINS * 4 * 2;
}
