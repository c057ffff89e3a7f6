// Studies over widths, seeds and methods: the width studies of `fwdgrad reproduce`, gradient quality
// against width (quality-width) and training accuracy against width (accuracy-width, the W̃⊥ paper's
// Figure 2 carried further), and the single training run with quality probes that compare and the
// paper's tables repeat (runOne). The width studies are long, so both keep their finished parts in a
// state folder beside the results and continue from them when run again with the same `out`:
// quality-width per (width, seed, stage, estimator) and the pretrained weights; the backprop
// pretraining and every accuracy-width run from a checkpoint written at least once a minute.
// Library code: file access comes in as a StudyFiles (the CLI's is node:fs, cli/io.ts), progress
// goes out through `log`, and faults of saved state are FwdgradErrors naming the file.
import { heapPeakBytes, mark, release, resetHeapPeak } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { assign } from "../engine/inplace.ts";
import { rng } from "../engine/rng.ts";
import { tensor } from "../engine/tensor.ts";
import { createEstimator, isEstimatorId, keepsWarmStarts, methodOptions, optionsTakenBy, warmStartBlock, type Combine, type EstimatorOptions, type MethodSpec } from "../estimators/index.ts";
import { resolveOptions } from "../estimators/options.ts";
import { hiddenLayerMean, measureQuality, type LayerFidelity, type LayerMetrics } from "../estimators/metrics.ts";
import { DEFAULT_WARM_START_BYTES, warmStartBytesFor } from "../estimators/wperp/warm-starts.ts";
import type { Dataset } from "../data/dataset.ts";
import type { Mlp } from "../models/mlp.ts";
import { lineChart, type Series } from "../plot/svg.ts";
import { encodeCheckpoint, parseCheckpoint } from "./checkpoint.ts";
import { createModel, estimatorOptions, modelSizes, normalizeConfig, Trainer, type EpochReport, type ModelKind, type TrainConfig } from "./trainer.ts";

/**
 * The file access a study needs, given by the app that runs it. Paths are the host's, built by
 * `join`; `write` replaces a file whole, never leaving half of one (chunks are written one after
 * another); `remove` ignores a missing file; `makeFolder` makes missing parents too; `list` names a
 * folder's entries, none when it does not exist.
 */
export interface StudyFiles {
  join(...parts: string[]): string;
  exists(path: string): boolean;
  readText(path: string): string;
  readBytes(path: string): Uint8Array;
  write(path: string, data: string | Uint8Array | readonly Uint8Array[]): void;
  remove(path: string): void;
  makeFolder(path: string): void;
  list(path: string): string[];
}

/** Where a study reads and writes, where its progress lines go, and the commit its records name. */
export interface StudyContext {
  files: StudyFiles;
  log: (line: string) => void;
  /** The source the study runs from (the CLI's: a git commit, "+dirty" with uncommitted changes). */
  commit: string;
}

/** What every run of a study shares: the model and optimiser settings, and the guesses of estimator entries without their own. */
export interface RunSettings {
  /** The architecture (default "mlp"); for "cnn" a width is a channel count and depth the convolutions. */
  model?: ModelKind;
  /** Biases on every layer (default false). */
  bias?: boolean;
  /** AdamW's weight decay (the trainer's default where absent). */
  weightDecay?: number;
  depth: number;
  epochs: number;
  batch: number;
  lr: number;
  /** W̃⊥'s subspace rank (for the methods that take it; their table's default where absent). */
  k?: number;
  guesses?: number;
  combine?: Combine;
  /** Further estimator options, each given to the methods whose table declares it (`sharedOptions`). */
  options?: EstimatorOptions;
}

/** quality-width's settings: `draws` draws on the first `rows` training examples, before and after `pretrainEpochs` of backprop. */
export interface QualityWidthSettings extends RunSettings {
  seeds: number;
  draws: number;
  rows: number;
  pretrainEpochs: number;
}

/** accuracy-width's settings: `epochs` per run, or `maxMinutes` of a run's own wall time (over sessions) if it comes first. */
export interface AccuracyWidthSettings extends RunSettings {
  seeds: number;
  maxMinutes?: number;
}

/** n values' mean and sample std; null for one value, which has no spread to estimate. */
export interface Stat { mean: number; std: number | null; n: number }

export const meanStd = (xs: number[]): Stat => {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) : null;
  return { mean, std, n: xs.length };
};

/**
 * A JSON file of the state folder, or null when absent (a half-written one never exists: writes
 * are atomic). `fields` names what it must hold, by JSON type; anything else is refused, naming the file.
 */
function readState<T>(files: StudyFiles, path: string, fields: Record<string, "number" | "string" | "object" | "array">): T | null {
  if (!files.exists(path)) return null;
  const refuse = (why: string): never => {
    throw new FwdgradError(`${path}: not a state file of this study (${why}); remove it to start that part again`);
  };
  let value: unknown;
  try {
    value = JSON.parse(files.readText(path));
  } catch (error) {
    return refuse(error instanceof Error ? error.message : String(error));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return refuse("not a JSON object");
  for (const [name, type] of Object.entries(fields)) {
    const field = (value as Record<string, unknown>)[name];
    const ok = type === "array" ? Array.isArray(field) : type === "object" ? typeof field === "object" && field !== null && !Array.isArray(field) : typeof field === type;
    if (!ok) refuse(`${name} is not a${type === "array" || type === "object" ? "n" : ""} ${type}`);
  }
  return value as T;
}

const PRETRAIN_FIELDS = { width: "number", epochs: "number", seconds: "number", weightsHash: "string" } as const;
const RUN_FIELDS = { label: "string", config: "object", epochs: "number", history: "array", seconds: "number", weightsHash: "string" } as const;

const json = (value: unknown) => `${JSON.stringify(value, null, 1)}\n`;

/** An array's bytes in place (little-endian, as WebAssembly memory holds them). */
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The settings' architecture and optimiser fields as a config holds them (absent where default). */
function modelFields(settings: RunSettings): Pick<TrainConfig, "model" | "bias" | "weightDecay"> {
  return {
    ...(settings.model && settings.model !== "mlp" ? { model: settings.model } : {}),
    ...(settings.bias ? { bias: true } : {}),
    ...(settings.weightDecay !== undefined ? { weightDecay: settings.weightDecay } : {}),
  };
}

/** A run's configuration: the spec's guesses and combination, else the settings' (where given; estimators only). */
export function configFrom(settings: RunSettings, spec: MethodSpec, width: number, seed: number): TrainConfig {
  const guesses = spec.guesses ?? settings.guesses;
  const combine = spec.combine ?? settings.combine;
  const options = settings.options ? optionsTakenBy(spec.method, settings.options) : {};
  return {
    method: spec.method, width, depth: settings.depth, epochs: settings.epochs, batch: settings.batch, lr: settings.lr, seed,
    ...modelFields(settings),
    ...(settings.k !== undefined ? { k: settings.k } : {}),
    ...(guesses !== undefined && isEstimatorId(spec.method) ? { guesses } : {}),
    ...(combine !== undefined && isEstimatorId(spec.method) ? { combine } : {}),
    ...(Object.keys(options).length ? { options } : {}),
  };
}


/**
 * Options quality-width gives an estimator beyond the settings, per width: W̃P on its fast route, the
 * same guess distribution in closed form, where the exact route takes an SVD of every example's W̃
 * on every draw; W̃⊥-NS's fast route with width/16 pairs (at least its default 32), since the
 * singular values its polynomial keeps grow in number with the width (at 1024, 24 pairs left a tail
 * bound of 0.22 of Σ f² at initialisation, 48 left 3e-4).
 */
const QUALITY_WIDTH_OPTIONS: Record<string, (width: number) => EstimatorOptions> = {
  wp: () => ({ route: "fast" }),
  "wperp-ns": (width) => ({ pairs: Math.max(32, Math.ceil(width / 16)) }),
};

/** Widths above which an estimator is left out of quality-width, with the reason. */
const QUALITY_WIDTH_LIMITS: Record<string, { width: number; why: string }> = {
  "wperp-ns": {
    width: 1024,
    why: "the singular values its polynomial keeps outnumber what LOBPCG's blocks hold: at width 2048, 26 pairs left a tail bound of 1.05 of Σ f² at initialisation, and 128 pairs for 512 rows take 0.5 GB a block",
  },
};

interface QualityCell {
  width: number;
  seed: number;
  stage: "init" | "trained";
  label: string;
  layers: LayerMetrics[] | null;
  skipped: string | null;
  seconds: number;
  /** The engine's heap at its fullest during the measurement (absent in cells saved before it was kept). */
  peakHeapBytes?: number;
}

/**
 * Quality of every spec on the first `rows` training examples, `draws` draws each; `done` gets each
 * cell as it is measured, so a long stage keeps what it finished. A spec that runs out of the
 * engine's heap at this width is reported as skipped with the reason (and tried again next time).
 */
function measureStage(model: Mlp, data: Dataset, settings: QualityWidthSettings, specs: MethodSpec[], width: number, seed: number, stage: QualityCell["stage"], log: (line: string) => void, done: (cell: QualityCell) => void): QualityCell[] {
  const rows = settings.rows;
  const x = tensor(data.train.x.subarray(0, rows * data.features), [rows, data.features]);
  const labels = Int32Array.from(data.train.y.subarray(0, rows));
  return specs.map((spec) => {
    const limit = QUALITY_WIDTH_LIMITS[spec.method];
    if (limit && width > limit.width) {
      const cell = { width, seed, stage, label: spec.label, layers: null, skipped: `above width ${limit.width}: ${limit.why}`, seconds: 0 };
      done(cell);
      return cell;
    }
    const scope = mark();
    const started = performance.now();
    resetHeapPeak();
    let layers: LayerMetrics[];
    try {
      if (!isEstimatorId(spec.method)) throw new FwdgradError(`quality: ${spec.method} draws no guesses, so it has no estimate to measure`);
      const estimator = createEstimator(spec.method, { ...estimatorOptions(configFrom(settings, spec, width, seed)), ...QUALITY_WIDTH_OPTIONS[spec.method]?.(width) });
      layers = measureQuality(model, x, labels, estimator, { draws: settings.draws, rng: rng(seed).split(1) });
    } catch (error) {
      if (!(error instanceof FwdgradError && error.message.startsWith("out of memory"))) throw error;
      log(`  w${width} s${seed} ${stage} ${spec.label}: skipped, ${error.message}`);
      return { width, seed, stage, label: spec.label, layers: null, skipped: error.message, seconds: (performance.now() - started) / 1000, peakHeapBytes: heapPeakBytes() };
    } finally {
      release(scope);
    }
    const seconds = (performance.now() - started) / 1000;
    const peakHeapBytes = heapPeakBytes();
    log(`  w${width} s${seed} ${stage} ${spec.label}: cosine per layer ${layers.map((l) => (l.cosine === null ? "—" : l.cosine.toFixed(3))).join(" ")} (${seconds.toFixed(1)} s, heap ${(peakHeapBytes / 2 ** 30).toFixed(2)} GiB at most)`);
    const cell = { width, seed, stage, label: spec.label, layers, skipped: null, seconds, peakHeapBytes };
    done(cell);
    return cell;
  });
}

/** Where the pretrained weights (.f32) and their summary (.json) of one (width, seed) are kept. */
const pretrainBase = (files: StudyFiles, stateDir: string, width: number, seed: number, epochs: number) => files.join(stateDir, `w${width}-s${seed}-backprop-${epochs}`);

/** Backprop pretraining of one (width, seed), or its saved weights from an earlier run. */
function pretrained(data: Dataset, settings: QualityWidthSettings, width: number, seed: number, stateDir: string, io: StudyContext): { model: Mlp; summary: PretrainSummary } {
  const { files, log } = io;
  const epochs = settings.pretrainEpochs;
  const base = pretrainBase(files, stateDir, width, seed, epochs);
  const config: TrainConfig = {
    method: "backprop", width, depth: settings.depth, epochs, batch: settings.batch, lr: settings.lr, seed,
    ...modelFields(settings),
  };
  // Pretraining a wide layer takes long (about an hour at width 4096 on 2 cores), so it continues
  // from its own checkpoint; the checkpoint goes once the weights are saved.
  const paths = resumePaths(`${base}.`);
  const saved = readState<PretrainSummary>(files, `${base}.json`, PRETRAIN_FIELDS);
  if (saved && files.exists(`${base}.f32`)) {
    const trainer = new Trainer(data, config);
    const bytes = files.readBytes(`${base}.f32`);
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    let offset = 0;
    for (const layer of trainer.model.layers) {
      if (offset + layer.w.size > values.length) throw new FwdgradError(`${base}.f32 holds ${values.length} values, too few for width ${width}; remove it to pretrain again`);
      assign(layer.w, values.subarray(offset, (offset += layer.w.size)));
    }
    if (offset !== values.length || trainer.weightsHash() !== saved.weightsHash) throw new FwdgradError(`${base}.f32 does not match its summary (weights hash or size); remove both to pretrain again`);
    // A checkpoint left by a stop between saving the weights and removing it is of no more use.
    for (const path of Object.values(paths)) files.remove(path);
    log(`  w${width} s${seed}: backprop weights after ${epochs} epochs from ${base}.f32`);
    return { model: trainer.model, summary: saved };
  }
  const runName = `w${width} s${seed} backprop pretraining`;
  const { trainer, seconds: before } = resumeTrainer(data, config, paths, runName, io);
  const { seconds } = trainResumable(trainer, before, Infinity, paths, files, (report, elapsed) => {
    if (trainer.epoch % 10 === 0) log(`  ${runName}: epoch ${trainer.epoch}/${epochs}, train ${(report.trainAcc * 100).toFixed(1)}%, ${elapsed.toFixed(0)} s`);
  });
  const last = trainer.history[trainer.history.length - 1];
  const summary: PretrainSummary = { width, seed, epochs: trainer.epoch, trainAcc: last?.trainAcc ?? null, testAcc: last?.testAcc ?? null, seconds, weightsHash: trainer.weightsHash() };
  if (trainer.stopped) throw new FwdgradError(`backprop pretraining at width ${width}, seed ${seed} stopped early: ${trainer.stopped}`);
  files.write(`${base}.f32`, trainer.model.layers.map((l) => bytesOf(l.w.toArray())));
  files.write(`${base}.json`, json(summary));
  for (const path of Object.values(paths)) files.remove(path);
  log(`  w${width} s${seed}: backprop ${epochs} epochs, train ${((summary.trainAcc ?? 0) * 100).toFixed(1)}% (${summary.seconds.toFixed(0)} s)`);
  return { model: trainer.model, summary };
}

interface PretrainSummary {
  width: number;
  seed: number;
  epochs: number;
  trainAcc: number | null;
  testAcc: number | null;
  seconds: number;
  weightsHash: string;
}

/**
 * quality-width: per width and seed, every spec's gradient quality (measureQuality, `draws` draws on
 * the first `rows` training examples) at initialisation and after `pretrainEpochs` of backprop.
 * Writes quality-width.json and one cosine plot per stage into `out`, logs each measurement, and
 * returns the report.
 */
export function qualityWidth(data: Dataset, settings: QualityWidthSettings, specs: MethodSpec[], widths: number[], out: string, io: StudyContext) {
  const { files, log, commit } = io;
  const stateDir = files.join(out, "quality-width");
  files.makeFolder(stateDir);
  const seeds = settings.seeds;
  const started = performance.now();
  const cells: QualityCell[] = [];
  const pretraining: PretrainSummary[] = [];
  const recorded = { widths, seeds, draws: settings.draws, rows: settings.rows, pretrainEpochs: settings.pretrainEpochs, depth: settings.depth, k: settings.k, lr: settings.lr, batch: settings.batch, methods: specs.map((s) => s.label) };
  // What a stage's measurements depend on beyond width, seed and estimator: a saved stage is reused only under the same.
  const stageSettings = { draws: settings.draws, rows: settings.rows, depth: settings.depth, k: settings.k, ...(settings.model === "cnn" ? { model: "cnn", bias: settings.bias ?? false } : {}) };
  const sameSettings = (saved: unknown) => JSON.stringify(saved) === JSON.stringify(stageSettings);
  for (const width of widths) {
    for (let seed = 0; seed < seeds; seed++) {
      for (const stage of ["init", "trained"] as const) {
        const path = files.join(stateDir, `w${width}-s${seed}-${stage}${stage === "trained" ? `-${settings.pretrainEpochs}` : ""}.json`);
        const saved = readState<{ settings: unknown; cells: QualityCell[] }>(files, path, { settings: "object", cells: "array" });
        const have = saved && sameSettings(saved.settings) ? saved.cells.filter((c) => specs.some((s) => s.label === c.label)) : [];
        const missing = specs.filter((s) => !have.some((c) => c.label === s.label));
        if (missing.length === 0) {
          cells.push(...specs.map((s) => have.find((c) => c.label === s.label)!));
          if (stage === "trained") {
            const summary = readState<PretrainSummary>(files, `${pretrainBase(files, stateDir, width, seed, settings.pretrainEpochs)}.json`, PRETRAIN_FIELDS);
            if (summary) pretraining.push(summary);
          }
          continue;
        }
        const scope = mark();
        let model: Mlp;
        if (stage === "init") model = createModel({ model: settings.model, width, depth: settings.depth, bias: settings.bias, seed }, data);
        else {
          const p = pretrained(data, settings, width, seed, stateDir, io);
          model = p.model;
          pretraining.push(p.summary);
        }
        const kept = [...have];
        const fresh = measureStage(model, data, settings, missing, width, seed, stage, log, (cell) => {
          kept.push(cell);
          files.write(path, json({ settings: stageSettings, commit, cells: kept }));
        });
        release(scope);
        cells.push(...specs.map((s) => have.find((c) => c.label === s.label) ?? fresh.find((c) => c.label === s.label)!));
      }
    }
  }
  const summary = qualitySummary(cells, specs, widths);
  // Wall time of this invocation, and of every measurement and pretraining it reports (over sessions).
  const measuredSeconds = cells.reduce((s, c) => s + c.seconds, 0) + pretraining.reduce((s, p) => s + p.seconds, 0);
  const report = { experiment: "quality-width", commit, settings: recorded, wallSeconds: (performance.now() - started) / 1000, measuredSeconds, pretraining, summary, cells };
  files.write(files.join(out, "quality-width.json"), json(report));
  // One colour per estimator; one guess solid, several averaged dotted, several projected dashed.
  const families = [...new Set(specs.map((s) => s.method))];
  for (const stage of ["init", "trained"] as const) {
    const series: Series[] = specs.map((spec) => {
      const rows = summary.filter((r) => r.label === spec.label && r.stage === stage && r.cosine !== null);
      const several = (spec.guesses ?? 1) > 1;
      return {
        name: spec.label, color: families.indexOf(spec.method), dashed: spec.combine === "project", dotted: several && spec.combine !== "project",
        points: rows.map((r) => [r.width, r.cosine!.mean] as [number, number]), spread: rows.map((r) => r.cosine!.std ?? 0),
      };
    }).filter((s) => s.points.length > 1);
    const title = stage === "init" ? "Gradient alignment vs width, at initialisation" : `Gradient alignment vs width, after ${settings.pretrainEpochs} epochs of backprop`;
    files.write(files.join(out, `quality-width-${stage}.svg`), lineChart(title, "width", "cosine with the true gradient (hidden layers)", series, undefined, { logX: true }));
  }
  return report;
}

/** Per (stage, width, label): the hidden layers' mean cosine and overlap, mean ± std over seeds. */
function qualitySummary(cells: QualityCell[], specs: MethodSpec[], widths: number[]) {
  const rows: Array<{ stage: string; width: number; label: string; cosine: Stat | null; cosineWeights: Stat | null; overlap: Stat | null; cosinePerLayer: (number | null)[] | null }> = [];
  for (const stage of ["init", "trained"]) {
    for (const width of widths) {
      for (const spec of specs) {
        const mine = cells.filter((c) => c.stage === stage && c.width === width && c.label === spec.label && c.layers);
        const of = (key: "cosine" | "overlap" | "cosineWeights") => {
          const values = mine.map((c) => hiddenLayerMean(c.layers!.map((l) => l[key]))).filter((v): v is number => v !== null);
          return values.length ? meanStd(values) : null;
        };
        const perLayer = mine.length ? mine[0].layers!.map((_, i) => {
          const values = mine.map((c) => c.layers![i].cosine).filter((v): v is number => v !== null);
          return values.length ? values.reduce((s, v) => s + v, 0) / values.length : null;
        }) : null;
        rows.push({ stage, width, label: spec.label, cosine: of("cosine"), cosineWeights: of("cosineWeights"), overlap: of("overlap"), cosinePerLayer: perLayer });
      }
    }
  }
  return rows;
}

/** The pair whose gap accuracy-width reports: the paper's claim is that W̃⊥'s lead over Wᵀ grows with width. */
const GAP = ["wperp", "wt"] as const;

export interface AccuracyRun {
  label: string;
  method: string;
  width: number;
  seed: number;
  config: TrainConfig;
  epochs: number;
  history: EpochReport[];
  seconds: number;
  weightsHash: string;
  /** Why the run ended before its epochs: a non-finite loss, or the time budget. */
  stopped: string | null;
  finished: boolean;
  /** The commit the run ended at (a run continued over sessions may have started at another). */
  commit?: string;
}

/** A run's folder in the state folder: <label>-w<width>-s<seed>, the label's colons as dashes. */
const runFolder = (files: StudyFiles, stateDir: string, label: string, width: number, seed: number) => files.join(stateDir, `${label.replace(/:/g, "-")}-w${width}-s${seed}`);

/** Whether two runs are the same but for their epoch count (which a continued run may raise). */
/** A config as text with its options in one place and every key sorted: equal for the same run however it was written. */
function canonical(config: TrainConfig): string {
  const sorted = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sorted((value as Record<string, unknown>)[key])]))
      : value;
  return JSON.stringify(sorted({ ...normalizeConfig(config), epochs: 0 }));
}
const sameRun = (a: TrainConfig, b: TrainConfig) => canonical(a) === canonical(b);

/**
 * Where a resumable training keeps its checkpoint (the binary form, which holds a state of any
 * width) and its progress (wall seconds so far). Studies begun before the binary form kept a text
 * checkpoint beside it (`legacy`), read when there is no binary one and removed once one is saved.
 */
interface ResumePaths {
  checkpoint: string;
  legacy: string;
  progress: string;
}

const resumePaths = (base: string): ResumePaths => ({ checkpoint: `${base}checkpoint.bin`, legacy: `${base}checkpoint.json`, progress: `${base}progress.json` });

/** Saves a training's checkpoint and its progress together. */
function saveProgress(files: StudyFiles, paths: ResumePaths, trainer: Trainer, seconds: number): void {
  files.write(paths.checkpoint, encodeCheckpoint(trainer.state()));
  files.write(paths.progress, json({ seconds, epoch: trainer.epoch }));
  files.remove(paths.legacy);
}

const CHECKPOINT_SECONDS = 60;

/**
 * A trainer for `config`, continued from the checkpoint at `paths` if there is one (it must be of the
 * same run), with the wall seconds spent on it so far.
 */
function resumeTrainer(data: Dataset, config: TrainConfig, paths: ResumePaths, runName: string, { files, log }: StudyContext): { trainer: Trainer; seconds: number } {
  const path = [paths.checkpoint, paths.legacy].find((p) => files.exists(p));
  if (!path) return { trainer: new Trainer(data, config), seconds: 0 };
  let resume;
  try {
    resume = parseCheckpoint(files.readBytes(path));
  } catch (error) {
    if (error instanceof FwdgradError) throw new FwdgradError(`${path}: ${error.message}; remove it to start ${runName} again`);
    throw error;
  }
  if (!sameRun(resume.config, config)) throw new FwdgradError(`${path}: a checkpoint of another configuration; remove it to start ${runName} again`);
  log(`  ${runName}: continuing from epoch ${resume.epoch}`);
  return { trainer: new Trainer(data, config, resume), seconds: readState<{ seconds: number }>(files, paths.progress, { seconds: "number" })?.seconds ?? 0 };
}

/**
 * Trains to the run's epochs, or until `maxSeconds` of its own wall time (over sessions), saving a
 * checkpoint at least once a minute and at the end. Returns the seconds so far and why the budget
 * stopped it, if it did (a fault is the trainer's own `stopped`).
 */
function trainResumable(trainer: Trainer, seconds: number, maxSeconds: number, paths: ResumePaths, files: StudyFiles, onEpoch: (report: EpochReport, seconds: number) => void): { seconds: number; budgetStop: string | null } {
  let budgetStop: string | null = null;
  let lastSave = performance.now();
  let since = performance.now();
  while (trainer.epoch < trainer.config.epochs) {
    if (seconds >= maxSeconds) {
      budgetStop = `time budget of ${(maxSeconds / 60).toFixed(0)} min reached after ${trainer.epoch} epochs`;
      break;
    }
    const report = trainer.runEpoch();
    const now = performance.now();
    seconds += (now - since) / 1000;
    since = now;
    if (!report) break;
    onEpoch(report, seconds);
    if ((now - lastSave) / 1000 >= CHECKPOINT_SECONDS) {
      saveProgress(files, paths, trainer, seconds);
      lastSave = performance.now();
      since = lastSave;
    }
  }
  saveProgress(files, paths, trainer, seconds);
  return { seconds, budgetStop };
}

/**
 * An accuracy-width run's config: configFrom's, and for W̃⊥ a warm-start budget that keeps every
 * training example's block where the default would not (from width 1024 at depth 3), so each example
 * is warm-started at every width, as at 512 and below; set only there, so narrower runs' configs
 * are unchanged.
 */
export function accuracyConfig(data: Dataset, settings: RunSettings, spec: MethodSpec, width: number, seed: number): TrainConfig {
  const config = configFrom(settings, spec, width, seed);
  if (!keepsWarmStarts(spec.method)) return config;
  const block = warmStartBlock(spec.method, resolveOptions(spec.method, methodOptions(spec.method), estimatorOptions(config)));
  if (!block) return config;
  const needed = warmStartBytesFor(modelSizes(config, data), data.train.n, block.k, block.oversample);
  return needed > DEFAULT_WARM_START_BYTES ? { ...config, options: { warmStartBytes: needed } } : config;
}

/** One accuracy-width run: its finished result, or training from its checkpoint (or the start) on. */
function accuracyRun(data: Dataset, config: TrainConfig, label: string, maxSeconds: number, stateDir: string, io: StudyContext): AccuracyRun {
  const { files, log } = io;
  const dir = runFolder(files, stateDir, label, config.width, config.seed);
  files.makeFolder(dir);
  const done = readState<AccuracyRun>(files, files.join(dir, "result.json"), RUN_FIELDS);
  if (done && sameRun(done.config, config) && (done.epochs >= config.epochs || done.stopped !== null) && done.epochs <= config.epochs) return done;
  const paths = resumePaths(`${dir}/`);
  const runName = `${label} w${config.width} s${config.seed}`;
  const { trainer, seconds: before } = resumeTrainer(data, config, paths, runName, io);
  const { seconds, budgetStop } = trainResumable(trainer, before, maxSeconds, paths, files, (report, elapsed) => {
    if (trainer.epoch % Math.max(1, Math.floor(config.epochs / 10)) === 0) log(`  ${runName}: epoch ${trainer.epoch}/${config.epochs}, train ${(report.trainAcc * 100).toFixed(1)}%, ${elapsed.toFixed(0)} s`);
  });
  const run: AccuracyRun = {
    label, method: config.method, width: config.width, seed: config.seed, config, epochs: trainer.epoch, history: trainer.history, seconds,
    weightsHash: trainer.weightsHash(), stopped: trainer.stopped ?? budgetStop, finished: trainer.epoch >= config.epochs, commit: io.commit,
  };
  files.write(files.join(dir, "result.json"), json(run));
  return run;
}

/**
 * accuracy-width: every spec at every width and seed for `epochs` epochs (or until `maxMinutes` of
 * its own wall time, over sessions), resumable; writes accuracy-width.json (per width and spec the
 * final train and test accuracy, mean ± std over seeds; the W̃⊥ − Wᵀ gap per width, paired by
 * seed) and accuracy-width.svg.
 */
export function accuracyWidth(data: Dataset, settings: AccuracyWidthSettings, specs: MethodSpec[], widths: number[], out: string, io: StudyContext) {
  const { files } = io;
  const stateDir = files.join(out, "accuracy-width");
  files.makeFolder(stateDir);
  const seeds = settings.seeds;
  const maxSeconds = settings.maxMinutes === undefined ? Infinity : settings.maxMinutes * 60;
  const started = performance.now();
  for (const width of widths) {
    for (const spec of specs) {
      for (let seed = 0; seed < seeds; seed++) accuracyRun(data, accuracyConfig(data, settings, spec, width, seed), spec.label, maxSeconds, stateDir, io);
    }
  }
  // Every run of the state folder under these settings, so separate invocations (say, width 2048
  // with one seed) add up to one table.
  const runs: AccuracyRun[] = [];
  for (const width of new Set([...widths, ...savedWidths(files, stateDir)])) {
    for (const spec of specs) {
      for (let seed = 0; ; seed++) {
        const run = readState<AccuracyRun>(files, files.join(runFolder(files, stateDir, spec.label, width, seed), "result.json"), RUN_FIELDS);
        if (!run) break;
        const expected = accuracyConfig(data, settings, spec, width, seed);
        if (sameRun(run.config, expected) && run.config.epochs === expected.epochs) runs.push(run);
      }
    }
  }
  const allWidths = [...new Set(runs.map((r) => r.width))].sort((a, b) => a - b);
  const finalOf = (r: AccuracyRun) => r.history[r.history.length - 1];
  const cells = allWidths.flatMap((width) => specs.map((spec) => {
    const mine = runs.filter((r) => r.width === width && r.label === spec.label && finalOf(r));
    return {
      width, label: spec.label, seeds: mine.map((r) => r.seed), epochs: mine.map((r) => r.epochs),
      train: mine.length ? meanStd(mine.map((r) => finalOf(r).trainAcc)) : null, test: mine.length ? meanStd(mine.map((r) => finalOf(r).testAcc)) : null,
      secondsPerRun: mine.length ? meanStd(mine.map((r) => r.seconds)).mean : null, stopped: mine.map((r) => r.stopped),
    };
  }));
  // The W̃⊥ − Wᵀ gap in train accuracy, per width, paired by seed, at the last epoch both runs of
  // the pair reached: a run stopped by its time budget (width 2048) is compared with the other
  // method's run at the same epoch, not with its end.
  const [ahead, behind] = GAP;
  const gaps = allWidths.map((width) => {
    const pairs = runs.filter((r) => r.width === width && r.label === ahead).flatMap((a) => {
      const b = runs.find((r) => r.width === width && r.label === behind && r.seed === a.seed);
      const epoch = Math.min(a.history.length, b?.history.length ?? 0);
      return b && epoch > 0 ? [{ epoch, gap: a.history[epoch - 1].trainAcc - b.history[epoch - 1].trainAcc }] : [];
    });
    return { width, epochs: pairs.map((p) => p.epoch), wperpMinusWt: pairs.length ? meanStd(pairs.map((p) => p.gap)) : null };
  });
  const recorded = { model: settings.model ?? "mlp", bias: settings.bias ?? false, widths: allWidths, seeds, epochs: settings.epochs, maxMinutes: settings.maxMinutes ?? null, depth: settings.depth, k: settings.k, lr: settings.lr, batch: settings.batch, methods: specs.map((s) => s.label) };
  // Wall time of this invocation, and the runs' own training time (over sessions).
  const runSeconds = runs.reduce((s, r) => s + r.seconds, 0);
  const report = { experiment: "accuracy-width", commit: io.commit, settings: recorded, wallSeconds: (performance.now() - started) / 1000, runSeconds, cells, gaps, runs };
  files.write(files.join(out, "accuracy-width.json"), json(report));
  const series: Series[] = specs.map((spec) => {
    const rows = cells.filter((c) => c.label === spec.label && c.train);
    return { name: spec.label, dashed: spec.combine === "project", points: rows.map((c) => [c.width, c.train!.mean] as [number, number]), spread: rows.map((c) => c.train!.std ?? 0) };
  }).filter((s) => s.points.length > 0);
  const short = cells.filter((c) => c.epochs.some((e) => e < settings.epochs)).map((c) => `${c.label} w${c.width}: ${c.epochs.join("/")}`);
  const title = `Train accuracy vs width after ${settings.epochs} epochs${short.length ? ` (time budget: ${short.join(", ")})` : ""}`;
  files.write(files.join(out, "accuracy-width.svg"), lineChart(title, "width", "train accuracy", series, [0, 1], { logX: true }));
  return report;
}

/**
 * The W̃⊥ paper's tables (`reproduce table1|table3|table4`): every spec at every width and seed for
 * `epochs` epochs, resumable as accuracy-width's runs are (each run's folder under <out>/<name>/, a
 * checkpoint at least once a minute), so a table longer than a session is finished by running the
 * same command again. Returns the runs, in width, spec, seed order.
 */
export function tableRuns(data: Dataset, settings: RunSettings & { seeds: number }, name: string, specs: MethodSpec[], widths: number[], out: string, io: StudyContext): AccuracyRun[] {
  const stateDir = io.files.join(out, name);
  io.files.makeFolder(stateDir);
  return widths.flatMap((width) => specs.flatMap((spec) =>
    Array.from({ length: settings.seeds }, (_, seed) => accuracyRun(data, accuracyConfig(data, settings, spec, width, seed), spec.label, Infinity, stateDir, io))));
}

/** Widths with a run folder in the state folder (named <label>-w<width>-s<seed>). */
function savedWidths(files: StudyFiles, stateDir: string): number[] {
  const names = files.list(stateDir);
  return names.map((n) => /-w(\d+)-s\d+$/.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
}

/** One training run of `fwdgrad compare` and the paper's tables, with its quality probes. */
export interface RunResult {
  method: string;
  /** The --methods entry it ran as (e.g. "wperp:project:10"). */
  label: string;
  width: number;
  seed: number;
  history: EpochReport[];
  /**
   * Per measurement: epoch, per-layer cosine and overlap, and the guess basis's energy ratio and
   * subspace agreement (mean and min over 64 examples; null where they do not apply).
   */
  quality: Array<{
    epoch: number; cosine: (number | null)[]; overlap: (number | null)[];
    energyRatio: (number | null)[]; energyRatioMin: (number | null)[]; subspaceAgreement: (number | null)[]; subspaceAgreementMin: (number | null)[];
  }>;
  seconds: number;
  weightsHash: string;
  stopped: string | null;
}

/** Trains one method; measures gradient quality on a fixed batch every `qualityEvery` epochs. */
export function runOne(data: Dataset, config: TrainConfig, qualityEvery: number, log: (line: string) => void, label = config.method): RunResult {
  const trainer = new Trainer(data, config);
  const quality: RunResult["quality"] = [];
  const measure = () => {
    const layers = qualityEvery === 0 ? null : trainer.probeQuality({ rows: 512, draws: 3, rng: rng(config.seed).split(7) });
    if (!layers) return;
    const fidelity = trainer.probeBasisFidelity({ rows: 512, examples: 64, rng: rng(config.seed).split(8) });
    const pick = (key: Exclude<keyof LayerFidelity, "layer">) => layers.map((_, i) => fidelity?.[i][key] ?? null);
    quality.push({
      epoch: trainer.epoch, cosine: layers.map((l) => l.cosine), overlap: layers.map((l) => l.overlap),
      energyRatio: pick("energyRatio"), energyRatioMin: pick("energyRatioMin"), subspaceAgreement: pick("subspaceAgreement"), subspaceAgreementMin: pick("subspaceAgreementMin"),
    });
  };
  const started = performance.now();
  measure();
  while (trainer.epoch < config.epochs) {
    const survived = trainer.threadFaults.length;
    const report = trainer.runEpoch();
    for (const fault of trainer.threadFaults.slice(survived)) log(`  ${label} w${config.width} s${config.seed}: ${fault}`);
    if (!report) break;
    if (qualityEvery > 0 && trainer.epoch % qualityEvery === 0) measure();
    if (trainer.epoch % Math.max(1, Math.floor(config.epochs / 10)) === 0 || trainer.epoch === config.epochs) {
      log(`  ${label} w${config.width} s${config.seed}: epoch ${report.epoch}/${config.epochs}, train ${(report.trainAcc * 100).toFixed(1)}%, test ${(report.testAcc * 100).toFixed(1)}%`);
    }
  }
  return {
    method: config.method, label, width: config.width, seed: config.seed, history: trainer.history, quality,
    seconds: (performance.now() - started) / 1000, weightsHash: trainer.weightsHash(), stopped: trainer.stopped,
  };
}
