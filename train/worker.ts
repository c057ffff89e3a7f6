// Training off the main thread, in any runtime: `serveTraining(endpoint)` runs inside a worker (a
// browser, Deno or Bun Web Worker, or Node's worker_threads) and answers the messages of
// `TrainingMessage` with `TrainingEvent`s. One epoch runs per turn of the event loop, so pause,
// resume and reset are seen between epochs. The endpoint hides how each runtime passes messages.
// Each run's tensors live in an arena scope of their own, released by reset or the next start.
import { mark, release } from "../engine/arena.ts";
import { ready } from "../engine/backend.ts";
import { FwdgradError } from "../engine/errors.ts";
import type { Mark } from "../engine/index.ts";
import { argmaxRows, forward } from "../models/mlp.ts";
import { rng } from "../engine/rng.ts";
import { tensor } from "../engine/tensor.ts";
import { generateMnist1d } from "../data/mnist1d.ts";
import { parseMethodSpec, sharedOptions, type MethodSpec } from "../estimators/index.ts";
import { Trainer, type EpochReport, type TrainConfig } from "./trainer.ts";

/** Settings of a training run started in a worker (batch defaults to 512). */
export type TrainingSettings = Omit<TrainConfig, "batch"> & { batch?: number; k?: number };

/**
 * `start` trains one method; `compare` trains several on the same data, initialisation and batches
 * (the settings' seed), one epoch of each in turn, as `fwdgrad compare` does: `methods` are entries
 * as `parseMethodSpec` reads them ("wt", "wperp:project:10"), overriding the settings' method,
 * guesses and combine.
 */
export type TrainingMessage =
  | { type: "start"; settings: TrainingSettings }
  | { type: "compare"; settings: TrainingSettings; methods: string[] }
  | { type: "pause" } | { type: "resume" } | { type: "reset" };

/** Events of a run carry its index in the started list and its label (the method entry; 0 and the method for `start`). */
export type TrainingEvent =
  | { type: "ready"; simd: boolean; kernels: string; threads: number; sharedMemory: boolean; threadsNote: string | null }
  | { type: "epoch"; run: number; label: string; report: EpochReport; steps: number; stepMs: number }
  | { type: "quality"; run: number; label: string; epoch: number; cosine: (number | null)[] }
  | { type: "examples"; run: number; label: string; signals: number[][]; labels: number[]; predicted: number[] }
  | { type: "done"; run: number; label: string; reason: string; weightsHash: string }
  | { type: "error"; message: string };

/** Methods one `compare` trains at most: each keeps a model and its optimiser's state. */
export const MAX_COMPARED = 8;

/**
 * How a worker talks to its owner: Web Workers' `self`, or Node's `parentPort`, adapted. Messages
 * arrive as whatever was sent; anything that is not a `TrainingMessage` is answered with an `error`.
 */
export interface TrainingEndpoint {
  postMessage(event: TrainingEvent): void;
  onMessage(handler: (message: unknown) => void): void;
}

/** The endpoint of a Web Worker scope (`self` in browsers, Deno and Bun workers). */
export function workerScopeEndpoint(scope: { postMessage(m: unknown): void; addEventListener(type: "message", l: (e: { data: unknown }) => void): void }): TrainingEndpoint {
  return {
    postMessage: (event) => scope.postMessage(event),
    onMessage: (handler) => scope.addEventListener("message", (e) => handler(e.data)),
  };
}

const EXAMPLES = 6;
const MESSAGE_TYPES = ["start", "compare", "pause", "resume", "reset"];

/** `message` as a TrainingMessage, or a FwdgradError saying what is wrong with it (one line). */
function checkMessage(message: unknown): TrainingMessage {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new FwdgradError(`training: expected a message object with a type, got ${message === null ? "null" : Array.isArray(message) ? "an array" : typeof message}`);
  }
  const { type, settings } = message as { type?: unknown; settings?: unknown };
  if (typeof type !== "string" || !MESSAGE_TYPES.includes(type)) {
    const got = typeof type === "string" ? JSON.stringify(type.slice(0, 40)) : String(type);
    throw new FwdgradError(`training: unknown message type ${got}; known: ${MESSAGE_TYPES.join(", ")}`);
  }
  if ((type === "start" || type === "compare") && (typeof settings !== "object" || settings === null || Array.isArray(settings))) {
    throw new FwdgradError(`training: ${type} needs settings (an object), got ${settings === null ? "null" : Array.isArray(settings) ? "an array" : typeof settings}`);
  }
  if (type === "compare") {
    const methods = (message as { methods?: unknown }).methods;
    if (!Array.isArray(methods) || methods.length === 0 || methods.length > MAX_COMPARED || methods.some((m) => typeof m !== "string")) {
      throw new FwdgradError(`training: compare needs methods, a list of 1 to ${MAX_COMPARED} method entries (strings)`);
    }
    const twice = methods.find((m, i) => methods.indexOf(m) !== i);
    if (twice !== undefined) throw new FwdgradError(`training: compare names ${JSON.stringify(twice)} twice`);
  }
  return message as TrainingMessage;
}

/** A FwdgradError's own message; anything else (a bug) keeps its name, as `TypeError: …`. */
function errorMessage(error: unknown): string {
  return error instanceof FwdgradError ? error.message : String(error);
}

/** One started run: its trainers (one per compared method), the arena scope their tensors live in, and where the epoch loop is. */
interface Run {
  trainers: Array<{ trainer: Trainer; label: string; over: boolean }>;
  /** The trainer whose epoch is next. */
  turn: number;
  settings: TrainingSettings;
  scope: Mark;
  paused: boolean;
  /** An epoch is queued for the next turn. */
  scheduled: boolean;
  /** Finished, stopped or failed (all of its trainers): resume does not restart it. */
  over: boolean;
}

/**
 * Serves training requests on `endpoint` until the worker ends: loads the kernels, generates
 * MNIST-1D, and for `start` (or each method of `compare`, in turn) trains with the settings, posting every epoch, per-layer cosine
 * similarity every other epoch, and a few test signals with their predicted labels. A message
 * that is not a `TrainingMessage`, or a start with bad settings, gets an `error` event; `reset` and
 * each `start` free the previous run's tensors.
 * @example
 * ```ts
 * // worker.ts (Web Worker)                 // Node: worker_threads
 * serveTraining(workerScopeEndpoint(self));   serveTraining({ postMessage: (m) => parentPort.postMessage(m), onMessage: (h) => parentPort.on("message", h) });
 * ```
 */
export async function serveTraining(endpoint: TrainingEndpoint): Promise<void> {
  const queued: unknown[] = [];
  let handle = (message: unknown) => void queued.push(message);
  endpoint.onMessage((message) => handle(message));
  const info = await ready();
  const data = generateMnist1d();
  let current: Run | null = null;
  const post = endpoint.postMessage.bind(endpoint);

  const predict = (t: Trainer): number[] => {
    const scope = mark();
    const x = tensor(data.test.x.subarray(0, EXAMPLES * data.features), [EXAMPLES, data.features]);
    const predicted = argmaxRows(forward(t.model, x).pre[t.model.layers.length - 1].toArray(), data.classes);
    release(scope);
    return Array.from(predicted);
  };

  const quality = (t: Trainer, s: TrainingSettings, run: number, label: string) => {
    const layers = t.probeQuality({ rows: 256, draws: 2, rng: rng(s.seed).split(9) });
    if (layers) post({ type: "quality", run, label, epoch: t.epoch, cosine: layers.map((l) => l.cosine) });
  };

  const schedule = (run: Run): void => {
    run.scheduled = true;
    setTimeout(() => loop(run), 0);
  };

  const loop = (run: Run): void => {
    run.scheduled = false;
    if (run !== current || run.paused || run.over) return;
    const { settings } = run;
    const index = run.turn;
    const { trainer, label } = run.trainers[index];
    const finish = (reason: string) => {
      run.trainers[index].over = true;
      post({ type: "done", run: index, label, reason, weightsHash: trainer.weightsHash() });
    };
    try {
      const report = trainer.runEpoch();
      if (!report) finish(trainer.stopped ?? "stopped");
      else {
        const steps = Math.ceil(data.train.n / trainer.config.batch);
        post({ type: "epoch", run: index, label, report, steps: trainer.step, stepMs: report.ms / steps });
        if (trainer.epoch === 1 || trainer.epoch % 2 === 0) quality(trainer, settings, index, label);
        post({
          type: "examples", run: index, label,
          signals: Array.from({ length: EXAMPLES }, (_, r) => Array.from(data.test.x.subarray(r * data.features, (r + 1) * data.features))),
          labels: Array.from(data.test.y.subarray(0, EXAMPLES)),
          predicted: predict(trainer),
        });
        if (trainer.epoch >= settings.epochs) finish(`finished ${settings.epochs} epochs`);
      }
    } catch (error) {
      run.over = true;
      post({ type: "error", message: errorMessage(error) });
      return;
    }
    // The next unfinished trainer, in turn order, takes the next turn.
    const next = run.trainers.findIndex((_, i) => !run.trainers[(index + 1 + i) % run.trainers.length].over);
    if (next < 0) {
      run.over = true;
      return;
    }
    run.turn = (index + 1 + next) % run.trainers.length;
    schedule(run);
  };

  /** Drops the current run and frees its model, optimiser and any scratch a failed epoch left. */
  const stop = (): void => {
    if (!current) return;
    release(current.scope);
    current = null;
  };

  const dispatch = (message: TrainingMessage): void => {
    if (message.type === "start" || message.type === "compare") {
      stop();
      const settings = message.settings;
      const specs = message.type === "compare" ? message.methods.map(parseMethodSpec) : [{ label: String(settings.method), method: settings.method }];
      // Everything the run allocates goes above this mark: data and kernels were set up before.
      const scope = mark();
      let trainers: Run["trainers"];
      try {
        // Options are set once for every method; each gets those it takes (an entry's own K and combination win).
        const optionsFor = sharedOptions(specs.map((spec) => spec.method), settings.options ?? {});
        trainers = specs.map((spec: MethodSpec) => ({
          label: spec.label,
          over: false,
          trainer: new Trainer(data, {
            ...settings, batch: settings.batch ?? 512, method: spec.method,
            options: {
              ...optionsFor(spec.method),
              ...(spec.guesses !== undefined ? { guesses: spec.guesses } : {}),
              ...(spec.combine !== undefined ? { combine: spec.combine } : {}),
            },
          }),
        }));
      } catch (error) {
        release(scope);
        throw error;
      }
      current = { trainers, turn: 0, settings, scope, paused: false, scheduled: false, over: false };
      schedule(current);
    } else if (message.type === "pause") {
      if (current) current.paused = true;
    } else if (message.type === "resume") {
      // Only a paused run whose loop has stopped needs restarting; otherwise a second loop would run.
      if (!current || !current.paused) return;
      current.paused = false;
      if (!current.scheduled) schedule(current);
    } else {
      stop();
    }
  };

  handle = (message) => {
    try {
      dispatch(checkMessage(message));
    } catch (error) {
      post({ type: "error", message: errorMessage(error) });
    }
  };
  post({ type: "ready", simd: info.simd, kernels: info.kernels, threads: info.threads, sharedMemory: info.sharedMemory, threadsNote: info.threadsNote });
  for (const message of queued.splice(0)) handle(message);
}
