// The engine's state: one heap, the TypeScript kernels over it, and the WebAssembly kernels when the
// runtime has SIMD. `ready()` is the only async step; everything after it is synchronous.
import { FwdgradError } from "./errors.ts";
import { Heap } from "./heap.ts";
import type { Kernels } from "./kernel-abi.ts";
import { createRefKernels } from "./kernels-ref/index.ts";
import { loadKernels } from "./wasm.ts";

/** Which kernel set runs the hot loops. */
export type KernelKind = "wasm" | "ts";

export interface EngineInfo {
  /** True when WebAssembly SIMD is available here. */
  simd: boolean;
  /** The kernel set in use: "wasm" (SIMD) or "ts" (the pure-TypeScript twins). */
  kernels: KernelKind;
}

export interface Backend {
  memory: WebAssembly.Memory;
  heap: Heap;
  k: Kernels;
  ref: Kernels;
  wasm: Kernels | null;
  kind: KernelKind;
}

let backend: Backend | null = null;
let starting: Promise<Backend> | null = null;

async function start(): Promise<Backend> {
  const heap = new Heap();
  const ref = createRefKernels(heap);
  const wasm = await loadKernels(heap.memory);
  backend = { heap, memory: heap.memory, ref, wasm, k: wasm ?? ref, kind: wasm ? "wasm" : "ts" };
  return backend;
}

/**
 * Prepares the engine: creates its memory and compiles the WebAssembly kernels (once; later calls
 * return at once). Call it before any other function. Without SIMD the TypeScript kernels are used.
 * @example
 * ```ts
 * import { ready, tensor, matmul } from "fwdgrad";
 * const info = await ready();            // { simd: true, kernels: "wasm" }
 * matmul(tensor([1, 2], [1, 2]), tensor([3, 4], [2, 1])).toArray(); // Float32Array [11]
 * ```
 */
export async function ready(options: { kernels?: KernelKind } = {}): Promise<EngineInfo> {
  const b = await (starting ??= start());
  if (options.kernels) useKernels(options.kernels);
  return { simd: b.wasm !== null, kernels: b.kind };
}

/** Switches between the WebAssembly kernels and their TypeScript twins (both give the same bits). */
export function useKernels(kind: KernelKind): void {
  const b = engine();
  if (kind === "wasm" && !b.wasm) throw new FwdgradError("useKernels: WebAssembly SIMD kernels are not available in this runtime");
  if (kind !== "wasm" && kind !== "ts") throw new FwdgradError(`useKernels: expected "wasm" or "ts", got ${String(kind)}`);
  b.k = kind === "wasm" ? b.wasm! : b.ref;
  b.kind = kind;
}

/** The running engine; throws a clear error when `ready()` has not completed. */
export function engine(): Backend {
  if (!backend) throw new FwdgradError("the engine is not ready: call `await ready()` first");
  return backend;
}
