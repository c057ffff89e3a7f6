// The engine's public surface, re-exported from the package root.
export { ready, useKernels, shutdown, engineInfo, type EngineInfo, type KernelKind, type ReadyOptions } from "./backend.ts";
export { setThreadHost, type ThreadHost, type HostWorker } from "./threads.ts";
export { FwdgradError, FwdgradFault, type FaultKind } from "./errors.ts";
export { Tensor, tensor, zeros, type Draw, type Deferred } from "./tensor.ts";
export {
  add, sub, mul, div, scale, neg, exp, log, relu, matmul, transpose, reshape, broadcast, broadcastShapes,
  sum, mean, max, gatherRows, softmaxCrossEntropy, conv1d, conv2d, conv1dTranspose, conv2dTranspose, maxPool2d, type ConvOptions,
} from "./ops.ts";
export { jvp, linearize, vjp, grad, inject, stopGradient, tangentVariable, applyLinear, transposeLinear, type LinearProgram } from "./jvp.ts";
export { inspect } from "./inspect.ts";
export { stack, assign, assignAt, positiveMask, allFinite } from "./inplace.ts";
export { mark, release, tidy, heapBytes, heapPeakBytes, heapLimitBytes, resetHeapPeak } from "./arena.ts";
export type { Mark } from "./heap.ts";
export { rng, Rng, combineDraws, type RngState } from "./rng.ts";
export { PRIMS, type PrimName } from "./prims.ts";
export { svd, eigh, qr, newtonSchulz, NEWTON_SCHULZ_PRESETS, type SvdResult, type EighResult, type TopKOptions, type NewtonSchulzOptions } from "./linalg/decompositions.ts";
