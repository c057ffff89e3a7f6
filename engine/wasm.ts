// The one module that touches WebAssembly compilation: decodes the embedded kernel bytes, compiles
// them once (asynchronously: browsers refuse large synchronous compiles) and instantiates them over
// the engine's memory. No fetch, file access or import.meta.url, so every runtime runs this unchanged.
import { KERNELS_WASM_BASE64 } from "./generated/kernels-wasm.ts";
import { FwdgradError } from "./errors.ts";
import type { Kernels } from "./kernels-ref.ts";

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): validates only where SIMD is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

/** True when this runtime validates WebAssembly modules that use 128-bit SIMD. */
export function simdSupported(): boolean {
  return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * Instantiates the kernels over `memory`, or returns null where SIMD is missing (the caller then
 * uses the TypeScript twins). Checks that the module exports exactly the kernels of `abi`, each
 * with the same number of parameters, so the TS table and the AS sources cannot drift apart.
 */
export async function loadKernels(memory: WebAssembly.Memory, abi: Kernels): Promise<Kernels | null> {
  if (!simdSupported()) return null;
  compiled ??= WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  const instance = await WebAssembly.instantiate(await compiled, { env: { memory } });
  const exports = instance.exports as Record<string, unknown>;
  const names = Object.keys(abi);
  const exported = Object.keys(exports).filter((name) => typeof exports[name] === "function");
  for (const name of names) {
    const fn = exports[name];
    if (typeof fn !== "function") throw new FwdgradError(`kernel module: missing export ${name}`);
    const expected = (abi as Record<string, (...args: number[]) => void>)[name].length;
    if (fn.length !== expected) {
      throw new FwdgradError(`kernel module: ${name} takes ${fn.length} parameters, the TS twin ${expected}`);
    }
  }
  const extra = exported.filter((name) => !(name in abi));
  if (extra.length > 0) throw new FwdgradError(`kernel module: exports without a TS twin: ${extra.join(", ")}`);
  return exports as unknown as Kernels;
}
