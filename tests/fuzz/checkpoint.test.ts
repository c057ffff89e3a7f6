// Property-based fuzzing of the checkpoint parser (Node only, fast-check): arbitrary text, arbitrary
// JSON values and mutations of a valid wperp checkpoint, and arbitrary bytes and damaged copies of
// the same checkpoint in the binary form. parseCheckpoint, and a Trainer built from
// what it returns, either work or throw a one-line FwdgradError; any other exception is a bug. A
// Trainer that restores then trains an epoch without any exception (a forged learning rate may
// stop it early, which is the documented outcome, not an error).
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ready } from "../../engine/backend.ts";
import { decodeBase64, encodeBase64 } from "../../engine/base64.ts";
import { FwdgradError } from "../../engine/errors.ts";
import type { Dataset } from "../../data/dataset.ts";
import { encodeCheckpoint, parseCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { hashBytes, Trainer, type TrainConfig } from "../../train/trainer.ts";
import { joinChunks } from "../oracles.ts";

await ready();
const Fuzz = suite("fuzz: checkpoints");
const RUNS = 2500;

/** A small fixed data set: class c raises feature c. */
function clusters(n: number): Dataset {
  const features = 4, classes = 3;
  const make = (count: number) => {
    const x = new Float32Array(count * features), y = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = i % classes;
      for (let f = 0; f < features; f++) x[i * features + f] = (f === y[i] ? 1 : 0) + ((i * 7 + f * 3) % 5) / 10;
    }
    return { x, y, n: count };
  };
  return { train: make(n), test: make(n / 2), features, classes };
}

const data = clusters(24);
const config: TrainConfig = { method: "wperp", width: 8, depth: 2, epochs: 2, batch: 8, lr: 1e-2, seed: 1, k: 3 };
const trainer = new Trainer(data, config);
trainer.runEpoch();
const valid = serializeCheckpoint(trainer.state());
const validObject = JSON.parse(valid) as Record<string, unknown>;

let restored = 0;

/** parseCheckpoint then a Trainer from it: one epoch trained from the result, or a one-line FwdgradError. */
function resultOrCleanError(text: string | Uint8Array): void {
  let resumed: Trainer;
  try {
    const state = parseCheckpoint(text);
    resumed = new Trainer(data, state.config, state);
  } catch (error) {
    if (!(error instanceof FwdgradError)) throw new Error(`not a FwdgradError: ${String(error)}`);
    if (/[\r\n]/.test(error.message)) throw new Error(`a message of more than one line: ${JSON.stringify(error.message)}`);
    return;
  }
  restored++;
  if (!resumed.runEpoch() && !resumed.stopped) throw new Error("an epoch after the restore neither ran nor stopped");
}

/** Every path to a value inside a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => paths((value as Record<string | number, unknown>)[key], [...prefix, key]))];
}
const allPaths = paths(validObject).filter((p) => p.length > 0);

/** The valid checkpoint with the value at `path` replaced (or deleted, for `undefined`). */
function mutate(path: (string | number)[], replacement: unknown): string {
  const copy = structuredClone(validObject) as Record<string | number, any>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const last = path[path.length - 1];
  if (replacement === undefined) delete parent[last];
  else parent[last] = replacement;
  return JSON.stringify(copy);
}

/**
 * A forger's file: the checksum recomputed over the binary parts as `serializeCheckpoint` orders
 * them, so the mutation meets the checks behind the checksum. Left as is where the parts do not decode.
 */
function reseal(text: string): string {
  try {
    const c = JSON.parse(text);
    const arrays = c.estimator ? Object.keys(c.estimator.arrays).sort().map((key) => c.estimator.arrays[key]) : [];
    c.checksum = hashBytes([...c.weights, ...c.optimizer.buffers, ...arrays].map((part: string) => decodeBase64(part)));
    return JSON.stringify(c);
  } catch {
    return text;
  }
}

/** The paths of the binary parts, for replacing one with other floats. */
const binaryPaths = allPaths.filter((p) => p[0] === "weights" || p[1] === "buffers" || p[1] === "arrays").filter((p) => typeof (p.reduce((o: any, key) => o[key], validObject)) === "string");
const floatsText = (values: Float32Array) => encodeBase64(new Uint8Array(values.buffer));

Fuzz("arbitrary, JSON-shaped, mutated and forged checkpoints give a result or one clean error", () => {
  const started = performance.now();
  const properties: Array<fc.IPropertyWithHooks<any>> = [
    fc.property(fc.string({ maxLength: 200 }), resultOrCleanError),
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => resultOrCleanError(JSON.stringify(value))),
    fc.property(fc.constantFrom(...allPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => resultOrCleanError(mutate(path, value))),
    fc.property(fc.nat(valid.length - 1), fc.nat(valid.length), (from, length) => resultOrCleanError(valid.slice(0, from) + valid.slice(from + length))),
    fc.property(fc.nat(valid.length - 1), fc.constantFrom("A", "/", "=", "!", "0", '"', "{", "9", "-", "e"), (at, c) => resultOrCleanError(valid.slice(0, at) + c + valid.slice(at + 1))),
    fc.property(fc.constantFrom(...allPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => resultOrCleanError(reseal(mutate(path, value)))),
    fc.property(fc.constantFrom(...binaryPaths), fc.oneof(fc.float32Array(), fc.float32Array({ noNaN: true, noDefaultInfinity: true })), fc.nat(3), (path, values, resize) => {
      // Mostly the length of the part it replaces (the values repeated), else their own.
      const length = decodeBase64(path.reduce((o: any, key) => o[key], validObject)).length / 4;
      const sized = resize > 0 && values.length > 0 ? Float32Array.from({ length }, (_, i) => values[i % values.length]) : values;
      resultOrCleanError(reseal(mutate(path, floatsText(sized))));
    }),
  ];
  for (const property of properties) fc.assert(property, { numRuns: RUNS });
  const cases = properties.length * RUNS;
  console.log(`  checkpoint parser: ${cases} cases (${restored} restored and trained an epoch) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  assert.ok(cases >= 10000);
});

/** The valid checkpoint in the binary form, and its header line's end. */
const binary = joinChunks(encodeCheckpoint(trainer.state()));
const headerEnd = binary.indexOf(0x0a);
const binaryHeader = JSON.parse(new TextDecoder().decode(binary.subarray(0, headerEnd)));
const withBody = (header: string, body: Uint8Array) => joinChunks([new TextEncoder().encode(`${header}\n`), body]);
const headerPaths = paths(binaryHeader).filter((p) => p.length > 0);

Fuzz("binary checkpoints: arbitrary bytes, flipped, cut and extended files, edited headers give a result or one clean error", () => {
  const started = performance.now();
  const before = restored;
  const body = binary.subarray(headerEnd + 1);
  const properties: Array<fc.IPropertyWithHooks<any>> = [
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => resultOrCleanError(bytes)),
    fc.property(fc.nat(binary.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const copy = binary.slice();
      copy[at] ^= mask;
      resultOrCleanError(copy);
    }),
    fc.property(fc.nat(binary.length), (length) => resultOrCleanError(binary.subarray(0, length))),
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (extra) => resultOrCleanError(withBody(JSON.stringify(binaryHeader), new Uint8Array([...body, ...extra])))),
    fc.property(fc.constantFrom(...headerPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => {
      const copy = structuredClone(binaryHeader) as Record<string | number, any>;
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key];
      if (value === undefined) delete parent[path[path.length - 1]];
      else parent[path[path.length - 1]] = value;
      resultOrCleanError(withBody(JSON.stringify(copy), body));
    }),
  ];
  for (const property of properties) fc.assert(property, { numRuns: RUNS });
  const cases = properties.length * RUNS;
  console.log(`  binary checkpoint parser: ${cases} cases (${restored - before} restored and trained an epoch) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const state = parseCheckpoint(binary);
  assert.is(new Trainer(data, state.config, state).weightsHash(), trainer.weightsHash(), "the unmutated binary checkpoint restores");
});

Fuzz("a control character forged into a key or value still gives a one-line error (a flip that once made \"feat\\res\")", () => {
  const cases = [
    withBody(JSON.stringify(binaryHeader).replace('"features"', '"feat\\res"'), binary.subarray(headerEnd + 1)),
    mutate(["config", "method"], "w\nt"),
    mutate(["config", "options", "k\u0000"], 3),
  ];
  for (const text of cases) resultOrCleanError(text);
});

Fuzz("the unmutated checkpoint restores", () => {
  const state = parseCheckpoint(valid);
  assert.is(new Trainer(data, state.config, state).weightsHash(), trainer.weightsHash());
});

Fuzz.run();
