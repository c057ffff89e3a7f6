// Thread scaling: the machine's own (N independent single-thread 512³ matmuls at once, each in its
// own worker and engine, against one), then fwdgrad's speedup on 2 threads (and on every core)
// over 1 thread for matmul 512³ and the wt and wperp training steps at width 512, each read
// against the machine's 2-way scaling.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { mark, ready, release } from "../index.ts";
import type { Case } from "./case.ts";
import { CASES } from "./cases.ts";
import type { Printer } from "./print.ts";
import { STEP_CASES } from "./steps.ts";
import { timeMs } from "./timing.ts";

const SCALING_CALLS = 60;

/** Throughput of `count` single-thread engines running matmuls at once, in matmuls per second. */
async function independentThroughput(count: number): Promise<number> {
  const control = new SharedArrayBuffer(8);
  const flags = new Int32Array(control);
  // Each worker registers tsx's loader itself: workers do not inherit the parent's TypeScript hooks.
  const source = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL("./scaling-worker.ts", import.meta.url).href)}); });`;
  const workers = Array.from({ length: count }, () => new Worker(source, { eval: true, workerData: { control, calls: SCALING_CALLS } }));
  const times = workers.map((w) => new Promise<number>((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  }));
  while (Atomics.load(flags, 0) < count) await new Promise((resolve) => setTimeout(resolve, 5));
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  const ms = await Promise.all(times);
  await Promise.all(workers.map((w) => w.terminate()));
  return (count * SCALING_CALLS) / (Math.max(...ms) / 1000);
}

/** A case of the tables, fwdgrad's side only. */
function oursOf(c: Case): { name: string; run: () => void } {
  return { name: c.name, run: c.setup({ full: false }).ours };
}

export async function threadScaling(out: Printer, filter: string): Promise<void> {
  const cores = availableParallelism();
  const counts = [...new Set([2, cores])].filter((n) => n >= 2);
  const one = await independentThroughput(1);
  const machine = new Map<number, number>();
  for (const n of counts) machine.set(n, (await independentThroughput(n)) / one);
  out.note(`machine scaling (${cores} cores): ${counts.map((n) => `${n} independent single-thread 512³ matmuls at once run ${machine.get(n)!.toFixed(2)}× the throughput of one`).join("; ")}`);
  const cases = [
    () => oursOf(CASES.find((c) => c.name === "matmul 512x512*512x512 AB")!),
    () => oursOf(STEP_CASES.find((c) => c.name.startsWith("step wt "))!),
    () => oursOf(STEP_CASES.find((c) => c.name.includes("wperp (fast route, warm)"))!),
  ];
  for (const make of cases) {
    const scope = mark();
    try {
      await ready({ threads: Math.max(...counts, 1) });
      const { name, run } = make();
      if (!name.includes(filter)) continue;
      await ready({ threads: 1 });
      const single = timeMs(run);
      for (const n of counts) {
        await ready({ threads: n });
        const ms = timeMs(run);
        const speedup = single / ms;
        out.note(`${name}: 1 thread ${single.toFixed(2)} ms, ${n} threads ${ms.toFixed(2)} ms: speedup ${speedup.toFixed(2)}× = ${(speedup / machine.get(n)!).toFixed(2)} of the machine's ${n}-way scaling ${machine.get(n)!.toFixed(2)}×`);
      }
    } finally {
      release(scope);
    }
  }
  await ready({ threads: cores });
}
