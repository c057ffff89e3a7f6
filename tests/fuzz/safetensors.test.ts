// Property-based fuzzing of the safetensors reader (Node only, fast-check): arbitrary bytes, files
// with a plausible length prefix, flipped, cut and extended copies of a valid model file, forged
// headers (a value of the valid header replaced, the length fixed up) and headers of arbitrary
// tensor entries. parseSafetensors, and loadWeights and predict on what it returns, either work or
// throw a one-line FwdgradError; anything else is a bug. A file that parses is re-encoded and
// parsed again to the same names, shapes and bits; arbitrary named arrays round-trip bit for bit.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ready } from "../../engine/backend.ts";
import { FwdgradError } from "../../engine/errors.ts";
import { encodeSafetensors, parseSafetensors, type SafetensorsFile } from "../../models/safetensors.ts";
import { createMlp } from "../../models/mlp.ts";
import { loadWeights, predict, saveWeights } from "../../models/weights.ts";
import { conv2dLayer } from "../../models/conv.ts";
import { dense } from "../../models/dense.ts";
import { maxPool2dLayer } from "../../models/pool.ts";
import { reluLayer } from "../../models/relu.ts";
import { sequential } from "../../models/sequential.ts";
import { rng } from "../../engine/rng.ts";

await ready();
const Fuzz = suite("fuzz: safetensors");
const RUNS = 1500;

const valid = saveWeights(createMlp([5, 4, 3], { seed: 1, bias: true }));
const headerLength = new DataView(valid.buffer).getUint32(0, true);
const validHeader = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + headerLength))) as Record<string, any>;
const body = valid.subarray(8 + headerLength);

/** A file from a header text and a body: the u64 length fixed up. */
function withHeader(header: string, data: Uint8Array = body): Uint8Array {
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

// A convolutional model's file: a conv2d, a pool and a dense head, with fwdgrad.geometry.
const validCnn = saveWeights(sequential([
  conv2dLayer(1, 2, [3, 3], [4, 4], rng(2), { padding: 1 }), reluLayer(), maxPool2dLayer(2, [4, 4], 2), dense(8, 3, rng(3), { bias: true }),
]));
const cnnHeaderLength = new DataView(validCnn.buffer).getUint32(0, true);
const validCnnHeader = JSON.parse(new TextDecoder().decode(validCnn.subarray(8, 8 + cnnHeaderLength))) as Record<string, any>;
const cnnBody = validCnn.subarray(8 + cnnHeaderLength);
const validGeometry = JSON.parse(validCnnHeader.__metadata__["fwdgrad.geometry"]);
const geometryPaths = paths(validGeometry).filter((p) => p.length > 0);

let parsed = 0, loaded = 0;
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The reader, then the model and a prediction from it: results or one-line FwdgradErrors only. */
function resultOrCleanError(bytes: Uint8Array): void {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes);
  } catch (error) {
    clean(error);
    return;
  }
  parsed++;
  // What parses re-encodes (as F32) and parses to the same tensors.
  const again = parseSafetensors(encodeSafetensors([...file.tensors].map(([name, t]) => ({ name, ...t })), file.metadata));
  assert.equal([...again.tensors.keys()], [...file.tensors.keys()]);
  for (const [name, t] of file.tensors) {
    assert.equal(again.tensors.get(name)!.shape, t.shape);
    assert.equal(bits(again.tensors.get(name)!.data), bits(t.data));
  }
  assert.equal(again.metadata, file.metadata);
  try {
    const model = loadWeights(file);
    loaded++;
    const { probabilities } = predict(model, new Float32Array(2 * model.sizes[0]).fill(0.5));
    assert.is(probabilities.length, 2 * model.sizes[model.sizes.length - 1]);
  } catch (error) {
    clean(error);
  }
}

function clean(error: unknown): void {
  if (!(error instanceof FwdgradError)) throw new Error(`not a FwdgradError: ${String(error)}`);
  if (/[\r\n]/.test(error.message)) throw new Error(`a message of more than one line: ${JSON.stringify(error.message)}`);
}

/** Every path to a value inside a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => paths((value as Record<string | number, unknown>)[key], [...prefix, key]))];
}
const headerPaths = paths(validHeader).filter((p) => p.length > 0);

const DTYPES = ["F32", "F64", "F16", "BF16", "I32", "U8", "BOOL", "F8_E4M3", "f32", "X"];
const entry = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }),
  data_offsets: fc.tuple(fc.integer({ min: -1, max: 48 }), fc.integer({ min: -1, max: 48 })),
});
const names = fc.oneof(fc.constantFrom("0.weight", "0.bias", "2.weight", "2.bias", "__proto__", "__metadata__", "a"), fc.string({ maxLength: 6 }));

Fuzz("arbitrary bytes, damaged and forged files give a result or one clean error", () => {
  const started = performance.now();
  const properties: Array<fc.IPropertyWithHooks<any>> = [
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => resultOrCleanError(bytes)),
    // A plausible length prefix, then anything.
    fc.property(fc.nat(300), fc.uint8Array({ maxLength: 300 }), (length, rest) => {
      const bytes = new Uint8Array(8 + rest.length);
      new DataView(bytes.buffer).setUint32(0, length, true);
      bytes.set(rest, 8);
      resultOrCleanError(bytes);
    }),
    fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const copy = valid.slice();
      copy[at] ^= mask;
      resultOrCleanError(copy);
    }),
    fc.property(fc.nat(valid.length), fc.uint8Array({ maxLength: 16 }), (length, extra) => resultOrCleanError(new Uint8Array([...valid.subarray(0, length), ...extra]))),
    fc.property(fc.constantFrom(...headerPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => {
      const copy = structuredClone(validHeader);
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key];
      if (value === undefined) delete parent[path[path.length - 1]];
      else parent[path[path.length - 1]] = value;
      resultOrCleanError(withHeader(JSON.stringify(copy)));
    }),
    // The convolutional file: any value of its header, or of its geometry's JSON, replaced or removed.
    fc.property(fc.constantFrom(...paths(validCnnHeader).filter((p) => p.length > 0)), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => {
      const copy = structuredClone(validCnnHeader);
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key];
      if (value === undefined) delete parent[path[path.length - 1]];
      else parent[path[path.length - 1]] = value;
      resultOrCleanError(withHeader(JSON.stringify(copy), cnnBody));
    }),
    fc.property(fc.constantFrom(...geometryPaths), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)), (path, value) => {
      const geometry = structuredClone(validGeometry);
      let parent = geometry;
      for (const key of path.slice(0, -1)) parent = parent[key];
      if (value === undefined) delete parent[path[path.length - 1]];
      else parent[path[path.length - 1]] = value;
      const copy = structuredClone(validCnnHeader);
      copy.__metadata__["fwdgrad.geometry"] = JSON.stringify(geometry);
      resultOrCleanError(withHeader(JSON.stringify(copy), cnnBody));
    }),
    // Headers of arbitrary entries over a body of arbitrary length.
    fc.property(fc.array(fc.tuple(names, entry), { maxLength: 4 }), fc.nat(48), fc.constantFrom("", " ", "  \n", "\t"), (entries, size, padding) => {
      const header = `{${entries.map(([name, e]) => `${JSON.stringify(name)}:${JSON.stringify(e)}`).join(",")}}${padding}`;
      resultOrCleanError(withHeader(header, new Uint8Array(size).map((_, i) => (i * 37) & 0xff)));
    }),
  ];
  for (const property of properties) fc.assert(property, { numRuns: RUNS });
  // Arbitrary named arrays and metadata round-trip bit for bit.
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string({ maxLength: 8 }).filter((s) => s !== "__metadata__"), fc.float32Array({ maxLength: 12 })), { selector: ([name]) => name, maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
      (arrays, metadata) => {
        const file = parseSafetensors(encodeSafetensors(arrays.map(([name, data]) => ({ name, shape: [data.length], data })), metadata));
        assert.equal([...file.tensors.keys()], arrays.map(([name]) => name));
        arrays.forEach(([name, data]) => assert.equal(bits(file.tensors.get(name)!.data), bits(data)));
        assert.equal(file.metadata, { ...metadata });
      },
    ),
    { numRuns: RUNS },
  );
  const cases = (properties.length + 1) * RUNS;
  console.log(`  safetensors reader: ${cases} cases (${parsed} parsed, ${loaded} loaded as models and predicted) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  assert.ok(cases >= 10000);
  assert.ok(loaded > 0, "some files make models");
});

Fuzz("the unmutated files load", () => {
  assert.equal(loadWeights(valid).sizes, [5, 4, 3]);
  assert.equal(loadWeights(validCnn).sizes, [16, 32, 3]);
});

Fuzz.run();
