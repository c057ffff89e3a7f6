// The peer libraries: TensorFlow.js (wasm and cpu backends, single-threaded under Node) and ml-matrix.
import { createRequire } from "node:module";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { Matrix } from "ml-matrix";

export { tf };

export type TfBackend = "wasm" | "cpu";

/** Points tfjs-backend-wasm at its own dist/ folder (it fetches its .wasm by path) and checks both backends start. */
export async function initTf(): Promise<{ version: string; wasmThreads: number }> {
  const entry = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  setWasmPaths(`${dirname(entry)}/`);
  setThreadsCount(1);
  tf.enableProdMode();
  for (const backend of ["cpu", "wasm"] as const) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to start`);
  }
  return { version: tf.version_core, wasmThreads: getThreadsCount() };
}

/** A row-major f32 buffer as an ml-matrix (which stores f64 rows). */
export function toMatrix(data: Float32Array, rows: number, cols: number): Matrix {
  return Matrix.from1DArray(rows, cols, data);
}
