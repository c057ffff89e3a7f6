// Checkpoints: the trainer's whole state, a format name and version, and an FNV-1a checksum of every
// binary part, in two forms. The text form (version 2) is one JSON value with the arrays as base64
// of their f32 bytes. A JavaScript string holds at most 2^29 − 24 characters (V8), which a wide
// model's state passes (width 4096: 405 MB of weights and AdamW moments), so the binary form
// (version 3) keeps the same JSON as a header line with each array's length in its place, followed
// by the arrays' raw bytes in the header's order. `parseCheckpoint` reads both and checks the whole
// file against its schema before anything is built from it, so a damaged or forged file gets one
// line naming the field at fault; the Trainer then checks it against its model and data.
import { decodeBase64, encodeBase64 } from "../engine/base64.ts";
import { FwdgradError } from "../engine/errors.ts";
import { COMBINES, isMethodId, methodOptions, type Combine, type EstimatorOptions, type EstimatorState } from "../estimators/index.ts";
import { resolveOptions } from "../estimators/options.ts";
import { LOSS_IDS, type LossId } from "../models/loss.ts";
import { hashBytes, MODEL_KINDS, type DataIdentity, type EpochReport, type ModelKind, type TrainConfig, type TrainerState } from "./trainer.ts";

const FORMAT = "fwdgrad-checkpoint";
const VERSION = 2;
const BINARY_VERSION = 3;
const HASH = /^[0-9a-f]{16}$/;
/** Characters the text form may take: V8's string limit (2^29 − 24) less room for the JSON around the arrays. */
const MAX_TEXT = 2 ** 29 - 2 ** 22;

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Every binary part in the order the checksum reads them (estimator arrays by sorted name). */
function binaryParts(weights: Float32Array[], buffers: Float32Array[], estimator: EstimatorState | null): Float32Array[] {
  const named = estimator ? Object.keys(estimator.arrays).sort().map((key) => estimator.arrays[key]) : [];
  return [...weights, ...buffers, ...named];
}

/** The checkpoint's JSON fields, each array written by `array` (its base64, or its length). */
function checkpointFields(state: TrainerState, version: number, array: (a: Float32Array) => string | number) {
  const estimator = state.estimator;
  return {
    format: FORMAT,
    version,
    config: state.config,
    data: state.data,
    epoch: state.epoch,
    step: state.step,
    history: state.history,
    weights: state.weights.map(array),
    optimizer: { step: state.optimizer.step, powers: state.optimizer.powers ?? null, buffers: state.optimizer.buffers.map(array) },
    estimator: estimator && { numbers: estimator.numbers, arrays: Object.fromEntries(Object.entries(estimator.arrays).map(([key, a]) => [key, array(a)])) },
    checksum: hashBytes(binaryParts(state.weights, state.optimizer.buffers, estimator).map(bytesOf)),
  };
}

/** The arrays in the order the binary form stores them: as its header lists them. */
function headerOrder(state: TrainerState): Float32Array[] {
  return [...state.weights, ...state.optimizer.buffers, ...(state.estimator ? Object.values(state.estimator.arrays) : [])];
}

/**
 * Whether `state` fits the text form (base64 takes 4 characters per 3 bytes).
 * @example
 * ```ts
 * const text = fitsTextCheckpoint(trainer.state()) ? serializeCheckpoint(trainer.state()) : null;
 * ```
 */
export function fitsTextCheckpoint(state: TrainerState): boolean {
  return headerOrder(state).reduce((n, a) => n + 4 * Math.ceil(a.byteLength / 3), 0) <= MAX_TEXT;
}

/**
 * A checkpoint as JSON text (the text form); `parseCheckpoint` reads it back. A state too large for
 * one string (`fitsTextCheckpoint`) is refused: write the binary form, `encodeCheckpoint`.
 * @throws {FwdgradError} when the state is too large for one string.
 * @example
 * ```ts
 * const trainer = new Trainer(generateMnist1d({ numSamples: 100 }), { method: "wt", width: 8, depth: 2, epochs: 1, batch: 10, lr: 1e-3, seed: 0 });
 * trainer.runEpoch();
 * const resumed = new Trainer(generateMnist1d({ numSamples: 100 }), trainer.config, parseCheckpoint(serializeCheckpoint(trainer.state())));
 * ```
 */
export function serializeCheckpoint(state: TrainerState): string {
  if (!fitsTextCheckpoint(state)) {
    const megabytes = headerOrder(state).reduce((n, a) => n + a.byteLength, 0) / 2 ** 20;
    throw new FwdgradError(`checkpoint: the state's arrays take ${megabytes.toFixed(0)} MiB, more than JSON text can carry in one string; use the binary form (encodeCheckpoint)`);
  }
  return JSON.stringify(checkpointFields(state, VERSION, (a) => encodeBase64(bytesOf(a))));
}

/**
 * A checkpoint in the binary form, as chunks to write one after another (the arrays are not copied):
 * a JSON header line, then every array's f32 bytes, little-endian as in WebAssembly memory.
 * `parseCheckpoint` reads the joined bytes back.
 * @example
 * ```ts
 * const chunks = encodeCheckpoint(trainer.state()); // write them to a file one after another
 * const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
 * chunks.reduce((at, c) => (joined.set(c, at), at + c.length), 0);
 * const state = parseCheckpoint(joined);
 * ```
 */
export function encodeCheckpoint(state: TrainerState): Uint8Array[] {
  const header = new TextEncoder().encode(`${JSON.stringify(checkpointFields(state, BINARY_VERSION, (a) => a.length))}\n`);
  return [header, ...headerOrder(state).map(bytesOf)];
}

/** Readers of one JSON value that name its path in their errors: one line, whatever a forged key or value holds. */
function fail(path: string, why: string): never {
  const oneLine = `${path} ${why}`.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  throw new FwdgradError(`checkpoint: ${oneLine}`);
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

/** Reads one array field of the file: from its base64 text, or from the binary form's next bytes. */
type ArrayReader = (v: unknown, path: string) => Float32Array;

function finiteValues(values: Float32Array, path: string): Float32Array {
  const bad = values.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) fail(path, `holds ${values[bad]} at index ${bad}`);
  return values;
}

/** f32 values from base64 text: whole floats, all finite. */
const base64Floats: ArrayReader = (v, path) => {
  if (typeof v !== "string") fail(path, `must be base64 text, got ${describe(v)}`);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = decodeBase64(v);
  } catch {
    fail(path, "is not valid base64");
  }
  if (bytes.length % 4 !== 0) fail(path, `holds ${bytes.length} bytes, not a whole number of f32 values`);
  return finiteValues(new Float32Array(bytes.buffer), path);
};

/** The binary form's arrays, read in the header's order: each field gives its length. */
function binaryFloats(body: Uint8Array): { read: ArrayReader; left: () => number } {
  let at = 0;
  const read: ArrayReader = (v, path) => {
    const length = integer(v, path);
    if (4 * length > body.length - at) fail(path, `needs ${length} values, but the file has ${Math.floor((body.length - at) / 4)} left`);
    // A copy (a Node Buffer's slice would be a view into a shared pool), aligned for f32.
    const values = new Float32Array(length);
    new Uint8Array(values.buffer).set(body.subarray(at, (at += 4 * length)));
    return finiteValues(values, path);
  };
  return { read, left: () => body.length - at };
}

function parseConfig(v: unknown): TrainConfig {
  const c = object(v, "config");
  only(c, "config", ["method", "model", "width", "depth", "bias", "epochs", "batch", "lr", "weightDecay", "seed", "k", "guesses", "combine", "route", "options", "loss", "init"]);
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
  if (c.model !== undefined) {
    if (!(MODEL_KINDS as readonly unknown[]).includes(c.model)) fail("config.model", `must be one of ${MODEL_KINDS.join(", ")}, got ${describe(c.model)}`);
    config.model = c.model as ModelKind;
  }
  if (c.bias !== undefined) {
    if (typeof c.bias !== "boolean") fail("config.bias", `must be true or false, got ${describe(c.bias)}`);
    config.bias = c.bias;
  }
  if (c.weightDecay !== undefined) {
    const decay = finite(c.weightDecay, "config.weightDecay");
    if (decay < 0) fail("config.weightDecay", `must be ≥ 0, got ${decay}`);
    config.weightDecay = decay;
  }
  if (c.init !== undefined) {
    if (typeof c.init !== "string" || !HASH.test(c.init)) fail("config.init", `must be 16 hex digits, got ${describe(c.init)}`);
    config.init = c.init;
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
  if (c.loss !== undefined) {
    if (!LOSS_IDS.includes(c.loss as LossId)) fail("config.loss", `must be ${LOSS_IDS.map((m) => JSON.stringify(m)).join(" or ")}, got ${describe(c.loss)}`);
    config.loss = c.loss as LossId;
  }
  if (c.options !== undefined) {
    // Values are judged by the estimator when the Trainer makes it; here only their JSON types.
    const options: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(object(c.options, "config.options"))) {
      if (typeof value === "string") options[key] = value;
      else options[key] = finite(value, `config.options.${key}`);
    }
    config.options = options as EstimatorOptions;
    // Judged against the method's own table, as the Trainer will: an option it does not take, or a
    // value out of its range, is refused here with the file's path to it.
    try {
      resolveOptions(method, methodOptions(method), options);
    } catch (error) {
      if (error instanceof FwdgradError) fail("config.options", `is refused: ${error.message}`);
      throw error;
    }
  }
  return config;
}

function parseData(v: unknown): DataIdentity {
  const d = object(v, "data");
  only(d, "data", ["features", "classes", "targets", "trainRows", "testRows", "fingerprint"]);
  if (typeof d.fingerprint !== "string" || !HASH.test(d.fingerprint)) fail("data.fingerprint", `must be 16 hex digits, got ${describe(d.fingerprint)}`);
  return {
    features: integer(d.features, "data.features", 1),
    classes: integer(d.classes, "data.classes", 1),
    ...(d.targets === undefined ? {} : { targets: integer(d.targets, "data.targets", 1) }),
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
      // null: no accuracy (a regression loss; NaN in the report, null in JSON)
      trainAcc: e.trainAcc === null ? NaN : finite(e.trainAcc, `${path}.trainAcc`),
      testAcc: e.testAcc === null ? NaN : finite(e.testAcc, `${path}.testAcc`),
      ms: finite(e.ms, `${path}.ms`),
      testLoss: finite(e.testLoss, `${path}.testLoss`),
    };
  });
}

function parseEstimator(v: unknown, floats: ArrayReader): EstimatorState | null {
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

/** Bytes of a binary form's header line at most: a long history, never megabytes of arrays. */
const MAX_HEADER_BYTES = 2 ** 26;

/**
 * The trainer state in a checkpoint, for `new Trainer(data, config, state)`: the text form
 * (`serializeCheckpoint`) as a string or its bytes, or the binary form (`encodeCheckpoint`) as
 * bytes. Throws a FwdgradError naming the first field at fault; nothing is built from a bad file.
 * @throws {FwdgradError} when the input is neither form, or a field is missing, of the wrong type or inconsistent.
 */
export function parseCheckpoint(input: string | Uint8Array): TrainerState {
  if (typeof input !== "string") {
    const end = input.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
    const header = end >= 0 ? jsonObject(new TextDecoder().decode(input.subarray(0, end))) : null;
    if (header && header.format === FORMAT && header.version === BINARY_VERSION) {
      const body = binaryFloats(input.subarray(end + 1));
      const state = parseFields(header, BINARY_VERSION, body.read);
      if (body.left() !== 0) fail("the file", `has ${body.left()} bytes after its last array`);
      return state;
    }
    input = new TextDecoder().decode(input);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch {
    throw new FwdgradError("checkpoint: not valid JSON");
  }
  return parseFields(object(parsed, "the file"), VERSION, base64Floats);
}

/** The JSON object in `text`, or null (not JSON, or not an object). */
function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function parseFields(raw: Record<string, unknown>, version: number, floats: ArrayReader): TrainerState {
  if (raw.format === "fwdgrad-checkpoint-1") throw new FwdgradError("checkpoint: format 1 (written by an earlier fwdgrad, without the estimator's state) cannot be resumed exactly; train anew");
  if (raw.format !== FORMAT) throw new FwdgradError(`checkpoint: unknown format ${JSON.stringify(raw.format)}, expected ${FORMAT}`);
  if (raw.version !== version) fail("version", `must be ${version}, got ${describe(raw.version)}`);
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
  const estimator = parseEstimator(raw.estimator ?? null, floats);
  if (typeof raw.checksum !== "string" || !HASH.test(raw.checksum)) fail("checksum", `must be 16 hex digits, got ${describe(raw.checksum)}`);
  const checksum = hashBytes(binaryParts(weights, buffers, estimator).map(bytesOf));
  if (checksum !== raw.checksum) fail("checksum", `is ${raw.checksum}, but the arrays hash to ${checksum}: the file is damaged`);
  return { config, data, epoch, step, history, weights, optimizer: { step: optimizerStep, buffers, ...(powers ? { powers } : {}) }, estimator };
}
