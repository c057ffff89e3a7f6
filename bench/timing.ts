// Times one function with benchmark.js after an untimed warm-up; returns the median milliseconds per call.
import Benchmark from "benchmark";
import lodash from "lodash";
import platform from "platform";

const Bench = Benchmark.runInContext({ _: lodash, platform }) as typeof Benchmark;

/** Untimed calls before timing: V8 runs WASM in its baseline tier (4–5× slower) on first calls. */
export const WARMUP_CALLS = 5;

export interface TimeOptions {
  /** Seconds of sampling benchmark.js aims for. */
  maxTime?: number;
  /** Fewest samples benchmark.js takes, whatever the time (fewer for the slowest peers). */
  minSamples?: number;
}

export function timeMs(fn: () => void, { maxTime = 1, minSamples = 5 }: TimeOptions = {}): number {
  for (let i = 0; i < WARMUP_CALLS; i++) fn();
  const bench = new Bench({ fn, maxTime, minSamples, initCount: 1 });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return median(bench.stats.sample) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * `timeMs` for work that completes asynchronously (a peer whose worker threads answer through
 * promises): benchmark.js in deferred mode, after the same untimed warm-up.
 */
export async function timeMsAsync(fn: () => Promise<void>, { maxTime = 1, minSamples = 5 }: TimeOptions = {}): Promise<number> {
  for (let i = 0; i < WARMUP_CALLS; i++) await fn();
  const bench = new Bench({
    defer: true,
    maxTime,
    minSamples,
    fn: (deferred: { resolve(): void }) => void fn().then(() => deferred.resolve()),
  });
  await new Promise<void>((resolve, reject) => {
    bench.on("complete", () => resolve());
    bench.on("error", () => reject(bench.error));
    bench.run({ async: true });
  });
  if (bench.error) throw bench.error;
  return median(bench.stats.sample) * 1000;
}
