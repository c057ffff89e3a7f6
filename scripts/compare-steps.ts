// Before/after timing of training steps across two checkouts, alternating runs so the machine's
// drift hits both alike (the project's rule for a before/after on a shared, noisy machine).
//   npx tsx scripts/compare-steps.ts --base <other checkout> [--rounds 3] [--threads 1] [--only wt,wperp] [--guesses K]
// Each round runs this checkout and the base, each in a fresh process, through the public API both
// have (createMethod(id).step: the trainer's path): the W̃⊥ paper's MLP 40 → 512 × 3 → 10, batch 512,
// MNIST-1D, AdamW. Prints the median step time and the peak heap of a step per method.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const METHODS: { id: string; label: string; warmCycles: number; steps: number }[] = [
  { id: "backprop", label: "backprop", warmCycles: 1, steps: 14 },
  { id: "wt", label: "wt", warmCycles: 1, steps: 14 },
  { id: "activation-perturbation", label: "activation perturbation", warmCycles: 1, steps: 14 },
  { id: "forward-gradient", label: "forward gradient", warmCycles: 1, steps: 14 },
  { id: "wperp", label: "wperp (fast, warm)", warmCycles: 3, steps: 7 },
];
const BATCH = 512, WIDTH = 512, BATCHES = 7;

type Result = Record<string, { ms: number; peakMiB: number }>;

async function worker(root: string, threads: number): Promise<Result> {
  const lib = await import(pathToFileURL(resolve(root, "index.ts")).href);
  const { setThreadHost } = await import(pathToFileURL(resolve(root, "engine/threads.ts")).href);
  const { nodeThreadHost } = await import(pathToFileURL(resolve(root, "platform/node.ts")).href);
  setThreadHost(nodeThreadHost);
  await lib.ready({ threads });
  const data = lib.generateMnist1d();
  const batches = Array.from({ length: BATCHES }, (_, b) => ({
    x: lib.tensor(data.train.x.subarray(b * BATCH * data.features, (b + 1) * BATCH * data.features), [BATCH, data.features]),
    labels: Int32Array.from(data.train.y.subarray(b * BATCH, (b + 1) * BATCH)),
    rows: Int32Array.from({ length: BATCH }, (_, i) => b * BATCH + i),
  }));
  const result: Result = {};
  const only = flag("--only", "");
  for (const m of METHODS.filter((m) => !only || only.split(",").includes(m.id))) {
    const model = lib.createMlp([data.features, WIDTH, WIDTH, WIDTH, data.classes], { seed: 0 });
    const guesses = Number(flag("--guesses", "1"));
    const method = lib.createMethod(m.id, m.id === "backprop" || guesses === 1 ? {} : { guesses });
    const optimizer = lib.adamW();
    let step = 0;
    const one = () => {
      const scope = lib.mark();
      const batch = batches[step % BATCHES];
      const { grads } = method.step(model, batch.x, batch.labels, lib.rng(1).split(step++), batch.rows);
      optimizer.step(model.layers.map((l: { w: unknown }) => l.w), grads.w);
      lib.release(scope);
    };
    for (let i = 0; i < m.warmCycles * BATCHES; i++) one();
    const times: number[] = [];
    let peak = 0;
    for (let i = 0; i < m.steps; i++) {
      lib.resetHeapPeak();
      const from = lib.heapBytes();
      const t0 = performance.now();
      one();
      times.push(performance.now() - t0);
      peak = Math.max(peak, lib.heapPeakBytes() - from);
    }
    times.sort((a, b) => a - b);
    result[m.label] = { ms: times[Math.floor(times.length / 2)], peakMiB: peak / 2 ** 20 };
  }
  lib.shutdown?.();
  return result;
}

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

if (process.argv.includes("--worker")) {
  const out = await worker(flag("--worker", "."), Number(flag("--threads", "1")));
  console.log(JSON.stringify(out));
  process.exit(0);
} else {
  const base = flag("--base", "");
  if (!base) {
    console.error("usage: npx tsx scripts/compare-steps.ts --base <other checkout> [--rounds 3] [--threads 1]");
    process.exit(2);
  }
  const rounds = Number(flag("--rounds", "3"));
  const threads = flag("--threads", "1");
  const runs: Record<string, Result[]> = { base: [], this: [] };
  for (let r = 0; r < rounds; r++) {
    for (const [name, root] of [["base", base], ["this", "."]] as const) {
      const child = spawnSync(process.execPath, ["--import", "tsx", "scripts/compare-steps.ts", "--worker", root, "--threads", threads, "--only", flag("--only", ""), "--guesses", flag("--guesses", "1")], { encoding: "utf8", maxBuffer: 1 << 24 });
      if (child.status !== 0) throw new Error(`${name} run failed:\n${child.stderr}`);
      runs[name].push(JSON.parse(child.stdout.trim().split("\n").pop()!));
      console.error(`round ${r + 1}/${rounds} ${name} done`);
    }
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`| step (width ${WIDTH}, batch ${BATCH}, ${threads} thread(s)) | base ms | this ms | this / base | base peak MiB | this peak MiB |`);
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const m of METHODS.filter((m) => runs.base[0][m.label])) {
    const b = median(runs.base.map((x) => x[m.label].ms)), t = median(runs.this.map((x) => x[m.label].ms));
    const bp = Math.max(...runs.base.map((x) => x[m.label].peakMiB)), tp = Math.max(...runs.this.map((x) => x[m.label].peakMiB));
    console.log(`| ${m.label} | ${b.toFixed(1)} | ${t.toFixed(1)} | ${(t / b).toFixed(3)} | ${bp.toFixed(1)} | ${tp.toFixed(1)} |`);
  }
}
