// The engine's error types: FwdgradError for caller mistakes, so users can tell them from bugs, and
// FwdgradFault for a machine failing under a correct call (memory that cannot be had, a worker
// thread that died), which a caller may retry once the cause is gone.

/**
 * A caller mistake: wrong shapes, ranks or values. The message names the operation and what was expected.
 * Every function of the package checks its arguments before any work and throws this on a bad one.
 * @example
 * ```ts
 * try {
 *   matmul(zeros([2, 3]), zeros([2, 3]));
 * } catch (e) {
 *   if (e instanceof FwdgradError) console.log(e.message); // names matmul and both shapes
 * }
 * ```
 */
export class FwdgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FwdgradError";
  }
}

/** What failed underneath a correct call. */
export type FaultKind = "memory" | "thread";

/**
 * A fault of the machine, not of the call: the engine could not get memory, or a worker thread
 * died, threw or stalled. The message names the resource (bytes needed and the limit; the thread
 * and the kernel). Nothing the call was to change has changed, so the call can be retried.
 */
export class FwdgradFault extends FwdgradError {
  /**
   * @param kind What failed: `"memory"` or `"thread"`.
   * @param message Names the resource and the operation.
   */
  constructor(readonly kind: FaultKind, message: string) {
    super(message);
    this.name = "FwdgradFault";
  }
}

/** Formats a shape the way error messages print it: `[2, 3]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
