// Training off the main thread, in any runtime: `serveTraining(endpoint)` runs inside a worker (a
// browser, Deno or Bun Web Worker, or Node's worker_threads) and answers the messages of
// `TrainingMessage` with `TrainingEvent`s. One epoch runs per turn of the event loop, so pause,
// resume and reset are seen between epochs. The endpoint hides how each runtime passes messages.
import { mark, release } from "../engine/arena.ts";
import { ready } from "../engine/backend.ts";
import { FwdgradError } from "../engine/errors.ts";
import { forward } from "./mlp.ts";
import { rng } from "../engine/rng.ts";
import { tensor } from "../engine/tensor.ts";
import { createEstimator } from "../estimators/index.ts";
import { measureQuality } from "../estimators/metrics.ts";
import { generateMnist1d } from "./mnist1d.ts";
import { Trainer, type EpochReport, type TrainConfig } from "./train.ts";

/** Settings of a training run started in a worker (batch defaults to 512). */
export type TrainingSettings = Omit<TrainConfig, "batch"> & { batch?: number; k?: number };

export type TrainingMessage = { type: "start"; settings: TrainingSettings } | { type: "pause" } | { type: "resume" } | { type: "reset" };

export type TrainingEvent =
  | { type: "ready"; simd: boolean; kernels: string }
  | { type: "epoch"; report: EpochReport; steps: number; stepMs: number }
  | { type: "quality"; epoch: number; cosine: (number | null)[] }
  | { type: "examples"; signals: number[][]; labels: number[]; predicted: number[] }
  | { type: "done"; reason: string; weightsHash: string }
  | { type: "error"; message: string };

/** How a worker talks to its owner: Web Workers' `self`, or Node's `parentPort`, adapted. */
export interface TrainingEndpoint {
  postMessage(event: TrainingEvent): void;
  onMessage(handler: (message: TrainingMessage) => void): void;
}

/** The endpoint of a Web Worker scope (`self` in browsers, Deno and Bun workers). */
export function workerScopeEndpoint(scope: { postMessage(m: unknown): void; addEventListener(type: "message", l: (e: MessageEvent) => void): void }): TrainingEndpoint {
  return {
    postMessage: (event) => scope.postMessage(event),
    onMessage: (handler) => scope.addEventListener("message", (e) => handler(e.data as TrainingMessage)),
  };
}

const EXAMPLES = 6;

/**
 * Serves training requests on `endpoint` until the worker ends: loads the kernels, generates
 * MNIST-1D, and for `start` trains with the settings, posting every epoch, per-layer cosine
 * similarity every other epoch, and a few test signals with their predicted labels.
 * @example
 * ```ts
 * // worker.ts (Web Worker)                 // Node: worker_threads
 * serveTraining(workerScopeEndpoint(self));   serveTraining({ postMessage: (m) => parentPort.postMessage(m), onMessage: (h) => parentPort.on("message", h) });
 * ```
 */
export async function serveTraining(endpoint: TrainingEndpoint): Promise<void> {
  const queued: TrainingMessage[] = [];
  let handle = (message: TrainingMessage) => void queued.push(message);
  endpoint.onMessage((message) => handle(message));
  const info = await ready();
  const data = generateMnist1d();
  let trainer: Trainer | null = null;
  let settings: TrainingSettings | null = null;
  let paused = false;
  let generation = 0;
  const post = endpoint.postMessage.bind(endpoint);

  const predict = (t: Trainer): number[] => {
    const scope = mark();
    const x = tensor(data.test.x.subarray(0, EXAMPLES * data.features), [EXAMPLES, data.features]);
    const z = forward(t.model, x).pre[t.model.layers.length - 1].toArray();
    release(scope);
    return Array.from({ length: EXAMPLES }, (_, r) => {
      const row = z.subarray(r * data.classes, (r + 1) * data.classes);
      return row.indexOf(Math.max(...row));
    });
  };

  const quality = (t: Trainer, s: TrainingSettings) => {
    if (s.method === "backprop") return;
    const scope = mark();
    const batch = Math.min(256, data.train.n);
    const x = tensor(data.train.x.subarray(0, batch * data.features), [batch, data.features]);
    const labels = Int32Array.from(data.train.y.subarray(0, batch));
    const layers = measureQuality(t.model, x, labels, createEstimator(s.method, { k: s.k }), { draws: 2, rng: rng(s.seed).split(9) });
    release(scope);
    post({ type: "quality", epoch: t.epoch, cosine: layers.map((l) => l.cosine) });
  };

  const loop = (mine: number): void => {
    if (mine !== generation || paused || !trainer || !settings) return;
    try {
      const report = trainer.runEpoch();
      if (!report) {
        post({ type: "done", reason: trainer.stopped ?? "stopped", weightsHash: trainer.weightsHash() });
        return;
      }
      const steps = Math.ceil(data.train.n / trainer.config.batch);
      post({ type: "epoch", report, steps: trainer.step, stepMs: report.ms / steps });
      if (trainer.epoch === 1 || trainer.epoch % 2 === 0) quality(trainer, settings);
      post({
        type: "examples",
        signals: Array.from({ length: EXAMPLES }, (_, r) => Array.from(data.test.x.subarray(r * data.features, (r + 1) * data.features))),
        labels: Array.from(data.test.y.subarray(0, EXAMPLES)),
        predicted: predict(trainer),
      });
      if (trainer.epoch >= settings.epochs) {
        post({ type: "done", reason: `finished ${settings.epochs} epochs`, weightsHash: trainer.weightsHash() });
        return;
      }
    } catch (error) {
      post({ type: "error", message: error instanceof FwdgradError ? error.message : String(error) });
      return;
    }
    setTimeout(() => loop(mine), 0);
  };

  handle = (message) => {
    if (message.type === "start") {
      generation++;
      paused = false;
      settings = message.settings;
      try {
        trainer = new Trainer(data, { batch: 512, ...settings });
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
  post({ type: "ready", simd: info.simd, kernels: info.kernels });
  for (const message of queued.splice(0)) handle(message);
}
