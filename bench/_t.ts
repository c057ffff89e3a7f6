import { timeMs } from "/work/main/bench/timing.ts";
let calls = 0;
const busy = (ms: number) => () => { calls++; const t = performance.now(); while (performance.now() - t < ms); };
for (const [ms, min] of [[0.1, 5], [50, 5], [400, 5], [400, 2], [1500, 1]]) {
  calls = 0; const t0 = performance.now();
  const r = timeMs(busy(ms), { minSamples: min });
  console.log(ms, min, "->", r.toFixed(3), "calls", calls, "wall", ((performance.now() - t0) / 1000).toFixed(2));
}
