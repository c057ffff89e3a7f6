// The one place tests get their runner from, so each runtime's runner can be swapped in. The engine
// is made ready here, once, before any suite runs.
import { suite, test } from "uvu";
import * as assert from "uvu/assert";
import { FwdgradError, ready } from "../index.ts";

export const engineInfo = await ready();
export { suite, test, assert };

/** A small deterministic generator for test inputs (xorshift32), independent of the engine's RNG. */
export function inputs(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return {
    next,
    /** n values uniform in [lo, hi), rounded to f32. */
    uniform(n: number, lo = -1, hi = 1): Float32Array {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
      return out;
    },
    int(n: number, limit: number): Int32Array {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * limit);
      return out;
    },
  };
}

/** Same bits, or both NaN, element by element; names the first differing index. */
export function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.unreachable(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** |actual − expected| ≤ atol + rtol·|expected| everywhere. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5, atol = 1e-6): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.unreachable(`${what}: element ${i} is ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Asserts that `fn` throws a FwdgradError whose message matches `pattern`. */
export function assertFwdgradError(fn: () => unknown, pattern: RegExp = /./): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, FwdgradError, `expected a FwdgradError, got ${String(e)}`);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a FwdgradError matching ${pattern}`);
}

