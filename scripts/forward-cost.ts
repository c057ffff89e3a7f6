// The cost of a forward-gradient step against a backprop step and a forward pass (Baydin et al.'s
// shape: MLP 784 → width × depth → 10, batch 64, SGD), timed alternately in one process, one step of
// each per round, so that the machine's drift hits every kind alike; medians over the rounds, and the
// peak heap of one step of each. With --base, the same in another checkout, alternating fresh
// processes (before/after on a shared, noisy machine).
//   npx tsx scripts/forward-cost.ts [--depths 1,4,16] [--batch 64] [--width 1024] [--rounds 7] [--threads 1] [--base <checkout>]
// With --activation, activation perturbation too, in one pass and in two (`passes: 2`).
// With --sampling, instead: values per second of the random kernels (best of 25 calls of 4 M values).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const settings = {
  depths: flag("depths", "1,4,16").split(",").map(Number),
  batch: Number(flag("batch", "64")),
  width: Number(flag("width", "1024")),
  rounds: Number(flag("rounds", "7")),
  threads: Number(flag("threads", "1")),
};

type Row = { depth: number; ms: Record<string, number>; peakMiB: Record<string, number> };

/** Millions of values per second of each random kernel the checkout has, best of 25 calls. */
async function sampling(root: string): Promise<Record<string, number>> {
  const lib = await import(pathToFileURL(resolve(root, "index.ts")).href);
  const { engine } = await import(pathToFileURL(resolve(root, "engine/backend.ts")).href);
  await lib.ready({ threads: 1 });
  const n = 1 << 22;
  const out = engine().heap.alloc(n * 4).ptr;
  const rates: Record<string, number> = {};
  for (const name of ["philox_normal_f32", "philox_uniform_f32", "philox_sign_f32"]) {
    const kernel = engine().wasm[name];
    if (!kernel) continue;
    let best = Infinity;
    for (let call = 0; call < 26; call++) {
      const t = performance.now();
      kernel(out, n, 1, 2, call, 0);
      if (call > 0) best = Math.min(best, performance.now() - t);
    }
    rates[name] = n / best / 1e3;
  }
  return rates;
}

async function measure(root: string): Promise<Row[]> {
  const lib = await import(pathToFileURL(resolve(root, "index.ts")).href);
  const { setThreadHost } = await import(pathToFileURL(resolve(root, "engine/threads.ts")).href);
  const { nodeThreadHost } = await import(pathToFileURL(resolve(root, "platform/node.ts")).href);
  setThreadHost(nodeThreadHost);
  await lib.ready({ threads: settings.threads });
  const { batch, width } = settings;
  const x = lib.rng(5).normal([batch, 784]);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
  // Rademacher tangents where the checkout has them; with --activation, activation perturbation in
  // one pass and (where the checkout has it) in two.
  const variants: Array<[string, string, object]> = [["forward gradient", "forward-gradient", {}]];
  if ("tangents" in lib.methodOptions("forward-gradient")) variants.push(["forward gradient (Rademacher)", "forward-gradient", { tangents: "rademacher" }]);
  if (args.includes("--activation")) {
    variants.push(["activation perturbation", "activation-perturbation", {}]);
    if ("passes" in lib.methodOptions("activation-perturbation")) variants.push(["activation perturbation (2 passes)", "activation-perturbation", { passes: 2 }]);
  }
  return settings.depths.map((depth) => {
    const model = lib.createMlp([784, ...Array(depth).fill(width), 10], { seed: 0 });
    const weights = model.layers.map((l: { w: unknown }) => l.w);
    const optimizer = lib.sgd({ lr: 1e-9 });
    let step = 0;
    const scoped = (fn: () => void) => () => {
      const s = lib.mark();
      fn();
      lib.release(s);
    };
    const kinds: Record<string, () => void> = {
      forward: scoped(() => (lib.forwardOutput ? lib.forwardOutput(model, x) : lib.forward(model, x))),
      backprop: scoped(() => optimizer.step(weights, lib.backprop(model, x, labels).grads.w)),
    };
    for (const [name, id, options] of variants) {
      const estimator = lib.createEstimator(id, options);
      kinds[name] = scoped(() => optimizer.step(weights, lib.estimateStep(estimator, lib.stepInput(model, x, labels, lib.rng(1).split(step++))).grads.w));
    }
    const peakMiB: Record<string, number> = {};
    for (const [name, run] of Object.entries(kinds)) {
      const base = lib.heapBytes();
      lib.resetHeapPeak();
      run();
      peakMiB[name] = (lib.heapPeakBytes() - base) / 2 ** 20;
    }
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    for (let r = 0; r < settings.rounds; r++) {
      for (const [name, run] of Object.entries(kinds)) {
        const t = performance.now();
        run();
        times[name].push(performance.now() - t);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    return { depth, ms: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])), peakMiB };
  });
}

function print(label: string, rows: Row[]): void {
  console.log(`${label} (batch ${settings.batch}, width ${settings.width}, ${settings.threads} thread(s), median of ${settings.rounds} alternating rounds; peak heap above the weights)`);
  for (const r of rows) {
    const kinds = Object.keys(r.ms);
    const cells = kinds.map((k) => `${k} ${r.ms[k].toFixed(1)} ms ${r.peakMiB[k].toFixed(1)} MiB`);
    const ratios = kinds.filter((k) => k !== "forward" && k !== "backprop").map((k) => `${k} / backprop ${(r.ms[k] / r.ms.backprop).toFixed(2)}`);
    console.log(`  depth ${r.depth}: ${cells.join(", ")} | ${ratios.join(", ")}, backprop / forward ${(r.ms.backprop / r.ms.forward).toFixed(2)}`);
  }
}

const samplingOnly = args.includes("--sampling");
const report = (label: string, result: unknown) =>
  samplingOnly
    ? console.log(`${label}: ${Object.entries(result as Record<string, number>).map(([k, v]) => `${k} ${v.toFixed(1)} M/s`).join(", ")} (one thread)`)
    : print(label, result as Row[]);

if (process.env.FORWARD_COST_WORKER) {
  const root = process.env.FORWARD_COST_WORKER;
  console.log(JSON.stringify(samplingOnly ? await sampling(root) : await measure(root)));
} else {
  const base = flag("base", "");
  if (!base) {
    report("this checkout", samplingOnly ? await sampling(process.cwd()) : await measure(process.cwd()));
  } else {
    // Alternate fresh processes, this checkout then the base, round after round.
    for (let round = 0; round < 2; round++) {
      for (const root of [process.cwd(), resolve(base)]) {
        const run = spawnSync(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, ...args.filter((a, i) => a !== "--base" && args[i - 1] !== "--base")], {
          env: { ...process.env, FORWARD_COST_WORKER: root },
          encoding: "utf8",
          maxBuffer: 1 << 24,
        });
        if (run.status !== 0) throw new Error(`${root}: ${run.stderr}`);
        report(`${root === process.cwd() ? "this checkout" : `base ${base}`}, round ${round + 1}`, JSON.parse(run.stdout.trim().split("\n").pop()!));
      }
    }
  }
}
