// The engine's single WebAssembly.Memory and its allocator. Tensors live in it as f32, row-major,
// 16-byte aligned. Allocation is a bump pointer; `mark()`/`release()` give arena scopes whose
// tensors die together. Every allocation and every mark gets a serial number, and released serial
// ranges are remembered, so a tensor used after its scope was released is reported instead of read
// as garbage, and a mark whose scope is gone cannot move the bump pointer into live memory.
import { FwdgradError, FwdgradFault } from "./errors.ts";

const PAGE = 65536;
// Below this address nothing is allocated: the kernel module's static data (none today) lives there.
const HEAP_BASE = PAGE;
const MAX_PAGES = 65536;
const ALIGN = 16;
// Test seam: allocations left before one fails as if the memory could not grow (null: never).
let allocationsLeft: number | null = null;

/**
 * Test seam, not exported from the package: the `n`-th allocation from now on (of any heap) fails
 * with the FwdgradFault a refused `memory.grow` gives; null clears it.
 */
export function failAllocationAfter(n: number | null): void {
  allocationsLeft = n;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;

/** A point in the arena to release back to. */
export interface Mark {
  /** The arena's top (byte address) when the mark was taken. */
  readonly top: number;
  /** The allocation serial then: tensors allocated later are freed by a release to this mark. */
  readonly serial: number;
}

/** A WebAssembly.Memory, by the members the engine uses: the published types then need no DOM lib. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

/** `view` while it still covers the memory's buffer, else a new one (growth detaches old buffers). */
function current<T extends { buffer: ArrayBufferLike }>(view: T, memory: WasmMemory, Kind: new (buffer: ArrayBuffer) => T): T {
  return view.buffer === memory.buffer ? view : new Kind(memory.buffer);
}

export class Heap {
  readonly memory: WasmMemory;
  private topPtr = HEAP_BASE;
  private highWater = HEAP_BASE;
  private nextSerial = 1;
  // Sorted, disjoint [from, to) serial ranges whose memory was released.
  private dead: Array<[number, number]> = [];
  // Marks this heap handed out: anything else passed to `release` is refused.
  private issued = new WeakSet<Mark>();
  private f32View: Float32Array;
  private i32View: Int32Array;
  private u32View: Uint32Array;
  private f64View: Float64Array;

  /** Bytes above the heap base the memory can grow to: 4 GiB, or less where the runtime refused that reservation. */
  readonly limit: number;

  /**
   * `shared`: a shared memory, which worker threads can run kernels on (engine/threads.ts). Where the
   * runtime cannot reserve a 4 GiB maximum (an address-space limit), the largest power of two it can
   * becomes the limit; none at all is a FwdgradFault.
   */
  constructor(initialPages = 32, readonly shared = false) {
    let memory: WebAssembly.Memory | null = null;
    let maximum = MAX_PAGES;
    for (; !memory && maximum >= initialPages; maximum = maximum > initialPages ? Math.max(initialPages, maximum >> 1) : 0) {
      try {
        memory = new WebAssembly.Memory({ initial: initialPages, maximum, shared });
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
      }
      if (memory) break;
    }
    if (!memory) throw new FwdgradFault("memory", `out of memory: the runtime cannot reserve a WebAssembly memory of ${mib(initialPages * PAGE)} (under an address-space limit such as ulimit -v: 64-bit runtimes reserve about 10 GiB of addresses for each WebAssembly memory, whatever its size)`);
    this.memory = memory;
    this.limit = maximum * PAGE - HEAP_BASE;
    this.f32View = new Float32Array(this.memory.buffer);
    this.i32View = new Int32Array(this.memory.buffer);
    this.u32View = new Uint32Array(this.memory.buffer);
    this.f64View = new Float64Array(this.memory.buffer);
  }

  /** Current f32 view of the whole memory; growing the memory detaches old views, so always ask here. */
  f32(): Float32Array {
    return (this.f32View = current(this.f32View, this.memory, Float32Array));
  }

  i32(): Int32Array {
    return (this.i32View = current(this.i32View, this.memory, Int32Array));
  }

  u32(): Uint32Array {
    return (this.u32View = current(this.u32View, this.memory, Uint32Array));
  }

  f64(): Float64Array {
    return (this.f64View = current(this.f64View, this.memory, Float64Array));
  }

  /** Bytes in use above the heap base. */
  get used(): number {
    return this.topPtr - HEAP_BASE;
  }

  /** The most bytes in use above the heap base since the heap began or since `resetPeak`. */
  get peak(): number {
    return this.highWater - HEAP_BASE;
  }

  /** Starts the peak over from the bytes in use now. */
  resetPeak(): void {
    this.highWater = this.topPtr;
  }

  /** Reserves `bytes` (rounded up to 16) and returns the address and the allocation's serial. */
  alloc(bytes: number): { ptr: number; serial: number } {
    if (allocationsLeft !== null && allocationsLeft-- <= 0) throw this.outOfMemory(this.topPtr + bytes, "injected by failAllocationAfter");
    const ptr = this.topPtr;
    const end = ptr + Math.ceil(bytes / ALIGN) * ALIGN;
    this.ensure(end);
    this.topPtr = end;
    if (end > this.highWater) this.highWater = end;
    return { ptr, serial: this.nextSerial++ };
  }

  /**
   * The current position. The mark takes a serial of its own, so releasing it (or any mark taken
   * before it) kills it, and only marks whose serial is still live can be released.
   */
  mark(): Mark {
    const m: Mark = Object.freeze({ top: this.topPtr, serial: this.nextSerial++ });
    this.issued.add(m);
    return m;
  }

  /** Frees everything allocated since `m`; tensors and marks from that span become unusable. */
  release(m: Mark): void {
    if (typeof m !== "object" || m === null || !this.issued.has(m)) {
      throw new FwdgradError(`release: expected a mark returned by mark(), got ${describe(m)}`);
    }
    // A live mark lies at or below the top and nothing under it has been freed since it was taken
    // (any release reaching below it killed its serial), so moving the top back to it is safe.
    if (!this.isLive(m.serial)) {
      throw new FwdgradError("release: this mark was already released, or was taken inside a scope that has since been released");
    }
    this.markDead(m.serial, this.nextSerial);
    this.topPtr = m.top;
  }

  /** False once the arena scope that allocated `serial` has been released. */
  isLive(serial: number): boolean {
    const dead = this.dead;
    let lo = 0;
    let hi = dead.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [from, to] = dead[mid];
      if (serial < from) hi = mid - 1;
      else if (serial >= to) lo = mid + 1;
      else return false;
    }
    return true;
  }

  private markDead(from: number, to: number): void {
    // A release kills every range from its mark on, so ranges starting at or after `from` are
    // swallowed and the new one goes at (or merges into) the end.
    const dead = this.dead;
    while (dead.length > 0 && dead[dead.length - 1][0] >= from) dead.pop();
    const last = dead[dead.length - 1];
    if (last && last[1] >= from) last[1] = Math.max(last[1], to);
    else dead.push([from, to]);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    const grow = Math.max(pages, Math.ceil(have / PAGE / 2));
    const room = (this.limit + HEAP_BASE) / PAGE - have / PAGE;
    if (end > this.limit + HEAP_BASE) throw this.outOfMemory(end, "past the engine's limit");
    try {
      this.memory.grow(Math.min(grow, room));
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw this.outOfMemory(end, "the runtime refused to grow the memory");
      }
    }
  }

  private outOfMemory(end: number, why: string): FwdgradFault {
    const have = this.memory.buffer.byteLength - HEAP_BASE;
    return new FwdgradFault("memory", `out of memory: the engine needs ${mib(end - HEAP_BASE)} of heap (${mib(have)} reserved, limit ${mib(this.limit)}): ${why}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "function" || typeof value === "symbol") return `a ${typeof value}`;
  if (typeof value !== "object") return `${typeof value} ${String(value)}`;
  return Array.isArray(value) ? "an array" : "an object that mark() did not make (or a mark of another heap)";
}
