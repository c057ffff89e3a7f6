// Worker threads over the engine's shared WebAssembly.Memory. Each worker instantiates the kernel
// module on the same memory and waits on its own control block (a small SharedArrayBuffer) for a
// kernel index and arguments; the calling thread runs the first part of a split call itself, then
// blocks with Atomics.wait until every worker has stored its completion. Workers never allocate:
// all memory, scratch included, is handed out by the calling thread's heap (engine/heap.ts).
// How a worker is started differs by runtime, so it comes from a ThreadHost: the web Worker (from a
// Blob URL, so no file or import.meta.url is needed) in browsers, Deno and Bun; Node's
// worker_threads from platform/node.ts, registered by the package's Node entry.
// A worker that traps, dies or stalls ends the call with a FwdgradFault within a deadline and is
// retired; the pool goes on with the workers it has left (see `run`).
import { FwdgradError, FwdgradFault } from "./errors.ts";
import { KERNELS, type KernelName } from "./kernel-abi.ts";
import { kernelBytes } from "./wasm.ts";
import type { WasmMemory } from "./heap.ts";

/** A started worker, as the host exposes it. */
export interface HostWorker {
  /** Sends a message to the worker (structured clone; shared memory stays shared). */
  postMessage(message: unknown): void;
  /** Registers the listener for every message the worker posts. */
  onMessage(listener: (message: unknown) => void): void;
  /** Registers the listener for the worker's uncaught errors. */
  onError(listener: (error: unknown) => void): void;
  /** Stops the worker. */
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
const FAULT = 5; // an injected fault for the next job (tests only): 0 none, 1 throw, 2 never answer
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
          // An injected fault (a test's), after which the worker is retired. A stall waits to be
          // stopped rather than spinning: Deno's terminate misses a busy loop.
          const fault = control[${FAULT}];
          if (fault === 1) throw new Error("injected fault");
          if (fault === 2 && Atomics.wait(control, ${SEQ}, seen)) continue;
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

/** A fault to inject into a worker's next job: a test seam (engine/threads.ts only, not exported by the package). */
export interface ThreadFault {
  /** The worker, by its index in the pool: 0 is thread 2 (the calling thread is thread 1). */
  worker: number;
  /** Only a job of this kernel; default any. */
  kernel?: KernelName;
  /** "die": the worker is terminated mid-job; "throw": its kernel throws, as a trap does; "stall": it never answers. */
  kind: "die" | "throw" | "stall";
  /** Matching jobs to let through first; default 0. */
  afterCalls?: number;
}

// How long the calling thread waits for a worker before taking it for dead or stalled: the larger of
// a floor and a factor times its own part's time (the workers' parts are the same size). A worker
// slowed by a loaded machine (more threads than cores, another process, a paging or GC pause) stays
// far inside 100 times the caller's time or 5 s; and a false alarm costs only speed (the thread is
// retired, and any thread count gives the same bits), while a hang costs the run.
const STALL_FLOOR_MS = 5000;
const STALL_FACTOR = 100;
let stallFloor = STALL_FLOOR_MS;
let stallFactor = STALL_FACTOR;
let injected: { fault: ThreadFault; skip: number } | null = null;

/** Test seam: the next matching job of any pool (after `afterCalls` matching ones) fails as `fault` says. One shot. */
export function injectThreadFault(fault: ThreadFault): void {
  injected = { fault, skip: fault.afterCalls ?? 0 };
}

/** Test seam: the stall deadline's floor (default 5000 ms) and factor over the caller's part (default 100). */
export function setStallDeadline(floorMs: number, factor = STALL_FACTOR): void {
  stallFloor = floorMs;
  stallFactor = factor;
}

/** Test seam: drops an injected fault not yet taken and restores the default deadline. */
export function resetThreadFaults(): void {
  injected = null;
  setStallDeadline(STALL_FLOOR_MS);
}

/** The injected fault's kind if this job (of kernel `index`, to `worker`) takes it. */
function takeFault(worker: number, index: number): ThreadFault["kind"] | null {
  const { fault } = injected!;
  if (fault.worker !== worker || (fault.kernel !== undefined && fault.kernel !== KERNELS[index].name)) return null;
  if (injected!.skip-- > 0) return null;
  injected = null;
  return fault.kind;
}

/** Asks a worker to leave its loop, and terminates it (one stuck in a kernel never reads the request). */
function stop(slot: Slot): void {
  slot.control[KERNEL] = STOP;
  slot.seq = (slot.seq + 1) | 0;
  Atomics.store(slot.control, SEQ, slot.seq);
  Atomics.notify(slot.control, SEQ);
  slot.worker.terminate();
}

const TRAPPED = "its kernel threw, as a wasm trap does: out-of-bounds memory access or unreachable code";

/** A set of workers running the kernel module over one shared memory. */
export class ThreadPool {
  private slots: Slot[] = [];
  private closed = false;
  /** Called with a note after a fault retired workers (the backend rebuilds its kernels for the threads left). */
  onRetire: ((note: string) => void) | null = null;

  private constructor() {}

  /**
   * Starts `count` workers, each instantiating the kernels (the shared-memory build) on `memory`,
   * and waits until all are ready; if one fails, stops the others and throws.
   */
  static async start(host: ThreadHost, count: number, memory: WasmMemory): Promise<ThreadPool> {
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
   * and returns the results in order once all are done. Blocks this thread while workers finish. A
   * worker that traps, or gives no answer by the deadline (it died or stalled), is stopped and
   * retired, and the call throws a FwdgradFault naming it and the kernel.
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
      const fault = injected && takeFault(p - 1, index);
      if (fault) slot.control[FAULT] = fault === "throw" ? 1 : 2;
      slot.seq = (slot.seq + 1) | 0;
      Atomics.store(slot.control, SEQ, slot.seq);
      Atomics.notify(slot.control, SEQ);
      if (fault === "die") slot.worker.terminate();
    }
    const results: number[] = [];
    let localError: unknown = null;
    const start = performance.now();
    try {
      results.push(Number(local(parts[0]) ?? 0));
    } catch (error) {
      localError = error;
    }
    const now = performance.now();
    const deadline = now + Math.max(stallFloor, stallFactor * (now - start));
    const failed: Array<{ worker: number; why: string }> = [];
    for (let p = 1; p < parts.length; p++) {
      const slot = this.slots[p - 1];
      if (!this.waitFor(slot, deadline)) failed.push({ worker: p - 1, why: `no answer within ${((deadline - start) / 1000).toFixed(1)} s: it died or stalled` });
      else if (slot.control[STATUS] !== 0) failed.push({ worker: p - 1, why: TRAPPED });
      results.push(slot.args[RESULT]);
    }
    if (localError) {
      // The call itself failed (a trap on this thread too): only workers that did not answer are faults.
      const stalled = failed.filter((f) => f.why !== TRAPPED);
      if (stalled.length) this.retire(stalled, KERNELS[index].name);
      throw localError;
    }
    if (failed.length) throw this.retire(failed, KERNELS[index].name);
    return results;
  }

  /** Waits for the worker's completion until `deadline` (performance.now() ms); false if it has none by then. */
  private waitFor(slot: Slot, deadline: number): boolean {
    for (let i = 0; i < SPINS; i++) if (Atomics.load(slot.control, DONE) === slot.seq) return true;
    for (;;) {
      const done = Atomics.load(slot.control, DONE);
      if (done === slot.seq) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(slot.control, DONE, done, left);
    }
  }

  /** Stops and drops the failed workers, tells `onRetire`, and returns the fault to throw. */
  private retire(failed: ReadonlyArray<{ worker: number; why: string }>, kernel: string): FwdgradFault {
    const threads = this.slots.length + 1;
    const gone = failed.map((f) => this.slots[f.worker]);
    gone.forEach(stop);
    this.slots = this.slots.filter((slot) => !gone.includes(slot));
    const left = this.slots.length + 1;
    const which = failed.map((f) => `worker ${f.worker} (thread ${f.worker + 2} of ${threads}) failed in ${kernel} (${f.why})`);
    const note = `${which.join("; ")} and ${failed.length > 1 ? "were" : "was"} stopped; running on ${left} thread${left > 1 ? "s" : ""}`;
    this.onRetire?.(note);
    return new FwdgradFault("thread", note);
  }

  /** Stops every worker (each leaves its loop and closes) and terminates it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.slots.forEach(stop);
    this.slots = [];
  }
}
