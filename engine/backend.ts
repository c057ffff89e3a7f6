// The engine's state: one heap, the TypeScript kernels over it, the WebAssembly kernels when the
// runtime has SIMD, and the worker threads that share the kernels' work when the runtime can run
// them (engine/threads.ts). `ready()` is the only async step; everything after it is synchronous.
import { FwdgradError } from "./errors.ts";
import { Heap, type WasmMemory } from "./heap.ts";
import type { Kernels } from "./kernel-abi.ts";
import { createRefKernels } from "./kernels-ref/index.ts";
import { threadedKernels } from "./parallel.ts";
import { ThreadPool, threadHost, threadsUnavailable, type ThreadHost } from "./threads.ts";
import { kernelBytes, loadKernels, simdSupported } from "./wasm.ts";

/** Which kernel set runs the hot loops. */
export type KernelKind = "wasm" | "ts";

/** What {@link engineInfo} reports: the kernel set, threads and memory in use. */
export interface EngineInfo {
  /** True when WebAssembly SIMD is available here. */
  simd: boolean;
  /** The kernel set in use: "wasm" (SIMD) or "ts" (the pure-TypeScript twins, always one thread). */
  kernels: KernelKind;
  /** Threads the WebAssembly kernels run on, the calling one included. */
  threads: number;
  /** True when the engine's memory is shared, so that threads can be added by a later `ready`. */
  sharedMemory: boolean;
  /**
   * Why fewer threads run than were asked for (or than the runtime has cores), else null; after a
   * worker failed (a FwdgradFault), which one, in which kernel, and how many threads are left.
   */
  threadsNote: string | null;
}

/** Options of {@link ready}: which kernels and how many threads. */
export interface ReadyOptions {
  /** The kernel set: "wasm" (default where SIMD exists) or "ts". */
  kernels?: KernelKind;
  /** Threads for the WebAssembly kernels, 1 to 64; default: the cores the runtime reports. */
  threads?: number;
}

export interface Backend {
  memory: WasmMemory;
  heap: Heap;
  k: Kernels;
  ref: Kernels;
  /** The WebAssembly kernels on the calling thread only. */
  wasm: Kernels | null;
  /** The WebAssembly kernels split over the threads (the same object as `wasm` with one thread). */
  threaded: Kernels | null;
  kind: KernelKind;
  pool: ThreadPool | null;
  host: ThreadHost | null;
  /** Why threads cannot run here, or null. */
  unavailable: string | null;
  threadsNote: string | null;
}

const MAX_THREADS = 64;

let backend: Backend | null = null;
let starting: Promise<Backend> | null = null;
// `ready` calls run one after another: each may stop or start workers.
let queue: Promise<unknown> = Promise.resolve();

async function start(): Promise<Backend> {
  const host = threadHost();
  let unavailable = threadsUnavailable(host);
  if (!unavailable && !simdSupported()) unavailable = "WebAssembly SIMD is missing here, and the TypeScript kernels run on one thread";
  if (!unavailable && !WebAssembly.validate(kernelBytes(true))) unavailable = "this runtime does not support WebAssembly threads (shared memory)";
  const shared = unavailable === null;
  const heap = new Heap(32, shared);
  const ref = createRefKernels(heap);
  const wasm = await loadKernels(heap.memory, shared);
  backend = {
    heap, memory: heap.memory, ref, wasm, threaded: wasm, k: wasm ?? ref, kind: wasm ? "wasm" : "ts",
    pool: null, host, unavailable, threadsNote: null,
  };
  return backend;
}

/** Starts or stops workers so that the WebAssembly kernels run on `threads` threads. */
async function setThreads(b: Backend, threads: number): Promise<void> {
  const want = b.unavailable || !b.wasm ? 1 : threads;
  b.threadsNote = want < threads ? `running on 1 thread: ${b.unavailable}` : null;
  if ((b.pool?.size ?? 0) + 1 === want) {
    if (b.kind === "wasm") b.k = b.threaded!;
    return;
  }
  stopThreads(b);
  if (want > 1) {
    const pool = (b.pool = await ThreadPool.start(b.host!, want - 1, b.memory));
    // A worker that failed was retired from the pool: go on with the threads left, or with one.
    pool.onRetire = (note) => {
      b.threadsNote = note;
      if (pool.size === 0) stopThreads(b);
      else useThreads(b, pool);
    };
    useThreads(b, pool);
  }
}

/** Splits the WebAssembly kernels over the pool's workers and the calling thread. */
function useThreads(b: Backend, pool: ThreadPool): void {
  b.threaded = threadedKernels(b.wasm!, pool, b.heap);
  if (b.kind === "wasm") b.k = b.threaded;
}

function stopThreads(b: Backend): void {
  b.pool?.close();
  b.pool = null;
  b.threaded = b.wasm;
  if (b.kind === "wasm") b.k = b.wasm!;
}

/**
 * Prepares the engine: creates its memory, compiles the WebAssembly kernels (once) and starts the
 * worker threads. Call it before any other function; call it again to change the kernel set or the
 * thread count. Without SIMD the TypeScript kernels are used. Threads need shared memory (in a
 * browser: a cross-origin isolated page) and a thread that may block (in a browser: a worker, not
 * the page's main thread); where either is missing the engine runs on one thread and
 * `threadsNote` says why. Any thread count gives the same bits. A worker that traps, dies or stalls
 * ends its call with a FwdgradFault (the call can be retried) and is retired: the engine goes on with
 * the threads left, `threadsNote` says which failed, and a later `ready({ threads })` starts fresh ones.
 * Every other function of the engine throws a FwdgradError until the returned promise resolves.
 * @throws {FwdgradError} when `threads` is not an integer from 1 to 64, or `kernels` is not "wasm" or "ts".
 * @example
 * ```ts
 * import { ready, tensor, matmul } from "fwdgrad";
 * const info = await ready();            // { simd: true, kernels: "wasm", threads: 2, ... }
 * matmul(tensor([1, 2], [1, 2]), tensor([3, 4], [2, 1])).toArray(); // Float32Array [11]
 * ```
 */
export async function ready(options: ReadyOptions = {}): Promise<EngineInfo> {
  const { kernels, threads } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)) {
    throw new FwdgradError(`ready: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  }
  const run = queue.then(async () => {
    const b = await (starting ??= start());
    if (kernels) useKernels(kernels);
    const cores = b.host?.cores() ?? 1;
    await setThreads(b, threads ?? Math.min(cores, MAX_THREADS));
    return info(b);
  });
  queue = run.catch(() => undefined);
  return run;
}

function info(b: Backend): EngineInfo {
  return { simd: b.wasm !== null, kernels: b.kind, threads: (b.pool?.size ?? 0) + 1, sharedMemory: b.heap.shared, threadsNote: b.threadsNote };
}

/**
 * The engine's current settings (after `ready()`).
 * @throws {FwdgradError} when the engine is not ready.
 * @example
 * ```ts
 * await ready();
 * const { kernels, threads } = engineInfo();
 * ```
 */
export function engineInfo(): EngineInfo {
  return info(engine());
}

/**
 * Stops the worker threads; the engine goes on with one thread until `ready()` starts them again.
 * Runtimes whose workers keep the process alive (Deno, the browser) need this before exit.
 */
export function shutdown(): void {
  if (backend) stopThreads(backend);
}

/**
 * Switches between the WebAssembly kernels and their TypeScript twins (both give the same bits).
 * @throws {FwdgradError} when `kind` is not "wasm" or "ts", "wasm" is asked for where SIMD is missing, or the engine is not ready.
 * @example
 * ```ts
 * useKernels("ts"); // the same bits, more slowly: for checking the kernels
 * ```
 */
export function useKernels(kind: KernelKind): void {
  const b = engine();
  if (kind === "wasm" && !b.wasm) throw new FwdgradError("useKernels: WebAssembly SIMD kernels are not available in this runtime");
  if (kind !== "wasm" && kind !== "ts") throw new FwdgradError(`useKernels: expected "wasm" or "ts", got ${String(kind)}`);
  b.k = kind === "wasm" ? b.threaded! : b.ref;
  b.kind = kind;
}

/** The running engine; throws a clear error when `ready()` has not completed. */
export function engine(): Backend {
  if (!backend) throw new FwdgradError("the engine is not ready: call `await ready()` first");
  return backend;
}
