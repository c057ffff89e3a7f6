// What a training run needs of memory, known before any work: the engine's heap (parameters, then
// the larger of one step and one evaluation pass, and the kernels' per-thread scratch) and the host's
// arrays beside it (AdamW's moments, the epoch's snapshot, the estimator's cross-step state). Each
// method declares its step's term (estimators/index.ts methodWorkingSet, from each estimator's own
// `workingSet` rule); tests/train/memory.test.ts holds every method's estimate against the measured peak.
import { GEMM_SCRATCH_F32 } from "../kernels-as/shared.ts";
import { engineInfo } from "../engine/backend.ts";
import { heapLimitBytes } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { F32, keepsWarmStarts, methodOptions, methodWorkingSet, parameterCount, warmStartBlock } from "../estimators/index.ts";
import { resolveOptions } from "../estimators/options.ts";
import { warmStartBytesFor } from "../estimators/wperp/warm-starts.ts";
import { PATCH_FLOATS } from "../engine/conv.ts";
import { estimatorOptions, modelSizes, type TrainConfig } from "./trainer.ts";

/** Rows the trainer evaluates at once (Trainer.evaluate's chunk). */
export const EVALUATION_ROWS = 1000;

/** A run's memory, in bytes. */
export interface WorkingSet {
  /** The engine's heap at its peak: `parameters` + the largest of `step`, `evaluation` + `scratch`. */
  bytes: number;
  /** The model's weights (and biases). */
  parameters: number;
  /** One training step: gradients, the pass's values and tangents, the estimator's scratch. */
  step: number;
  /** One evaluation chunk (up to 1000 rows) of the forward pass. */
  evaluation: number;
  /** The kernels' packing and decomposition scratch, per thread. */
  scratch: number;
  /** Host arrays outside the engine: AdamW's two moments, the epoch's snapshot, the estimator's kept state. */
  host: number;
}

/** The sizes of a data set the estimate needs: its shape and, where known, its splits' rows. */
export interface DataShape {
  /** Features per row (the model's inputs). */
  features: number;
  /** The model's outputs: classes, or regression targets. */
  classes: number;
  /** The training split's row count `n`, where known. */
  train?: { n: number };
  /** The test split's row count `n`, where known. */
  test?: { n: number };
}

/**
 * The memory a training run with `config` on `data` needs, on `threads` threads (default: the
 * engine's, else 1), before anything is allocated.
 * @throws {FwdgradError} when the config names an unknown method or option.
 * @example
 * ```ts
 * trainingWorkingSet({ method: "wt", width: 11000, depth: 3, epochs: 1, batch: 512, lr: 1e-4, seed: 0 }, { features: 40, classes: 10 }).bytes; // ≈ 2.4e9: fits the 4 GiB heap
 * ```
 */
export function trainingWorkingSet(config: TrainConfig, data: DataShape, threads: number = engineThreads()): WorkingSet {
  const sizes = modelSizes(config, data);
  const options = estimatorOptions(config);
  const count = parameterCount(sizes);
  const parameters = F32 * count;
  const step = methodWorkingSet(config.method, sizes, config.batch, options, threads);
  const rows = Math.min(EVALUATION_ROWS, Math.max(data.train?.n ?? EVALUATION_ROWS, data.test?.n ?? 0));
  const units = sizes.slice(1).reduce((a, b) => a + b, 0);
  const evaluation = F32 * rows * (sizes[0] + 3 * units + 2 * data.classes);
  // Initialisation draws a layer, scales and shifts it before keeping the result.
  const largest = Math.max(...sizes.slice(1).map((out, i) => out * (sizes[i] + 1)));
  // A CNN's convolutions lower in chunks of patches (patches and product rows), and the estimators
  // that take a next layer's map as a matrix build it from an identity of its input's size.
  const convs = config.model === "cnn" ? sizes.slice(1, -1).map((d, i) => sizes[i + 2] * d + d * d) : [];
  const lowering = convs.length > 0 ? F32 * (2 * PATCH_FLOATS + Math.max(...convs)) : 0;
  const scratch = F32 * threads * GEMM_SCRATCH_F32 + 2 ** 16 + lowering;
  let host = 5 * parameters + F32 * config.batch * sizes[0];
  if (keepsWarmStarts(config.method)) {
    const resolved = resolveOptions(config.method, methodOptions(config.method), options) as Record<string, number | string>;
    const block = warmStartBlock(config.method, resolved);
    if (block) host += 2 * Math.min(resolved.warmStartBytes as number, warmStartBytesFor(sizes, data.train?.n ?? 0, block.k, block.oversample));
  }
  return { bytes: parameters + Math.max(step, evaluation, 2 * F32 * largest) + scratch, parameters, step, evaluation, scratch, host };
}

function engineThreads(): number {
  try {
    return engineInfo().threads;
  } catch {
    return 1;
  }
}

/** The engine heap's limit (heapLimitBytes), or 4 GiB less its base before `ready()`. */
function engineLimit(): number {
  try {
    return heapLimitBytes();
  } catch {
    return 2 ** 32 - 2 ** 16;
  }
}

const gib = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

/** The largest value in [1, from) of a knob for which `fits` holds, or 0. */
function largestFitting(from: number, fits: (value: number) => boolean): number {
  let lo = 0, hi = from;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Refuses, with a FwdgradError before any work, a run whose heap estimate (`trainingWorkingSet`)
 * passes the engine's limit (`limit`, default `heapLimitBytes()`): the message names the bytes
 * needed, the limit, and the largest width, batch, guesses or depth that would fit.
 * @throws {FwdgradError} when the run would not fit in `limit` bytes, or the config names an unknown method or option.
 */
export function checkWorkingSet(config: TrainConfig, data: DataShape, limit: number = engineLimit(), threads: number = engineThreads()): WorkingSet {
  const need = trainingWorkingSet(config, data, threads);
  if (need.bytes <= limit) return need;
  const fits = (change: Partial<TrainConfig> & { guesses?: number }) => {
    const { guesses, ...rest } = change;
    const changed = { ...config, ...rest, ...(guesses ? { options: { ...estimatorOptions(config), guesses } } : {}) };
    return trainingWorkingSet(changed, data, threads).bytes <= limit;
  };
  const guesses = Number(estimatorOptions(config).guesses ?? 1);
  const lower = [
    ["width", largestFitting(config.width, (width) => fits({ width }))],
    ["batch", largestFitting(config.batch, (batch) => fits({ batch }))],
    ["guesses", guesses > 1 ? largestFitting(guesses, (g) => fits({ guesses: g })) : 0],
    ["depth", config.depth > 1 ? largestFitting(config.depth, (depth) => fits({ depth })) : 0],
  ].filter(([, value]) => (value as number) > 0).map(([name, value]) => `${name} to ${value}`);
  const parts = `parameters ${gib(need.parameters)}, one step ${gib(need.step)}, evaluation ${gib(need.evaluation)}`;
  throw new FwdgradError(
    `train: ${config.method} at width ${config.width}, depth ${config.depth}, batch ${config.batch} needs about ${gib(need.bytes)} of engine memory (${parts}), ` +
      `more than its limit of ${gib(limit)}; ${lower.length ? `lower the ${lower.join(", or the ")}` : "no smaller width, batch or depth fits"}`,
  );
}
