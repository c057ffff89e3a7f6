// The loop every subspace iteration of the engine shares (top-k SVD and eigh):
// one iteration at a time, each one's scratch released unless it converged, and a clear error
// instead of a silent result when the cap is reached.
import { mark, release } from "../arena.ts";
import { FwdgradError } from "../errors.ts";

/**
 * Runs `iterate(it)` for it = 1, 2, … up to `maxIter`: a non-null result ends the loop (that
 * iteration's scratch stays, for the caller's scope to keep or free); after a null one, its scratch
 * is released before the next. Past `maxIter` it throws a FwdgradError with `failure()`.
 */
export function iterateUntil<R>(maxIter: number, iterate: (it: number) => R | null, failure: () => string): R {
  for (let it = 1; it <= maxIter; it++) {
    const step = mark();
    const result = iterate(it);
    if (result !== null) return result;
    release(step);
  }
  throw new FwdgradError(failure());
}
