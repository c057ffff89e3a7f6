// The lab page's training worker: generates MNIST-1D, trains with the chosen method one epoch per
// turn of the event loop (so pause and reset messages are seen between epochs) and posts progress.
import { createEstimator, FwdgradError, generateMnist1d, measureQuality, ready, rng, tensor, Trainer, forward, mark, release } from "../index.ts";
import type { FromWorker, Settings, ToWorker } from "./protocol.ts";

const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);
const info = await ready();
post({ type: "ready", simd: info.simd, kernels: info.kernels });

const data = generateMnist1d();
const EXAMPLES = [0, 1, 2, 3, 4, 5];
let trainer: Trainer | null = null;
let settings: Settings | null = null;
let paused = false;
let generation = 0;

function predict(t: Trainer): number[] {
  const scope = mark();
  const rows = EXAMPLES.length;
  const x = tensor(data.test.x.subarray(0, rows * data.features), [rows, data.features]);
  const z = forward(t.model, x).pre.at(-1)!.toArray();
  release(scope);
  return EXAMPLES.map((r) => {
    const row = z.subarray(r * data.classes, (r + 1) * data.classes);
    return row.indexOf(Math.max(...row));
  });
}

function quality(t: Trainer, s: Settings): void {
  if (s.method === "backprop") return;
  const scope = mark();
  const batch = 256;
  const x = tensor(data.train.x.subarray(0, batch * data.features), [batch, data.features]);
  const labels = Int32Array.from(data.train.y.subarray(0, batch));
  const layers = measureQuality(t.model, x, labels, createEstimator(s.method, { k: s.k }), { draws: 2, rng: rng(s.seed).split(9) });
  release(scope);
  post({ type: "quality", epoch: t.epoch, cosine: layers.map((l) => l.cosine) });
}

function loop(mine: number): void {
  if (mine !== generation || paused || !trainer || !settings) return;
  try {
    const report = trainer.runEpoch();
    if (!report) {
      post({ type: "done", reason: trainer.stopped ?? "stopped" });
      return;
    }
    const steps = Math.ceil(data.train.n / 512);
    post({ type: "epoch", report, steps: trainer.step, stepMs: report.ms / steps });
    if (trainer.epoch % 2 === 0 || trainer.epoch === 1) quality(trainer, settings);
    post({ type: "examples", signals: EXAMPLES.map((r) => Array.from(data.test.x.subarray(r * data.features, (r + 1) * data.features))), labels: EXAMPLES.map((r) => data.test.y[r]), predicted: predict(trainer) });
    if (trainer.epoch >= settings.epochs) {
      post({ type: "done", reason: `finished ${settings.epochs} epochs` });
      return;
    }
  } catch (error) {
    post({ type: "error", message: error instanceof FwdgradError ? error.message : String(error) });
    return;
  }
  setTimeout(() => loop(mine), 0);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "start") {
    generation++;
    paused = false;
    settings = message.settings;
    try {
      trainer = new Trainer(data, { ...settings, batch: 512 });
    } catch (error) {
      post({ type: "error", message: error instanceof Error ? error.message : String(error) });
      return;
    }
    loop(generation);
  } else if (message.type === "pause") {
    paused = true;
  } else if (message.type === "resume") {
    paused = false;
    loop(generation);
  } else if (message.type === "reset") {
    generation++;
    trainer = null;
  }
};
