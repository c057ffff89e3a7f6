// Worker threads over the engine's shared WebAssembly.Memory. Each worker instantiates the kernel
// module on the same memory and waits on its own control block (a small SharedArrayBuffer) for a
// kernel index and arguments; the calling thread runs the first part of a split call itself, then
// blocks with Atomics.wait until every worker has stored its completion. Workers never allocate:
// all memory, scratch included, is handed out by the calling thread's heap (engine/heap.ts).
// How a worker is started differs by runtime, so it comes from a ThreadHost: the web Worker (from a
// Blob URL, so no file or import.meta.url is needed) in browsers, Deno and Bun; Node's
// worker_threads from platform/node.ts, registered by the package's Node entry.
import { FwdgradError } from "./errors.ts";
import { KERNELS } from "./kernel-abi.ts";
import { kernelBytes } from "./wasm.ts";

/** A started worker, as the host exposes it. */
export interface HostWorker {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  terminate(): void;
  /** Lets the process exit while this worker lives (where the runtime can); called once it is ready. */
  unref?(): void;
}

/** What the engine needs from a runtime to run threads. */
export interface ThreadHost {
  /** Logical cores the runtime reports. */
  cores(): number;
  /**
   * Starts a worker running `body`, the source of a function `(port) => void` where
   * `port = { post(message), listen(listener), close() }` speaks to this side.
   */
  spawn(body: string): HostWorker;
}

// Control block of one worker: int32 slots, then float64 arguments and the result.
const SEQ = 0; // bumped by the caller for each job (the worker waits on it)
const DONE = 1; // set by the worker to the job's SEQ when finished (the caller waits on it)
const KERNEL = 2; // kernel index, or STOP
const COUNT = 3; // number of arguments
const STATUS = 4; // 0 ok, 1 the kernel threw (a wasm trap)
const ARGS_BYTE = 64;
const MAX_ARGS = 16;
const RESULT = MAX_ARGS;
const BLOCK_BYTES = ARGS_BYTE + (MAX_ARGS + 1) * 8;
const STOP = -1;
// Busy-polls before sleeping: a wake from Atomics.wait costs tens of microseconds, a job often less.
const SPINS = 20000;
// After this long without a job a worker waits asynchronously, back in its event loop, where the
// runtime can end it: Node does not exit while a worker blocks in Atomics.wait, even unref'd.
const IDLE_MS = 100;

// The worker, as source (it runs in a fresh global scope with only `port` from the host).
const WORKER_BODY = `(port) => {
  port.listen(async (init) => {
    try {
      const module = await WebAssembly.compile(init.bytes);
      const instance = await WebAssembly.instantiate(module, { env: { memory: init.memory } });
      const kernels = init.names.map((name) => instance.exports[name]);
      const control = new Int32Array(init.control);
      const args = new Float64Array(init.control, ${ARGS_BYTE}, ${MAX_ARGS + 1});
      port.post({ ready: true });
      let seen = 0;
      for (;;) {
        for (let i = 0; i < ${SPINS} && Atomics.load(control, ${SEQ}) === seen; i++);
        if (Atomics.wait(control, ${SEQ}, seen, ${IDLE_MS}) === "timed-out" && typeof Atomics.waitAsync === "function") {
          const idle = Atomics.waitAsync(control, ${SEQ}, seen);
          if (idle.async) await idle.value;
        }
        if (Atomics.load(control, ${SEQ}) === seen) continue;
        seen = Atomics.load(control, ${SEQ});
        const kernel = control[${KERNEL}];
        if (kernel === ${STOP}) break;
        try {
          const result = kernels[kernel](...args.subarray(0, control[${COUNT}]));
          args[${RESULT}] = typeof result === "number" ? result : 0;
          control[${STATUS}] = 0;
        } catch (error) {
          control[${STATUS}] = 1;
        }
        Atomics.store(control, ${DONE}, seen);
        Atomics.notify(control, ${DONE});
      }
    } catch (error) {
      port.post({ error: String((error && error.message) || error) });
    }
    port.close();
  });
}`;

/** The web Worker host (browsers, Deno, Bun), or null where this runtime has no Worker or Blob URLs. */
export function webThreadHost(): ThreadHost | null {
  const g = globalThis as { Worker?: unknown; Blob?: unknown; URL?: { createObjectURL?: unknown }; navigator?: { hardwareConcurrency?: number } };
  if (typeof g.Worker !== "function" || typeof g.Blob !== "function" || typeof g.URL?.createObjectURL !== "function") return null;
  // One Blob URL for every worker, kept for the page's life: some runtimes (Bun) read it after
  // `new Worker` returns, so it cannot be revoked right away.
  const urls = new Map<string, string>();
  return {
    cores: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
    spawn(body) {
      let url = urls.get(body);
      if (!url) {
        const source =
          "const port = { post: (m) => postMessage(m), listen: (f) => addEventListener('message', (e) => f(e.data)), close: () => close() };\n" +
          `(${body})(port);\n`;
        urls.set(body, (url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }))));
      }
      const worker = new Worker(url, { type: "module" });
      return {
        postMessage: (message) => worker.postMessage(message),
        onMessage: (listener) => worker.addEventListener("message", (e) => listener((e as MessageEvent).data)),
        onError: (listener) => worker.addEventListener("error", (e) => listener((e as ErrorEvent).message ?? e)),
        terminate: () => worker.terminate(),
        unref: () => (worker as { unref?: () => void }).unref?.(),
      };
    },
  };
}

let registeredHost: ThreadHost | null = null;

/** Sets the host used to start workers where the runtime has no web Worker (platform/node.ts). */
export function setThreadHost(host: ThreadHost): void {
  registeredHost = host;
}

/** The registered host, else the web Worker host, else null. */
export function threadHost(): ThreadHost | null {
  return registeredHost ?? webThreadHost();
}

/**
 * Why this thread cannot run workers on shared memory, or null when it can: shared memory needs
 * SharedArrayBuffer (cross-origin isolation in browsers), and the caller must be allowed to block
 * (a browser's main thread is not: train in a worker there).
 */
export function threadsUnavailable(host: ThreadHost | null): string | null {
  if (typeof SharedArrayBuffer !== "function") {
    return "SharedArrayBuffer is not available (a page needs cross-origin isolation: the COOP and COEP headers)";
  }
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return "the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
  }
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
  } catch {
    return "this thread may not block (a browser's main thread): run the engine in a worker to use threads";
  }
  if (!host) return "this runtime has no Worker (in Node, import fwdgrad through its package entry, which registers worker_threads)";
  return null;
}

interface Slot {
  worker: HostWorker;
  control: Int32Array;
  args: Float64Array;
  seq: number;
}

/** A set of workers running the kernel module over one shared memory. */
export class ThreadPool {
  private slots: Slot[] = [];
  private closed = false;

  private constructor() {}

  /**
   * Starts `count` workers, each instantiating the kernels (the shared-memory build) on `memory`,
   * and waits until all are ready; if one fails, stops the others and throws.
   */
  static async start(host: ThreadHost, count: number, memory: WebAssembly.Memory): Promise<ThreadPool> {
    const pool = new ThreadPool();
    const init = { bytes: kernelBytes(true), memory, names: KERNELS.map((k) => k.name) };
    const started = Array.from({ length: count }, () => {
      const buffer = new SharedArrayBuffer(BLOCK_BYTES);
      const slot: Slot = { worker: host.spawn(WORKER_BODY), control: new Int32Array(buffer, 0, ARGS_BYTE / 4), args: new Float64Array(buffer, ARGS_BYTE, MAX_ARGS + 1), seq: 0 };
      pool.slots.push(slot);
      const ready = new Promise<void>((resolve, reject) => {
        slot.worker.onMessage((message) => {
          const m = message as { ready?: boolean; error?: string };
          if (m.ready) {
            slot.worker.unref?.();
            resolve();
          } else if (m.error) reject(new FwdgradError(`a kernel worker failed to start: ${m.error}`));
        });
        slot.worker.onError((error) => reject(new FwdgradError(`a kernel worker failed to start: ${String(error)}`)));
      });
      slot.worker.postMessage({ ...init, control: buffer });
      return ready;
    });
    try {
      await Promise.all(started);
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  /** Workers besides the calling thread. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Runs kernel `index` once per argument list, list 0 on this thread and list i on worker i - 1,
   * and returns the results in order once all are done. Blocks this thread while workers finish.
   */
  run(index: number, parts: readonly (readonly number[])[], local: (args: readonly number[]) => number | void): number[] {
    if (this.closed) throw new FwdgradError("the engine's threads were shut down: call `await ready()` again");
    if (parts.length - 1 > this.slots.length) throw new FwdgradError(`${parts.length} parts for ${this.slots.length + 1} threads`);
    for (let p = 1; p < parts.length; p++) {
      const slot = this.slots[p - 1];
      const args = parts[p];
      slot.args.set(args);
      slot.control[KERNEL] = index;
      slot.control[COUNT] = args.length;
      slot.seq = (slot.seq + 1) | 0;
      Atomics.store(slot.control, SEQ, slot.seq);
      Atomics.notify(slot.control, SEQ);
    }
    const results: number[] = [];
    let localError: unknown = null;
    try {
      results.push(Number(local(parts[0]) ?? 0));
    } catch (error) {
      localError = error;
    }
    let failed = -1;
    for (let p = 1; p < parts.length; p++) {
      const slot = this.slots[p - 1];
      this.waitFor(slot);
      if (slot.control[STATUS] !== 0) failed = p - 1;
      results.push(slot.args[RESULT]);
    }
    if (localError) throw localError;
    if (failed >= 0) throw new FwdgradError(`kernel ${KERNELS[index].name} trapped on worker ${failed} (out-of-bounds memory access or unreachable code)`);
    return results;
  }

  private waitFor(slot: Slot): void {
    for (let i = 0; i < SPINS; i++) if (Atomics.load(slot.control, DONE) === slot.seq) return;
    for (;;) {
      const done = Atomics.load(slot.control, DONE);
      if (done === slot.seq) return;
      Atomics.wait(slot.control, DONE, done);
    }
  }

  /** Stops every worker (each leaves its loop and closes) and terminates it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      slot.control[KERNEL] = STOP;
      slot.seq = (slot.seq + 1) | 0;
      Atomics.store(slot.control, SEQ, slot.seq);
      Atomics.notify(slot.control, SEQ);
      slot.worker.terminate();
    }
    this.slots = [];
  }
}
