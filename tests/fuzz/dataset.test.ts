// Property-based fuzzing of the data parsers (Node only, fast-check): arbitrary and mutated CSV
// text, meta.json text and binary splits. Each parser either returns a consistent result or throws
// a one-line FwdgradError naming its input; any other exception is a bug.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FwdgradError } from "../../engine/errors.ts";
import { parseBinarySplit, parseCsvSplit, parseDataFolderMeta, splitRows, type Split } from "../../data/dataset.ts";

const Fuzz = suite("fuzz: data parsers");
const RUNS = 4000;

/** Runs `parse`; a result goes to `check`, a FwdgradError must be one line starting with one of `names`. */
function resultOrCleanError<T>(names: string[], parse: () => T, check: (result: T) => void): void {
  let result: T;
  try {
    result = parse();
  } catch (error) {
    if (!(error instanceof FwdgradError)) throw new Error(`not a FwdgradError: ${String(error)}`);
    if (!names.some((name) => error.message.startsWith(`${name}: `))) throw new Error(`the message names none of ${names.join(", ")}: ${error.message}`);
    if (/[\r\n]/.test(error.message)) throw new Error(`a message of more than one line: ${JSON.stringify(error.message)}`);
    return;
  }
  check(result);
}

/** Runs the properties and reports how many cases took how long. */
function fuzz(what: string, properties: Array<fc.IPropertyWithHooks<any>>): void {
  const started = performance.now();
  for (const property of properties) fc.assert(property, { numRuns: RUNS });
  console.log(`  ${what}: ${properties.length * RUNS} cases in ${((performance.now() - started) / 1000).toFixed(2)} s`);
}

function checkSplitConsistent(split: Split, features: number, classes: number): void {
  assert.ok(split.n >= 1, "at least one row");
  assert.is(split.x.length, split.n * features, "rows × features values");
  for (const v of split.x) if (!Number.isFinite(v)) assert.unreachable(`a non-finite feature ${v}`);
  if (split.t) {
    assert.is(split.t.length, split.n * classes, "targets per row");
    for (const v of split.t) if (!Number.isFinite(v)) assert.unreachable(`a non-finite target ${v}`);
    return;
  }
  assert.is(split.y.length, split.n, "a label per row");
  if (classes > 256) assert.ok(split.y instanceof Int32Array, "labels beyond a byte are 32-bit");
  for (const label of split.y) if (label < 0 || label >= classes) assert.unreachable(`label ${label} outside [0, ${classes})`);
}

// CSV: cells from a pool of good and bad spellings, rows of varying widths, comments, blank lines.
const cell = fc.oneof(
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => v.toExponential(3)),
  fc.constantFrom("", " ", "NaN", "nan", "inf", "-Infinity", "0x10", "0b1", "1e39", "-1e40", ".5", "3.", "+2", "1_0", "x", "label", "\"1\"", "1e", "٣", "\t7 ", "#", "\u00a0"),
  fc.string({ maxLength: 4 }),
);
const csvLine = fc.oneof(
  { weight: 8, arbitrary: fc.array(cell, { minLength: 1, maxLength: 5 }).map((cells) => cells.join(",")) },
  { weight: 1, arbitrary: fc.constantFrom("", "# comment", "   ", "a,b,label", "x,y,z,label") },
);
const csvText = fc.tuple(fc.array(csvLine, { maxLength: 12 }), fc.constantFrom("\n", "\r\n")).map(([lines, end]) => lines.join(end));

/** A well-formed CSV: an optional header, then rows of `features` numbers and a label below `classes`. */
const validCsv = fc
  .record({
    features: fc.integer({ min: 1, max: 4 }),
    classes: fc.integer({ min: 1, max: 12 }),
    rows: fc.integer({ min: 1, max: 10 }),
    header: fc.boolean(),
    seed: fc.integer(),
  })
  .map(({ features, classes, rows, header, seed }) => {
    const lines = header ? [[...Array.from({ length: features }, (_, f) => `f${f}`), "label"].join(",")] : [];
    for (let r = 0; r < rows; r++) {
      const values = Array.from({ length: features }, (_, f) => (((seed + 31 * r + 7 * f) % 1000) / 37).toFixed(3));
      lines.push([...values, String(Math.abs(seed + r) % classes)].join(","));
    }
    return { text: `${lines.join("\n")}\n`, features, rows };
  });

/** Edits a text at a random place: insert, delete or replace a few characters. */
const mutated = (base: fc.Arbitrary<string>) =>
  fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.string({ minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let out = text;
    for (const [at, kind, piece] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      out = kind === "insert" ? out.slice(0, i) + piece + out.slice(i) : kind === "delete" ? out.slice(0, i) + out.slice(i + piece.length) : out.slice(0, i) + piece + out.slice(i + piece.length);
    }
    return out;
  });

function checkCsv(text: string, classes?: number, targets?: number): void {
  resultOrCleanError(["f.csv"], () => parseCsvSplit("f.csv", text, classes, targets), ({ split, features, classes: count }) => {
    assert.ok(Number.isInteger(features) && features >= 1, `features ${features}`);
    assert.ok(Number.isInteger(count) && count >= 1 && count <= 2 ** 24, `classes ${count}`);
    if (targets !== undefined) assert.is(count, targets);
    else if (classes !== undefined) assert.is(count, classes);
    checkSplitConsistent(split, features, count);
    resultOrCleanError(["f.csv"], () => splitRows(split, features, 0.8, "f.csv"), ({ train, test }) => {
      assert.ok(train.n >= 1 && test.n >= 1, "both parts non-empty");
      assert.is(train.n + test.n, split.n);
    });
  });
}

Fuzz("CSV: arbitrary, CSV-like and mutated text parse or fail cleanly", () => {
  fuzz("parseCsvSplit", [
    fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => checkCsv(text)),
    fc.property(csvText, fc.option(fc.integer({ min: -2, max: 300 }), { nil: undefined }), (text, classes) => checkCsv(text, classes)),
    fc.property(mutated(validCsv.map((c) => c.text)), (text) => checkCsv(text)),
    // Regression targets: the last 1–3 columns (hostile counts included).
    fc.property(csvText, fc.integer({ min: -1, max: 4 }), (text, targets) => checkCsv(text, undefined, targets)),
    fc.property(mutated(validCsv.map((c) => c.text)), fc.integer({ min: 1, max: 3 }), (text, targets) => checkCsv(text, undefined, targets)),
  ]);
});

Fuzz("CSV: well-formed files parse whole; the header is dropped only when it holds no number", () => {
  fuzz("parseCsvSplit (well-formed)", [
    fc.property(validCsv, ({ text, features, rows }) => {
      const parsed = parseCsvSplit("f.csv", text);
      assert.is(parsed.features, features);
      assert.is(parsed.split.n, rows, "every data row kept");
    }),
  ]);
});

// meta.json: arbitrary text, arbitrary JSON, and valid objects with fields swapped for hostile values.
const hostileValue = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 257, 2 ** 53, "", "4", "../x.f32", "/etc/passwd", "C:\\x", "a\\b", "a\u0000b", "sub/../../x", [], {}),
  fc.jsonValue({ maxDepth: 2 }),
);
const fileName = fc.oneof(fc.constantFrom("train-x.f32", "a/b.u8", "./y.u8", "..x", "x..", "dir/..", "../y"), fc.string({ maxLength: 8 }));
const metaObject = fc.record(
  {
    train: fc.oneof(fc.record({ x: fileName, y: fileName, n: fc.oneof(fc.integer({ min: -1, max: 5000 }), hostileValue) }, { requiredKeys: [] }), hostileValue),
    test: fc.oneof(fc.record({ x: fileName, y: fileName, n: fc.oneof(fc.integer({ min: -1, max: 5000 }), hostileValue) }, { requiredKeys: [] }), hostileValue),
    features: fc.oneof(fc.integer({ min: -2, max: 100 }), hostileValue),
    classes: fc.oneof(fc.integer({ min: -2, max: 300 }), hostileValue),
    dataset: fc.string(),
  },
  { requiredKeys: [] },
);
const validMetaText = fc
  .record({ n: fc.integer({ min: 1, max: 5000 }), features: fc.integer({ min: 1, max: 100 }), classes: fc.integer({ min: 1, max: 256 }) })
  .map(({ n, features, classes }) => JSON.stringify({ train: { x: "train-x.f32", y: "train-y.u8", n }, test: { x: "test-x.f32", y: "test-y.u8", n }, features, classes }, null, 1));

function checkMeta(text: string): void {
  resultOrCleanError(["meta.json"], () => parseDataFolderMeta(text), (meta) => {
    assert.ok(Number.isSafeInteger(meta.features) && meta.features >= 1, `features ${meta.features}`);
    assert.ok(Number.isInteger(meta.classes) && meta.classes >= 1 && meta.classes <= 2 ** 24, `classes ${meta.classes}`);
    for (const split of [meta.train, meta.test]) {
      for (const file of [split.x, split.y]) {
        assert.type(file, "string");
        assert.ok(file.length > 0 && !file.startsWith("/") && !file.includes("\\") && !file.includes("\0"), `file ${JSON.stringify(file)}`);
        assert.not.ok(file.split("/").includes(".."), `file ${JSON.stringify(file)} climbs out`);
      }
      if (split.n !== undefined) assert.ok(Number.isSafeInteger(split.n) && split.n >= 1, `n ${split.n}`);
    }
  });
}

Fuzz("meta.json: arbitrary text, arbitrary JSON, hostile fields and mutated text validate or fail cleanly", () => {
  fuzz("parseDataFolderMeta", [
    fc.property(fc.string({ unit: "binary", maxLength: 60 }), checkMeta),
    fc.property(fc.json({ maxDepth: 3 }), checkMeta),
    fc.property(metaObject, (meta) => checkMeta(JSON.stringify(meta))),
    fc.property(mutated(validMetaText), checkMeta),
  ]);
});

// Binary splits: arbitrary bytes and sizes, and well-formed splits with bad values planted.
const plantedSplit = fc
  .record({
    n: fc.integer({ min: 0, max: 6 }),
    features: fc.integer({ min: 1, max: 5 }),
    classes: fc.integer({ min: 1, max: 256 }),
    values: fc.array(fc.float(), { minLength: 30, maxLength: 30 }),
    labels: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    offset: fc.integer({ min: 0, max: 3 }),
    ySkew: fc.integer({ min: -1, max: 1 }),
  })
  .map(({ n, features, classes, values, labels, offset, ySkew }) => {
    // An odd byte offset checks that the parser reads through the view, not the whole buffer.
    const bytes = new Uint8Array(offset + 4 * n * features);
    bytes.set(new Uint8Array(Float32Array.from(values.slice(0, n * features)).buffer), offset);
    const y = labels.slice(0, Math.max(0, n + ySkew));
    return { x: bytes.subarray(offset), y, features, classes };
  });

function checkBinary(x: Uint8Array, y: Uint8Array, features: number, classes: number, labelBytes: 1 | 4 = 1): void {
  // Faults of the labels name the label file.
  resultOrCleanError(["x.f32", "y.u8"], () => parseBinarySplit("x.f32", x, y, features, classes, "y.u8", labelBytes), (split) => {
    assert.is(split.n * features * 4, x.length, "the rows cover the bytes");
    checkSplitConsistent(split, features, classes);
  });
}

Fuzz("binary splits: arbitrary bytes, sizes and planted bad values parse or fail cleanly", () => {
  fuzz("parseBinarySplit", [
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 8 }), fc.oneof(fc.integer({ min: -2, max: 8 }), fc.double()), fc.oneof(fc.integer({ min: -2, max: 300 }), fc.double()), (x, y, features, classes) => checkBinary(x, y, features, classes)),
    fc.property(plantedSplit, ({ x, y, features, classes }) => checkBinary(x, y, features, classes)),
    // 4-byte labels (i32 LE), for more than 256 classes: arbitrary label bytes and class counts.
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: -2, max: 70000 }), (x, y, features, classes) => checkBinary(x, y, features, classes, 4)),
    fc.property(plantedSplit, ({ x, y, features, classes }) => checkBinary(x, y, features, classes)),
    // 4-byte labels (i32 LE), for more than 256 classes: arbitrary label bytes and class counts.
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: -2, max: 70000 }), (x, y, features, classes) => checkBinary(x, y, features, classes, 4)),
  ]);
});

Fuzz.run();
