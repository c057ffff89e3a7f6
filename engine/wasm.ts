// The one module that touches WebAssembly compilation: decodes the embedded kernel bytes, compiles
// them once (asynchronously: browsers refuse large synchronous compiles) and instantiates them over
// the engine's memory. No fetch, file access or import.meta.url, so every runtime runs this unchanged.
import { decodeBase64 } from "./base64.ts";
import { FwdgradError } from "./errors.ts";
import { KERNELS_WASM_BASE64, KERNELS_WASM_SHARED_BASE64 } from "./generated/kernels-wasm.ts";
import { KERNELS, type Kernels } from "./kernel-abi.ts";
import type { WasmMemory } from "./heap.ts";

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

/** True when this runtime validates WebAssembly modules that use 128-bit SIMD. */
export function simdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

const compiled = new Map<boolean, Promise<WebAssembly.Module>>();

const decoded = new Map<boolean, Uint8Array<ArrayBuffer>>();

/** The kernel module's bytes (decoded once): the build over a shared memory (for threads) or over an ordinary one. */
export function kernelBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  let bytes = decoded.get(shared);
  if (!bytes) decoded.set(shared, (bytes = decodeBase64(shared ? KERNELS_WASM_SHARED_BASE64 : KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>));
  return bytes;
}

/**
 * Instantiates the kernels over `memory` (shared or not, the matching build), or returns null where
 * SIMD is missing (the caller then uses the TypeScript twins). Checks that the module exports
 * exactly the kernels engine/kernel-abi.ts declares, each with the declared number of parameters
 * (the build checks their names and types).
 */
export async function loadKernels(memory: WasmMemory, shared: boolean): Promise<Kernels | null> {
  if (!simdSupported()) return null;
  let module = compiled.get(shared);
  if (!module) compiled.set(shared, (module = WebAssembly.compile(kernelBytes(shared))));
  const instance = await WebAssembly.instantiate(await module, { env: { memory: memory as WebAssembly.Memory } });
  const exports = instance.exports as Record<string, unknown>;
  for (const { name, params } of KERNELS) {
    const fn = exports[name];
    if (typeof fn !== "function") throw new FwdgradError(`kernel module: missing export ${name}`);
    if (fn.length !== params.length) {
      throw new FwdgradError(`kernel module: ${name} takes ${fn.length} parameters, engine/kernel-abi.ts declares ${params.length}`);
    }
  }
  const declared = new Set<string>(KERNELS.map((k) => k.name));
  const extra = Object.keys(exports).filter((name) => typeof exports[name] === "function" && !declared.has(name));
  if (extra.length > 0) throw new FwdgradError(`kernel module: undeclared exports ${extra.join(", ")}`);
  return exports as unknown as Kernels;
}
