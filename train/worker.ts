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
import { datasetFromCsv, MAX_CSV_BYTES, type Dataset } from "../data/dataset.ts";
import { parseMethodSpec, sharedOptions, type MethodSpec } from "../estimators/index.ts";
import { Trainer, type EpochReport, type TrainConfig } from "./trainer.ts";
import { saveWeights } from "../models/weights.ts";

/**
 * Settings of a training run started in a worker: a {@link TrainConfig} whose `batch` is optional
 * (default 512, or the whole training set when it is smaller), with `k`, the W̃⊥ rank, accepted at
 * the top level too.
 */
export type TrainingSettings = Omit<TrainConfig, "batch"> & { batch?: number; k?: number };

/**
 * A file's contents as the worker reads them: what a Blob or a File offers (its size in bytes and
 * its text), declared here so that the package's types need no DOM lib.
 */
export interface CsvFile {
  /** Bytes in the file, checked against MAX_CSV_BYTES before it is read. */
  readonly size: number;
  /** The whole file as text (UTF-8). */
  text(): Promise<string>;
}

/**
 * `start` trains one method; `compare` trains several on the same data, initialisation and batches
 * (the settings' seed), one epoch of each in turn, as `fwdgrad compare` does: `methods` are entries
 * as `parseMethodSpec` reads them ("wt", "wperp:project:10"), overriding the settings' method,
 * guesses and combine. `pause` stops between epochs, `resume` continues, `reset` ends the runs and
 * frees their tensors. `csv` replaces the data set with a CSV file's rows (text, or a Blob such as a
 * File, read in the worker) as the CLI's `--data` reads them: features then the integer label on
 * every row, an optional header, split 80/20 in file order, `name` naming it in errors; `mnist1d`
 * goes back to MNIST-1D. Either stops the current run and is answered with a `dataset` event, or
 * an `error` (the parser's one line) that leaves the data as it was. `weights` asks for run `run`'s
 * current weights, answered with a `weights` event.
 */
export type TrainingMessage =
  | { type: "start"; settings: TrainingSettings }
  | { type: "compare"; settings: TrainingSettings; methods: string[] }
  | { type: "pause" } | { type: "resume" } | { type: "reset" }
  | { type: "csv"; name: string; csv: string | CsvFile }
  | { type: "mnist1d" }
  | { type: "weights"; run: number };

/**
 * What the worker posts. Events of a run carry its index in the started list (`run`) and its label
 * (the method entry; 0 and the method for `start`):
 * - `ready`: the engine is loaded; its {@link EngineInfo} fields.
 * - `dataset`: the data set now in use (after `csv` or `mnist1d`): its name, train and test rows,
 *   features and classes.
 * - `epoch`: an epoch's {@link EpochReport}, the steps it took and the mean milliseconds per step.
 * - `quality`: per linear layer, the cosine similarity of the estimate to the exact gradient (null
 *   where not measured), every other epoch.
 * - `examples`: a few test signals, their labels and the model's predictions.
 * - `done`: the run ended (`reason`), with a hash of its final weights.
 * - `weights`: the answer to `weights`: the run's model as safetensors bytes (`saveWeights`) at `epoch`.
 * - `error`: a bad message or settings, with the FwdgradError's message.
 */
export type TrainingEvent =
  | { type: "ready"; simd: boolean; kernels: string; threads: number; sharedMemory: boolean; threadsNote: string | null }
  | { type: "dataset"; name: string; train: number; test: number; features: number; classes: number }
  | { type: "epoch"; run: number; label: string; report: EpochReport; steps: number; stepMs: number }
  | { type: "quality"; run: number; label: string; epoch: number; cosine: (number | null)[] }
  | { type: "examples"; run: number; label: string; signals: number[][]; labels: number[]; predicted: number[] }
  | { type: "done"; run: number; label: string; reason: string; weightsHash: string }
  | { type: "weights"; run: number; label: string; epoch: number; bytes: Uint8Array }
  | { type: "error"; message: string };

/** Methods one `compare` trains at most: each keeps a model and its optimiser's state. */
export const MAX_COMPARED = 8;

/**
 * How a worker talks to its owner: Web Workers' `self`, or Node's `parentPort`, adapted. Messages
 * arrive as whatever was sent; anything that is not a `TrainingMessage` is answered with an `error`.
 */
export interface TrainingEndpoint {
  /** Sends an event to the owner. */
  postMessage(event: TrainingEvent): void;
  /** Registers the handler for every message the owner sends. */
  onMessage(handler: (message: unknown) => void): void;
}

/** The endpoint of a Web Worker scope (`self` in browsers, Deno and Bun workers). */
export function workerScopeEndpoint(scope: { postMessage(m: unknown): void; addEventListener(type: "message", l: (e: { data: unknown }) => void): void }): TrainingEndpoint {
  return {
    postMessage: (event) => scope.postMessage(event),
    onMessage: (handler) => scope.addEventListener("message", (e) => handler(e.data)),
  };
}

/** Larger CSV text than this is refused before it is read, as the CLI's `--data` does. */
export { MAX_CSV_BYTES };
/** The data set the service starts with, and that `mnist1d` goes back to. */
export const MNIST1D_NAME = "MNIST-1D";

/** Throws a one-line FwdgradError when a CSV file of `bytes` is too large to read. */
export function checkCsvSize(name: string, bytes: number, unit = "bytes"): void {
  if (bytes > MAX_CSV_BYTES) throw new FwdgradError(`${name}: ${bytes} ${unit} is too large for CSV (at most ${MAX_CSV_BYTES} bytes, 256 MiB)`);
}

/** A CSV file's rows as a data set, read as the CLI's `--data` reads one: parsed by `parseCsvSplit`, split 80/20 in file order. */
export function csvDataset(name: string, text: string): Dataset {
  checkCsvSize(name, text.length, "characters");
  return datasetFromCsv(name, text);
}

const EXAMPLES = 6;
const MESSAGE_TYPES = ["start", "compare", "pause", "resume", "reset", "csv", "mnist1d", "weights"];

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
  if (type === "csv") {
    const { name, csv } = message as { name?: unknown; csv?: unknown };
    if (typeof name !== "string" || name === "" || name.length > 1000) throw new FwdgradError("training: csv needs name, the file's name (a string of 1 to 1000 characters)");
    const file = csv as Partial<CsvFile> | null;
    if (typeof csv !== "string" && !(typeof file === "object" && file !== null && typeof file.size === "number" && typeof file.text === "function")) throw new FwdgradError("training: csv needs csv, the file's text or a Blob (a File)");
  }
  if (type === "weights") {
    const run = (message as { run?: unknown }).run;
    if (!Number.isSafeInteger(run) || (run as number) < 0) throw new FwdgradError(`training: weights needs run, the index of a started run (an integer ≥ 0)`);
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
  /** The data set it trains on. */
  data: Dataset;
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
 * // A Web Worker's script:
 * serveTraining(workerScopeEndpoint(self));
 * // A Node worker_threads script:
 * import { parentPort } from "worker_threads";
 * serveTraining({ postMessage: (m) => parentPort!.postMessage(m), onMessage: (h) => parentPort!.on("message", h) });
 * ```
 */
export async function serveTraining(endpoint: TrainingEndpoint): Promise<void> {
  const queued: unknown[] = [];
  let handle = (message: unknown) => void queued.push(message);
  endpoint.onMessage((message) => handle(message));
  const info = await ready();
  const mnist1d = generateMnist1d();
  let data: Dataset = mnist1d;
  let current: Run | null = null;
  const post = endpoint.postMessage.bind(endpoint);
  const announce = (name: string) => post({ type: "dataset", name, train: data.train.n, test: data.test.n, features: data.features, classes: data.classes });

  const predict = (t: Trainer, data: Dataset, rows: number): number[] => {
    const scope = mark();
    const x = tensor(data.test.x.subarray(0, rows * data.features), [rows, data.features]);
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
    const { settings, data } = run;
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
        const rows = Math.min(EXAMPLES, data.test.n);
        post({
          type: "examples", run: index, label,
          signals: Array.from({ length: rows }, (_, r) => Array.from(data.test.x.subarray(r * data.features, (r + 1) * data.features))),
          labels: Array.from(data.test.y.subarray(0, rows)),
          predicted: predict(trainer, data, rows),
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

  /** Trains on `loaded` from now on: the current run stops. */
  const swap = (name: string, loaded: Dataset): void => {
    stop();
    data = loaded;
    announce(name);
  };

  /** Handles one message; a Blob to read makes it return the promise of the read and parse. */
  const dispatch = (message: TrainingMessage): Promise<void> | void => {
    if (message.type === "csv") {
      const { name, csv } = message;
      if (typeof csv === "string") return swap(name, csvDataset(name, csv));
      checkCsvSize(name, csv.size);
      return csv.text().then((text) => swap(name, csvDataset(name, text)));
    } else if (message.type === "weights") {
      // A run's model as it is now, in safetensors; finished runs keep theirs until reset or the next start.
      const entry = current?.trainers[message.run];
      if (!entry) throw new FwdgradError(`training: no run ${message.run} to save the weights of; start one first`);
      post({ type: "weights", run: message.run, label: entry.label, epoch: entry.trainer.epoch, bytes: saveWeights(entry.trainer.model) });
    } else if (message.type === "mnist1d") {
      swap(MNIST1D_NAME, mnist1d);
    } else if (message.type === "start" || message.type === "compare") {
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
            ...settings, batch: settings.batch ?? Math.min(512, data.train.n), method: spec.method,
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
      current = { trainers, data, turn: 0, settings, scope, paused: false, scheduled: false, over: false };
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

  // Messages are handled as they come, in order: while a file is read, the ones after it wait.
  let reading = false;
  const waiting: unknown[] = [];
  const fail = (error: unknown) => post({ type: "error", message: errorMessage(error) });
  const handleNow = (message: unknown): void => {
    try {
      const read = dispatch(checkMessage(message));
      if (!read) return;
      reading = true;
      read.catch(fail).finally(() => {
        reading = false;
        while (waiting.length && !reading) handleNow(waiting.shift());
      });
    } catch (error) {
      fail(error);
    }
  };
  handle = (message) => {
    if (reading) waiting.push(message);
    else handleNow(message);
  };
  post({ type: "ready", simd: info.simd, kernels: info.kernels, threads: info.threads, sharedMemory: info.sharedMemory, threadsNote: info.threadsNote });
  announce(MNIST1D_NAME);
  for (const message of queued.splice(0)) handle(message);
}
