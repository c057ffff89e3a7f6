// Arena scopes over the engine's heap: everything allocated inside a scope is freed when it closes.
import { engine } from "./backend.ts";
import type { Mark } from "./heap.ts";
import { Tensor } from "./tensor.ts";

/**
 * The current arena position; pass it to `release` to free everything allocated after it.
 * @throws {FwdgradError} when the engine is not ready.
 * @example
 * ```ts
 * const m = mark();
 * const scratch = zeros([1024]);
 * release(m); // scratch is freed; using it now throws
 * ```
 */
export function mark(): Mark {
  return engine().heap.mark();
}

/**
 * Frees every tensor allocated since `m`. Using one of them afterwards throws a FwdgradError, as does
 * releasing anything but a live mark from `mark()`: one already released, or taken inside a scope
 * released since. Releasing an outer mark after inner ones is fine.
 * @throws {FwdgradError} when `m` is not a live mark.
 */
export function release(m: Mark): void {
  engine().heap.release(m);
}

/** Bytes of the heap in use: back at its baseline after a released scope. */
export function heapBytes(): number {
  return engine().heap.used;
}

/**
 * The most bytes of the heap in use at once since `resetHeapPeak()` (or since the engine started):
 * what a computation needs of the heap, which is at most 4 GiB.
 * @example
 * ```ts
 * resetHeapPeak();
 * measureQuality(model, x, labels, estimator, { draws: 20, rng: rng(0) });
 * console.log(`${heapPeakBytes() / 2 ** 20} MiB at most`);
 * ```
 */
export function heapPeakBytes(): number {
  return engine().heap.peak;
}

/** The most bytes the heap can hold: 4 GiB, or less where the runtime could not reserve that much (an address-space limit). */
export function heapLimitBytes(): number {
  return engine().heap.limit;
}

/** Starts `heapPeakBytes()` over from the bytes in use now. */
export function resetHeapPeak(): void {
  engine().heap.resetPeak();
}

function collect(value: unknown, into: Tensor[]): void {
  if (value instanceof Tensor) {
    into.push(value);
    if (value.dt) into.push(value.dt);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into);
  } else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into);
  }
}

/**
 * Runs `fn` in an arena scope and keeps only the tensors it returns (found in arrays and plain
 * objects): they are moved down to the scope's start, everything else is freed (also when fn throws).
 * @throws whatever `fn` throws, after freeing the scope.
 * @example
 * ```ts
 * const loss = tidy(() => mean(softmaxCrossEntropy(matmul(x, w), labels))); // intermediates freed
 * ```
 */
export function tidy<R>(fn: () => R): R {
  return tidyFrom(null, fn).result;
}

/**
 * `tidy` whose scope starts at `start` (a live mark taken before earlier allocations that may die
 * with this scope), or here when null. Returns the result and a mark just below the kept tensors:
 * passed as the next call's start, it lets a pass over layers free each layer's output as soon as the
 * next layer has made its own, so its memory stays flat in depth.
 * @internal
 */
export function tidyFrom<R>(start: Mark | null, fn: () => R): { result: R; start: Mark } {
  const heap = engine().heap;
  const from = start ?? heap.mark();
  let result: R;
  try {
    result = fn();
  } catch (error) {
    heap.release(from);
    throw error;
  }
  const kept: Tensor[] = [];
  collect(result, kept);
  // Allocations made in the scope, by address; tensors sharing one (views) move together.
  const groups = new Map<number, Tensor[]>();
  for (const t of kept) {
    // Deferred tensors are made again where read: nothing of theirs needs keeping.
    if (t.deferred || t.serial < from.serial) continue;
    const group = groups.get(t.serial);
    if (group) group.push(t);
    else groups.set(t.serial, [t]);
  }
  const moves = [...groups.values()].sort((a, b) => a[0].ptr - b[0].ptr);
  heap.release(from);
  const below = heap.mark();
  for (const group of moves) {
    const bytes = Math.max(...group.map((t) => t.size * 4));
    const { ptr, serial } = heap.alloc(bytes);
    // Destinations never pass their sources (allocations are sorted by address), so copyWithin is safe.
    const f32 = heap.f32();
    const src = group[0].ptr >>> 2;
    f32.copyWithin(ptr >>> 2, src, src + bytes / 4);
    for (const t of group) {
      t.ptr = ptr;
      t.serial = serial;
    }
  }
  return { result, start: below };
}

/**
 * Scopes for a pass over layers, one call a layer: each runs `fn` like `tidy`, and when `rollsOver`
 * says the call kept nothing beyond its result, the next call's scope reaches back over that result
 * (the next layer's input), which then dies once the next layer has made its own. A pass whose every
 * layer rolls over holds O(1) layers.
 * @internal
 */
export function rollingScopes(): <R>(fn: () => R, rollsOver?: (result: R) => boolean) => R {
  let from: Mark | null = null;
  return (fn, rollsOver = () => true) => {
    const { result, start } = tidyFrom(from, fn);
    from = rollsOver(result) ? start : null;
    return result;
  };
}
