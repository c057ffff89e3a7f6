// Checkpoints as JSON text: the trainer's whole state, binary arrays as base64 of their f32 bytes, a
// format name and version, and an FNV-1a checksum of every binary part. `parseCheckpoint` checks the
// whole file against its schema before anything is built from it, so a damaged or forged file gets
// one line naming the field at fault; the Trainer then checks it against its model and data.
import { decodeBase64, encodeBase64 } from "../engine/base64.ts";
import { FwdgradError } from "../engine/errors.ts";
import { COMBINES, isMethodId, type Combine, type EstimatorOptions, type EstimatorState } from "../estimators/index.ts";
import { hashBytes, type DataIdentity, type EpochReport, type TrainConfig, type TrainerState } from "./trainer.ts";

const FORMAT = "fwdgrad-checkpoint";
const VERSION = 2;
const HASH = /^[0-9a-f]{16}$/;

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Every binary part in the order the checksum reads them (estimator arrays by sorted name). */
function binaryParts(weights: Float32Array[], buffers: Float32Array[], estimator: EstimatorState | null): Float32Array[] {
  const named = estimator ? Object.keys(estimator.arrays).sort().map((key) => estimator.arrays[key]) : [];
  return [...weights, ...buffers, ...named];
}

/** A checkpoint as JSON text; `parseCheckpoint` reads it back. */
export function serializeCheckpoint(state: TrainerState): string {
  const encode = (a: Float32Array) => encodeBase64(bytesOf(a));
  const estimator = state.estimator;
  return JSON.stringify({
    format: FORMAT,
    version: VERSION,
    config: state.config,
    data: state.data,
    epoch: state.epoch,
    step: state.step,
    history: state.history,
    weights: state.weights.map(encode),
    optimizer: { step: state.optimizer.step, powers: state.optimizer.powers ?? null, buffers: state.optimizer.buffers.map(encode) },
    estimator: estimator && { numbers: estimator.numbers, arrays: Object.fromEntries(Object.entries(estimator.arrays).map(([key, a]) => [key, encode(a)])) },
    checksum: hashBytes(binaryParts(state.weights, state.optimizer.buffers, estimator).map(bytesOf)),
  });
}

/** Readers of one JSON value that name its path in their errors. */
function fail(path: string, why: string): never {
  throw new FwdgradError(`checkpoint: ${path} ${why}`);
}

const describe = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"` : typeof v === "object" ? "an object" : String(v));

function object(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(path, `must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function only(o: Record<string, unknown>, path: string, keys: string[]): void {
  const extra = Object.keys(o).find((key) => !keys.includes(key));
  if (extra !== undefined) fail(`${path}.${extra}`, `is not a checkpoint field (expected ${keys.join(", ")})`);
}

function integer(v: unknown, path: string, min = 0): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) fail(path, `must be an integer ≥ ${min}, got ${describe(v)}`);
  return v;
}

function finite(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, `must be a finite number, got ${describe(v)}`);
  return v;
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `must be an array, got ${describe(v)}`);
  return v;
}

/** f32 values from base64 text: whole floats, all finite. */
function floats(v: unknown, path: string): Float32Array {
  if (typeof v !== "string") fail(path, `must be base64 text, got ${describe(v)}`);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = decodeBase64(v);
  } catch {
    fail(path, "is not valid base64");
  }
  if (bytes.length % 4 !== 0) fail(path, `holds ${bytes.length} bytes, not a whole number of f32 values`);
  const values = new Float32Array(bytes.buffer);
  const bad = values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) fail(path, `holds ${values[bad]} at index ${bad}`);
  return values;
}

function parseConfig(v: unknown): TrainConfig {
  const c = object(v, "config");
  only(c, "config", ["method", "width", "depth", "bias", "epochs", "batch", "lr", "weightDecay", "seed", "k", "guesses", "combine", "route", "options"]);
  const method = c.method;
  if (!isMethodId(method)) fail("config.method", `must be a gradient method (backprop or an estimator id), got ${describe(method)}`);
  const lr = finite(c.lr, "config.lr");
  if (!(lr > 0)) fail("config.lr", `must be positive, got ${lr}`);
  const config: TrainConfig = {
    method,
    width: integer(c.width, "config.width", 1),
    depth: integer(c.depth, "config.depth", 1),
    epochs: integer(c.epochs, "config.epochs"),
    batch: integer(c.batch, "config.batch", 1),
    lr,
    seed: integer(c.seed, "config.seed"),
  };
  if (c.bias !== undefined) {
    if (typeof c.bias !== "boolean") fail("config.bias", `must be true or false, got ${describe(c.bias)}`);
    config.bias = c.bias;
  }
  if (c.weightDecay !== undefined) {
    const decay = finite(c.weightDecay, "config.weightDecay");
    if (decay < 0) fail("config.weightDecay", `must be ≥ 0, got ${decay}`);
    config.weightDecay = decay;
  }
  if (c.k !== undefined) config.k = integer(c.k, "config.k", 1);
  if (c.guesses !== undefined) config.guesses = integer(c.guesses, "config.guesses", 1);
  if (c.combine !== undefined) {
    if (!COMBINES.includes(c.combine as Combine)) fail("config.combine", `must be ${COMBINES.map((m) => JSON.stringify(m)).join(" or ")}, got ${describe(c.combine)}`);
    config.combine = c.combine as Combine;
  }
  if (c.route !== undefined) {
    if (c.route !== "fast" && c.route !== "exact") fail("config.route", `must be "fast" or "exact", got ${describe(c.route)}`);
    config.route = c.route;
  }
  if (c.options !== undefined) {
    // Values are judged by the estimator when the Trainer makes it; here only their JSON types.
    const options: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(object(c.options, "config.options"))) {
      if (typeof value === "string") options[key] = value;
      else options[key] = finite(value, `config.options.${key}`);
    }
    config.options = options as EstimatorOptions;
  }
  return config;
}

function parseData(v: unknown): DataIdentity {
  const d = object(v, "data");
  only(d, "data", ["features", "classes", "trainRows", "testRows", "fingerprint"]);
  if (typeof d.fingerprint !== "string" || !HASH.test(d.fingerprint)) fail("data.fingerprint", `must be 16 hex digits, got ${describe(d.fingerprint)}`);
  return {
    features: integer(d.features, "data.features", 1),
    classes: integer(d.classes, "data.classes", 1),
    trainRows: integer(d.trainRows, "data.trainRows", 1),
    testRows: integer(d.testRows, "data.testRows", 1),
    fingerprint: d.fingerprint,
  };
}

function parseHistory(v: unknown, epochs: number): EpochReport[] {
  const entries = array(v, "history");
  if (entries.length !== epochs) fail("history", `has ${entries.length} entries for ${epochs} epochs`);
  return entries.map((entry, i) => {
    const path = `history[${i}]`;
    const e = object(entry, path);
    only(e, path, ["epoch", "trainLoss", "trainAcc", "testAcc", "ms", "testLoss"]);
    if (e.epoch !== i + 1) fail(`${path}.epoch`, `must be ${i + 1}, got ${describe(e.epoch)}`);
    return {
      epoch: i + 1,
      trainLoss: finite(e.trainLoss, `${path}.trainLoss`),
      trainAcc: finite(e.trainAcc, `${path}.trainAcc`),
      testAcc: finite(e.testAcc, `${path}.testAcc`),
      ms: finite(e.ms, `${path}.ms`),
      testLoss: finite(e.testLoss, `${path}.testLoss`),
    };
  });
}

function parseEstimator(v: unknown): EstimatorState | null {
  if (v === null) return null;
  const e = object(v, "estimator");
  only(e, "estimator", ["numbers", "arrays"]);
  // Null-prototype records: a key like "__proto__" stays a plain entry.
  const numbers: Record<string, number[]> = Object.create(null);
  for (const [key, values] of Object.entries(object(e.numbers, "estimator.numbers"))) {
    numbers[key] = array(values, `estimator.numbers.${key}`).map((x, i) => finite(x, `estimator.numbers.${key}[${i}]`));
  }
  const arrays: Record<string, Float32Array> = Object.create(null);
  for (const [key, text] of Object.entries(object(e.arrays, "estimator.arrays"))) arrays[key] = floats(text, `estimator.arrays.${key}`);
  return { numbers, arrays };
}

/**
 * The trainer state in a checkpoint written by `serializeCheckpoint`, for `new Trainer(data, config,
 * state)`. Throws a FwdgradError naming the first field at fault; nothing is built from a bad file.
 */
export function parseCheckpoint(text: string): TrainerState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FwdgradError("checkpoint: not valid JSON");
  }
  const raw = object(parsed, "the file");
  if (raw.format === "fwdgrad-checkpoint-1") throw new FwdgradError("checkpoint: format 1 (written by an earlier fwdgrad, without the estimator's state) cannot be resumed exactly; train anew");
  if (raw.format !== FORMAT) throw new FwdgradError(`checkpoint: unknown format ${JSON.stringify(raw.format)}, expected ${FORMAT}`);
  if (raw.version !== VERSION) fail("version", `must be ${VERSION}, got ${describe(raw.version)}`);
  only(raw, "the file", ["format", "version", "config", "data", "epoch", "step", "history", "weights", "optimizer", "estimator", "checksum"]);
  const config = parseConfig(raw.config);
  const data = parseData(raw.data);
  const epoch = integer(raw.epoch, "epoch");
  const step = integer(raw.step, "step");
  const stepsPerEpoch = Math.ceil(data.trainRows / config.batch);
  if (step !== epoch * stepsPerEpoch) fail("step", `is ${step}, but ${epoch} epochs of ${stepsPerEpoch} steps make ${epoch * stepsPerEpoch}`);
  const history = parseHistory(raw.history, epoch);
  const weights = array(raw.weights, "weights").map((w, i) => floats(w, `weights[${i}]`));
  const o = object(raw.optimizer, "optimizer");
  only(o, "optimizer", ["step", "powers", "buffers"]);
  const optimizerStep = integer(o.step, "optimizer.step");
  if (optimizerStep !== step) fail("optimizer.step", `is ${optimizerStep}, the run's step ${step}`);
  const buffers = array(o.buffers, "optimizer.buffers").map((b, i) => floats(b, `optimizer.buffers[${i}]`));
  let powers: [number, number] | undefined;
  if (o.powers !== null && o.powers !== undefined) {
    const p = array(o.powers, "optimizer.powers").map((x, i) => finite(x, `optimizer.powers[${i}]`));
    if (p.length !== 2 || !p.every((x) => x >= 0 && x <= 1)) fail("optimizer.powers", `must be [β₁ᵗ, β₂ᵗ] in [0, 1], got ${JSON.stringify(p)}`);
    powers = [p[0], p[1]];
  }
  const estimator = parseEstimator(raw.estimator ?? null);
  if (typeof raw.checksum !== "string" || !HASH.test(raw.checksum)) fail("checksum", `must be 16 hex digits, got ${describe(raw.checksum)}`);
  const checksum = hashBytes(binaryParts(weights, buffers, estimator).map(bytesOf));
  if (checksum !== raw.checksum) fail("checksum", `is ${raw.checksum}, but the arrays hash to ${checksum}: the file is damaged`);
  return { config, data, epoch, step, history, weights, optimizer: { step: optimizerStep, buffers, ...(powers ? { powers } : {}) }, estimator };
}
