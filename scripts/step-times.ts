// Warm training-step times of estimators side by side in one process, as the bench's step cases
// take them (the W̃⊥ paper's MLP 40 → w × 3 → 10, batch 512, AdamW, cycling over MNIST-1D's 7 full
// batches, timed from each example's fourth visit), with each estimator's diagnostics; and, with
// --profile <dir>, a CPU profile of the timed steps only (the inspector starts after the warm-up).
// --model cnn times the MNIST-1D CNN (bias-free) with --width channels instead.
//   npx tsx scripts/step-times.ts [--width 512] [--model mlp|cnn] [--threads 1] [--steps 7] [--lr 1e-4] [--profile dir] 'wt' 'wperp' 'wperp-ns:{"pairs":24}'
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { adamW, createEstimator, createModel, estimateStep, generateMnist1d, mark, ready, release, rng, stepInput, tensor, type EstimatorId } from "../index.ts";
import { setThreadHost } from "../engine/threads.ts";
import { nodeThreadHost } from "../platform/node.ts";

const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const width = Number(value("width") ?? 512), threads = Number(value("threads") ?? 1), steps = Number(value("steps") ?? 7), lr = Number(value("lr") ?? 1e-4);
const profileDir = value("profile");
const architecture = value("model") === "cnn" ? "cnn" : "mlp";
const specs = args.length > 0 ? args : ["wt", "wperp"];
const BATCH = 512, BATCHES = 7, WARM_CYCLES = 3;

setThreadHost(nodeThreadHost);
await ready({ threads });
const session = new Session();
session.connect();
const data = generateMnist1d();
const batches = Array.from({ length: BATCHES }, (_, b) => ({
  x: tensor(data.train.x.subarray(b * BATCH * data.features, (b + 1) * BATCH * data.features), [BATCH, data.features]),
  labels: Int32Array.from(data.train.y.subarray(b * BATCH, (b + 1) * BATCH)),
  rows: Int32Array.from({ length: BATCH }, (_, i) => b * BATCH + i),
}));
for (const spec of specs) {
  // "id" or "id:{json options}"
  const colon = spec.indexOf(":");
  const id = (colon < 0 ? spec : spec.slice(0, colon)) as EstimatorId;
  const estimator = createEstimator(id, colon < 0 ? {} : JSON.parse(spec.slice(colon + 1)));
  const model = createModel({ model: architecture, width, depth: 3, seed: 0 }, data);
  const optimizer = adamW({ lr });
  let step = 0;
  const one = () => {
    const scope = mark();
    const batch = batches[step % BATCHES];
    const { grads } = estimateStep(estimator, stepInput(model, batch.x, batch.labels, rng(1).split(step++), batch.rows));
    optimizer.step(model.layers.map((l) => l.w), grads.w);
    release(scope);
  };
  for (let i = 0; i < WARM_CYCLES * BATCHES; i++) one();
  if (profileDir) {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const started = performance.now();
    one();
    times.push(performance.now() - started);
  }
  if (profileDir) {
    const { profile } = await session.post("Profiler.stop");
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, `${id}.cpuprofile`), JSON.stringify(profile));
  }
  times.sort((a, b) => a - b);
  console.log(`${spec}: median ${times[times.length >> 1].toFixed(1)} ms (${times.map((t) => t.toFixed(0)).join(", ")})${estimator.diagnostics ? `; ${JSON.stringify(estimator.diagnostics())}` : ""}`);
}
