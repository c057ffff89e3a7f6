// A long run's resources: trains for --steps steps on worker threads, writing the checkpoint and the
// history every epoch as `fwdgrad train --out` does (cli/files.ts writeDurable, under the folder's
// lock), and samples after every epoch, after a full garbage collection, the JS heap, the RSS, the
// engine's memory in use and the open file handles. It compares the first and the last --window
// steps' means: flat means within 2 % (the JS heap from halfway on: V8's code, bytecode and type
// feedback grow as functions get hot over the first thousands of steps). Run with `node --expose-gc --import tsx scripts/soak.ts`
// (`npm run soak`); the figures go in docs/results.md.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapSpaceStatistics } from "node:v8";
import { engine } from "../engine/backend.ts";
import { generateMnist1d, ready, setThreadHost } from "../index.ts";
import { nodeThreadHost } from "../platform/node.ts";
import { lockFolder, releaseLocks, writeDurable, removeFile } from "../cli/files.ts";
import { encodeCheckpoint, fitsTextCheckpoint, serializeCheckpoint } from "../train/checkpoint.ts";
import { Trainer } from "../train/trainer.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg("steps", "20000"));
const window = Number(arg("window", "1000"));
const method = arg("method", "wperp");
const width = Number(arg("width", "64"));
const batch = Number(arg("batch", "100"));
const threads = Number(arg("threads", "2"));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc (npm run soak)");

setThreadHost(nodeThreadHost);
const info = await ready({ threads });
const data = generateMnist1d();
const trainer = new Trainer(data, { method, width, depth: 3, epochs: 1e9, batch, lr: 1e-3, seed: 0 });
const out = mkdtempSync(join(tmpdir(), "fwdgrad-soak-"));
lockFolder("--out", out, "soak", (line) => console.error(line));
const stepsPerEpoch = Math.ceil(data.train.n / batch);
console.log(`soak: ${method}, width ${width}, batch ${batch}, ${info.threads} threads, ${steps} steps (${Math.ceil(steps / stepsPerEpoch)} epochs), a checkpoint every epoch in ${out}`);

interface Sample { step: number; heap: number; data: number; code: number; rss: number; engine: number; handles: number }
const samples: Sample[] = [];
const started = performance.now();
while (trainer.step < steps) {
  const report = trainer.runEpoch();
  if (!report) throw new Error(`stopped: ${trainer.stopped}`);
  const state = trainer.state();
  if (fitsTextCheckpoint(state)) writeDurable(join(out, "checkpoint.json"), serializeCheckpoint(state));
  else writeDurable(join(out, "checkpoint.bin"), encodeCheckpoint(state));
  removeFile(join(out, fitsTextCheckpoint(state) ? "checkpoint.bin" : "checkpoint.json"));
  writeDurable(join(out, "history.json"), `${JSON.stringify(trainer.history)}\n`);
  gc();
  const memory = process.memoryUsage();
  // V8's compiled code grows as functions tier up over a long run, and is no data of ours: apart.
  const code = getHeapSpaceStatistics().filter((s) => s.space_name.startsWith("code")).reduce((n, s) => n + s.space_used_size, 0);
  samples.push({ step: trainer.step, heap: memory.heapUsed, data: memory.heapUsed - code, code, rss: memory.rss, engine: engine().heap.used, handles: readdirSync("/proc/self/fd").length });
  if (trainer.epoch % Number(arg("every", "50")) === 0) console.log(`epoch ${trainer.epoch}, step ${trainer.step}: heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB, rss ${(memory.rss / 2 ** 20).toFixed(1)} MiB, train acc ${report.trainAcc.toFixed(3)}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
releaseLocks();
rmSync(out, { recursive: true, force: true });

const mean = (rows: Sample[], key: keyof Sample) => rows.reduce((s, r) => s + r[key], 0) / rows.length;
const first = samples.filter((s) => s.step <= window);
const last = samples.filter((s) => s.step > trainer.step - window);
const rows = (["heap", "data", "code", "rss", "engine", "handles"] as const).map((key) => {
  const a = mean(first, key), b = mean(last, key);
  return { key, first: a, last: b, change: (b - a) / a };
});
// After the start: the window ending halfway against the last, past V8's warm-up (its code, bytecode
// and type feedback grow as functions get hot, and are counted in the JS heap).
const middle = samples.filter((s) => s.step > trainer.step / 2 - window && s.step <= trainer.step / 2);
const steady = (["heap", "data", "rss", "engine", "handles"] as const).map((key) => ({ key, change: (mean(last, key) - mean(middle, key)) / mean(middle, key) }));
const fmt = (key: string, v: number) => (key === "handles" ? v.toFixed(1) : `${(v / 2 ** 20).toFixed(2)} MiB`);
console.log(`\n${trainer.step} steps, ${trainer.epoch} epochs, ${((performance.now() - started) / 1000).toFixed(0)} s; means over the first and last ${window} steps (samples after each epoch, after a full GC):`);
console.log("| quantity | first | last | change |\n| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.key} | ${fmt(r.key, r.first)} | ${fmt(r.key, r.last)} | ${(100 * r.change).toFixed(2)} % |`);
console.log(`from step ${trainer.step / 2} to the end: ${steady.map((r) => `${r.key} ${(100 * r.change).toFixed(2)} %`).join(", ")}`);
// The history (one report per epoch, ~130 bytes) is the run's record and grows by design.
console.log(`history: ${trainer.history.length} epoch reports, ${JSON.stringify(trainer.history).length} bytes as JSON`);
// Flat: RSS, the engine's memory and the handles within 2 % from the first window to the last; the
// JS heap within 2 % once V8 has warmed up (halfway to the end).
const within = (change: number) => Math.abs(change) <= 0.02;
const flat = rows.filter((r) => ["rss", "engine", "handles"].includes(r.key)).every((r) => within(r.change)) && steady.every((r) => within(r.change));
console.log(flat ? "flat: RSS, engine memory and handles within 2 % first to last; the JS heap within 2 % from halfway" : "NOT flat: a quantity moved more than 2 %");
process.exit(flat ? 0 : 1);
