// The TypeScript twins of the kernels, one file per kernels-as/ file, with the same kernels in it:
// the fallback where WebAssembly SIMD is missing and the oracle the kernel tests compare against.
// Each twin reproduces its kernel's operation order with f32 rounding after every operation
// (Math.fround, or a store into a Float32Array), so the results are the same bits: a correctly
// rounded f64 +, −, ×, ÷ or √ of f32 inputs, rounded to f32, equals the f32 operation.
import type { Heap } from "../heap.ts";
import type { Kernels } from "../kernel-abi.ts";
import { createConvRef } from "./conv.ts";
import { createEighRef } from "./eigh.ts";
import { createElementwiseRef } from "./elementwise.ts";
import { createLayoutRef } from "./layout.ts";
import { createLossRef } from "./loss.ts";
import { createMatmulRef } from "./matmul.ts";
import { createProbeRef } from "./probe.ts";
import { createRandomRef } from "./random.ts";
import { createReduceRef } from "./reduce.ts";
import { createSvdRef } from "./svd.ts";

/** The TypeScript kernel set over `heap`'s memory; the WebAssembly exports have the same shape. */
export function createRefKernels(heap: Heap): Kernels {
  return {
    ...createElementwiseRef(heap),
    ...createReduceRef(heap),
    ...createMatmulRef(heap),
    ...createLayoutRef(heap),
    ...createConvRef(heap),
    ...createLossRef(heap),
    ...createRandomRef(heap),
    ...createProbeRef(heap),
    ...createSvdRef(heap),
    ...createEighRef(heap),
  };
}
