// Property-based fuzzing of the checkpoint parser (Node only, fast-check): arbitrary text, arbitrary
// JSON values and mutations of a valid wperp checkpoint. parseCheckpoint, and a Trainer built from
// what it returns, either work or throw a one-line FwdgradError; any other exception is a bug.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ready } from "../../engine/backend.ts";
import { FwdgradError } from "../../engine/errors.ts";
import type { Dataset } from "../../data/dataset.ts";
import { parseCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { Trainer, type TrainConfig } from "../../train/trainer.ts";

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

/** parseCheckpoint then a Trainer from it: a result, or a one-line FwdgradError. */
function resultOrCleanError(text: string): void {
  try {
    const state = parseCheckpoint(text);
    new Trainer(data, state.config, state);
  } catch (error) {
    if (!(error instanceof FwdgradError)) throw new Error(`not a FwdgradError: ${String(error)}`);
    if (/[\r\n]/.test(error.message)) throw new Error(`a message of more than one line: ${JSON.stringify(error.message)}`);
  }
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

Fuzz("arbitrary, JSON-shaped and mutated checkpoints give a result or one clean error", () => {
  const started = performance.now();
  const properties: Array<fc.IPropertyWithHooks<any>> = [
    fc.property(fc.string({ maxLength: 200 }), resultOrCleanError),
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => resultOrCleanError(JSON.stringify(value))),
    fc.property(fc.constantFrom(...allPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => resultOrCleanError(mutate(path, value))),
    fc.property(fc.nat(valid.length - 1), fc.nat(valid.length), (from, length) => resultOrCleanError(valid.slice(0, from) + valid.slice(from + length))),
    fc.property(fc.nat(valid.length - 1), fc.constantFrom("A", "/", "=", "!", "0", '"', "{", "9", "-", "e"), (at, c) => resultOrCleanError(valid.slice(0, at) + c + valid.slice(at + 1))),
  ];
  for (const property of properties) fc.assert(property, { numRuns: RUNS });
  const cases = properties.length * RUNS;
  console.log(`  checkpoint parser: ${cases} cases in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  assert.ok(cases >= 10000);
});

Fuzz("the unmutated checkpoint restores", () => {
  const state = parseCheckpoint(valid);
  assert.is(new Trainer(data, state.config, state).weightsHash(), trainer.weightsHash());
});

Fuzz.run();
