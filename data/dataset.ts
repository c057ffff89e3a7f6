// Data sets as plain arrays: features row-major f32, and either labels 0..classes−1 (bytes up to 256
// classes, 32-bit integers beyond) or regression targets (f32 [n, targets]). Parsers for the binary
// format of MNIST-1D's reference copy (x: f32 little-endian [n, features], y: u8 [n], or i32 LE for
// more classes) and for CSV (features then the label, or the targets, on every row). They take bytes or text, so they run in every runtime;
// reading files is the caller's (the CLI's). Bad input gets an error naming the file and the fault.
import { FwdgradError } from "../engine/errors.ts";

/** Class labels: bytes for up to 256 classes, 32-bit integers beyond. */
export type Labels = Uint8Array | Int32Array;

/** One split of a data set: its rows, and their class labels or regression targets. */
export interface Split {
  /** Row-major [n, features]. */
  x: Float32Array;
  /** Labels in [0, classes); empty for a regression set. */
  y: Labels;
  /** Regression targets, row-major [n, targets]; absent for labels. */
  t?: Float32Array;
  /** Number of rows. */
  n: number;
}

/** A data set to train on: a training and a test split and their dimensions. */
export interface Dataset {
  /** The rows the model trains on. */
  train: Split;
  /** The rows it is evaluated on. */
  test: Split;
  /** Features per row (the model's inputs). */
  features: number;
  /** The model's outputs: the number of classes, or of regression targets. */
  classes: number;
  /** Regression: the number of target columns (then `classes` equals it and the splits hold `t`). */
  targets?: number;
}

/** A decimal number as people write it: sign, digits, fraction, exponent ("1e-4", ".5", "3."). */
// Written so no input backtracks more than linearly: after the digits comes a "." or nothing.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
/** NaN and infinities as spreadsheets and NumPy spell them: numbers, but not finite ones. */
const NON_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;

/** Whether `text` is a plain decimal number: no hex, octal, binary, Infinity, NaN, padding or empty text. */
export function isDecimalNumber(text: string): boolean {
  return DECIMAL.test(text);
}

/** Text of a cell or value for an error message: quoted, and cut short. */
function shown(value: unknown): string {
  const text = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Larger CSV text than this is refused before it is read (the CLI's --data, the lab page): it would not fit a JavaScript string with room to parse it; use the binary format. */
export const MAX_CSV_BYTES = 256 * 2 ** 20;
/** Classes held in one byte; beyond, labels are 32-bit integers. */
export const BYTE_CLASSES = 256;
/** At most this many classes (an output layer of 2^24 units is far beyond any model here). */
export const MAX_CLASSES = 2 ** 24;

function checkClasses(name: string, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new FwdgradError(`${name}: classes must be an integer in [1, ${MAX_CLASSES}], got ${shown(classes)}`);
}

/**
 * Checks values and labels: finite features, integer labels in [0, classes). Rows and features are
 * counted from 1. `yName` names the label file when it is not the feature file.
 */
export function checkSplit(name: string, split: Split, features: number, classes: number, yName = name): void {
  if (split.x.length !== split.n * features) throw new FwdgradError(`${name}: ${split.x.length} values for ${split.n} rows of ${features} features`);
  const bad = split.x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new FwdgradError(`${name}: row ${Math.floor(bad / features) + 1}, feature ${(bad % features) + 1} is ${split.x[bad]}`);
  if (split.t) {
    if (split.t.length !== split.n * classes) throw new FwdgradError(`${yName}: ${split.t.length} targets for ${split.n} rows of ${classes}`);
    const badTarget = split.t.findIndex((v) => !Number.isFinite(v));
    if (badTarget >= 0) throw new FwdgradError(`${yName}: row ${Math.floor(badTarget / classes) + 1}, target ${(badTarget % classes) + 1} is ${split.t[badTarget]}`);
    return;
  }
  if (split.y.length !== split.n) throw new FwdgradError(`${yName}: ${split.y.length} labels for ${split.n} rows`);
  const badLabel = split.y.findIndex((label) => label < 0 || label >= classes);
  if (badLabel >= 0) throw new FwdgradError(`${yName}: label ${split.y[badLabel]} at row ${badLabel + 1} is outside [0, ${classes})`);
}

/**
 * One split from the binary format: x bytes (f32 LE, [n, features]) and y bytes (u8 [n], or i32 LE
 * [n] when `labelBytes` is 4, for more than 256 classes). `name` names the x file in errors, `yName`
 * the y file.
 * @throws {FwdgradError} when `features` or `classes` is not a positive integer, the byte counts do
 * not match (x not a whole number of f32 rows, y not one label per row), a feature is not finite or a
 * label is outside [0, classes); the message names the file.
 * @example
 * ```ts
 * const x = new Uint8Array(new Float32Array([0.5, -1, 2, 0]).buffer);
 * const split = parseBinarySplit("x.bin", x, new Uint8Array([1, 0]), 2, 2); // split.n === 2
 * ```
 */
export function parseBinarySplit(name: string, xBytes: Uint8Array, yBytes: Uint8Array, features: number, classes: number, yName = name, labelBytes: 1 | 4 = 1): Split {
  if (!Number.isSafeInteger(features) || features < 1) throw new FwdgradError(`${name}: features must be a positive integer, got ${shown(features)}`);
  checkClasses(name, classes);
  if (xBytes.length % (4 * features) !== 0) {
    throw new FwdgradError(`${name}: x has ${xBytes.length} bytes, not a whole number of rows of ${features} f32 values`);
  }
  const n = xBytes.length / (4 * features);
  if (n === 0) throw new FwdgradError(`${name}: no rows (a split needs at least one example)`);
  if (labelBytes !== 1 && labelBytes !== 4) throw new FwdgradError(`${yName}: labels must be 1 or 4 bytes each, got ${shown(labelBytes)}`);
  if (labelBytes === 1 && classes > BYTE_CLASSES) throw new FwdgradError(`${yName}: ${classes} classes do not fit in byte labels; store them as 4-byte labels ("labelBytes": 4)`);
  if (yBytes.length !== n * labelBytes) throw new FwdgradError(`${yName}: y has ${yBytes.length / labelBytes} labels for ${n} rows of x`);
  const view = new DataView(xBytes.buffer, xBytes.byteOffset, xBytes.byteLength);
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
  const labels = new DataView(yBytes.buffer, yBytes.byteOffset, yBytes.byteLength);
  const y = labelBytes === 1 ? yBytes.slice() : Int32Array.from({ length: n }, (_, i) => labels.getInt32(4 * i, true));
  const split = { x, y, n };
  checkSplit(name, split, features, classes, yName);
  return split;
}

/**
 * One split from CSV text: every row holds `features` numbers, then the integer label (bytes up to
 * 256 classes, 32-bit integers beyond), or with `targets` given, its last `targets` columns are
 * regression targets (then `classes` is ignored and the result's classes equal targets). Blank lines
 * and lines starting with # are skipped; a first row with no number in it is a header. Errors name
 * the file and the physical line and column, counted from 1.
 * Returns the split with the number of features and of classes (or targets) found.
 * @throws {FwdgradError} when a row has the wrong number of cells, a cell is not a decimal number,
 * a label is not an integer in [0, classes), or there are no rows; the message names line and column.
 * @example
 * ```ts
 * const { split, features, classes } = parseCsvSplit("train.csv", "x1,x2,label\n0.5,1,0\n2,-1,1\n");
 * // split.n === 2, features === 2, classes === 2
 * ```
 */
export function parseCsvSplit(name: string, text: string, classes?: number, targets?: number): { split: Split; features: number; classes: number } {
  if (targets !== undefined) {
    if (!Number.isSafeInteger(targets) || targets < 1) throw new FwdgradError(`${name}: targets must be a positive integer, got ${shown(targets)}`);
  } else if (classes !== undefined) checkClasses(name, classes);
  // Only the line numbers of data lines are kept, and each line is split into cells once it is
  // parsed, so a large file is not held as millions of cell strings at once.
  const lines = text.split(/\r?\n/);
  const dataLines: number[] = [];
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed !== "" && !trimmed.startsWith("#")) dataLines.push(i);
  });
  const cellsOf = (index: number) => lines[index].trim().split(",").map((c) => c.trim());
  if (dataLines.length === 0) throw new FwdgradError(`${name}: no rows`);
  const numberLike = (cell: string) => DECIMAL.test(cell) || NON_FINITE.test(cell);
  const firstCells = cellsOf(dataLines[0]);
  const isHeader = !firstCells.some(numberLike) && firstCells.some((c) => c !== "");
  const headerLine = dataLines[0] + 1;
  if (isHeader) dataLines.shift();
  if (dataLines.length === 0) throw new FwdgradError(`${name}: no data rows after the header on line ${headerLine}`);
  const firstLine = dataLines[0] + 1;
  const width = cellsOf(dataLines[0]).length;
  const outputs = targets ?? 1;
  if (width < outputs + 1) {
    throw new FwdgradError(`${name}: line ${firstLine} has ${width} column${width === 1 ? "" : "s"}; rows need at least one feature and ${targets === undefined ? "a label" : `${targets} target${targets === 1 ? "" : "s"}`}`);
  }
  const features = width - outputs;
  const n = dataLines.length;
  const x = new Float32Array(n * features);
  const t = targets === undefined ? null : new Float32Array(n * targets);
  const labelLimit = classes ?? MAX_CLASSES;
  // Bytes while every label fits (the published sets' fingerprints stay as they were), then 32 bits.
  let y: Labels = new Uint8Array(t ? 0 : n);
  let maxLabel = 0;
  for (let r = 0; r < n; r++) {
    const line = dataLines[r] + 1;
    const cells = cellsOf(dataLines[r]);
    if (cells.length !== width) throw new FwdgradError(`${name}: line ${line} has ${cells.length} columns, expected ${width} (as on line ${firstLine})`);
    // The first row cannot be a header once it holds a number; say so when it looks like one.
    const hint = (cell: string) => (r === 0 && !isHeader && !numberLike(cell) ? "; a header row holds no numbers at all" : "");
    for (let f = 0; f < width - (t ? 0 : 1); f++) {
      const cell = cells[f];
      const value = DECIMAL.test(cell) ? Math.fround(Number(cell)) : NaN;
      if (!Number.isFinite(value)) throw new FwdgradError(`${name}: line ${line}, column ${f + 1} is ${shown(cell)}, not a finite float32 number${hint(cell)}`);
      if (f < features) x[r * features + f] = value;
      else t![r * outputs + f - features] = value;
    }
    if (t) continue;
    const cell = cells[features];
    const label = DECIMAL.test(cell) ? Number(cell) : NaN;
    if (!Number.isInteger(label) || label < 0 || label >= labelLimit) {
      throw new FwdgradError(`${name}: line ${line}, column ${width}: label ${shown(cell)} is not an integer in [0, ${labelLimit})${hint(cell)}`);
    }
    if (label >= BYTE_CLASSES && y instanceof Uint8Array) y = Int32Array.from(y);
    y[r] = label;
    maxLabel = Math.max(maxLabel, label);
  }
  if (t) return { split: { x, y, t, n }, features, classes: outputs };
  const found = classes ?? maxLabel + 1;
  // A declared class count beyond a byte takes 32-bit labels even when the rows' labels are small.
  if (found > BYTE_CLASSES && y instanceof Uint8Array) y = Int32Array.from(y);
  return { split: { x, y, n }, features, classes: found };
}

/**
 * Splits one set of rows into train and test: the first ⌊n·trainFraction⌋ rows train. `name` names
 * the source in errors.
 * @throws {FwdgradError} when `trainFraction` is not in (0, 1) or either part would be empty.
 */
export function splitRows(all: Split, features: number, trainFraction: number, name = "splitRows"): { train: Split; test: Split } {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new FwdgradError(`${name}: trainFraction must be in (0, 1), got ${trainFraction}`);
  const nTrain = Math.floor(all.n * trainFraction);
  if (nTrain === 0 || nTrain === all.n) {
    const percent = Math.round(trainFraction * 100);
    throw new FwdgradError(`${name}: ${all.n} data row${all.n === 1 ? "" : "s"} cannot be split ${percent}/${100 - percent} into non-empty train and test sets`);
  }
  const outputs = all.t ? all.t.length / all.n : 0;
  const part = (from: number, to: number): Split => ({
    x: all.x.slice(from * features, to * features),
    y: all.t ? all.y.slice(0, 0) : all.y.slice(from, to),
    ...(all.t ? { t: all.t.slice(from * outputs, to * outputs) } : {}),
    n: to - from,
  });
  return { train: part(0, nTrain), test: part(nTrain, all.n) };
}

/**
 * A CSV file's rows as a data set, as the CLI's `--data` and the lab page read one: parsed by
 * `parseCsvSplit` (its last `targets` columns regression targets when given), split 80/20 in file order.
 * @throws {FwdgradError} as `parseCsvSplit` and `splitRows` do, naming the file.
 */
export function datasetFromCsv(name: string, text: string, targets?: number): Dataset {
  const { split, features, classes } = parseCsvSplit(name, text, undefined, targets);
  return { ...splitRows(split, features, 0.8, name), features, classes, ...(targets === undefined ? {} : { targets }) };
}

/** The files of one split in a data folder, relative to it, and optionally its row count. */
export interface SplitFiles {
  x: string;
  y: string;
  n?: number;
}

/** A data folder's meta.json, checked: the files of both splits, features per row and classes. */
export interface DataFolderMeta {
  train: SplitFiles;
  test: SplitFiles;
  features: number;
  classes: number;
  /** Bytes per label in the y files: 1 (default, up to 256 classes) or 4 (i32 LE). */
  labelBytes: 1 | 4;
}

/**
 * Parses and checks a data folder's meta.json text: a JSON object with `train` and `test`, each
 * `{ x, y, n? }` naming files inside the folder (relative, no ".."), positive integer `features`
 * and `classes`, and `labelBytes` (1, the default, for byte labels up to 256 classes; 4 for i32 LE
 * labels). Other keys are descriptions and ignored.
 * Whether the files exist and match is the caller's to check; this needs no file system.
 */
export function parseDataFolderMeta(text: string, name = "meta.json"): DataFolderMeta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 120);
    throw new FwdgradError(`${name}: not valid JSON (${reason})`);
  }
  const describe = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : shown(v));
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw new FwdgradError(`${name}: expected a JSON object, got ${describe(value)}`);
  // Own keys only, so "constructor" and friends never come from Object.prototype.
  const field = (object: Record<string, unknown>, key: string) => (Object.hasOwn(object, key) ? object[key] : undefined);
  const positiveInteger = (object: Record<string, unknown>, key: string, path: string, max = Number.MAX_SAFE_INTEGER) => {
    const v = field(object, key);
    if (v === undefined) throw new FwdgradError(`${name}: "${path}" is missing`);
    if (v === 0 && key === "n") throw new FwdgradError(`${name}: "${path}" is 0: an empty split cannot train or be evaluated`);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw new FwdgradError(`${name}: "${path}" must be an integer in [1, ${max === Number.MAX_SAFE_INTEGER ? "2^53)" : `${max}]`}, got ${describe(v)}`);
    }
    return v;
  };
  const file = (split: Record<string, unknown>, key: string, path: string) => {
    const v = field(split, key);
    if (v === undefined) throw new FwdgradError(`${name}: "${path}" is missing (the file's path inside the data folder)`);
    if (typeof v !== "string" || v === "") throw new FwdgradError(`${name}: "${path}" must be a file name, got ${describe(v)}`);
    const escapes = v.startsWith("/") || /^[A-Za-z]:/.test(v) || v.includes("\\") || v.includes("\0") || v.split("/").includes("..");
    if (escapes) throw new FwdgradError(`${name}: "${path}" is ${shown(v)}: files must be named relative to the data folder, without ".." or backslashes`);
    return v;
  };
  const splitFiles = (key: "train" | "test"): SplitFiles => {
    const split = field(value, key);
    if (split === undefined) throw new FwdgradError(`${name}: the "${key}" split is missing`);
    if (!isObject(split)) throw new FwdgradError(`${name}: "${key}" must be an object {x, y, n}, got ${describe(split)}`);
    const files: SplitFiles = { x: file(split, "x", `${key}.x`), y: file(split, "y", `${key}.y`) };
    if (field(split, "n") !== undefined) files.n = positiveInteger(split, "n", `${key}.n`);
    return files;
  };
  const train = splitFiles("train");
  const test = splitFiles("test");
  const features = positiveInteger(value, "features", "features");
  const classes = positiveInteger(value, "classes", "classes", MAX_CLASSES);
  const bytes = field(value, "labelBytes") ?? 1;
  if (bytes !== 1 && bytes !== 4) throw new FwdgradError(`${name}: "labelBytes" must be 1 or 4, got ${describe(bytes)}`);
  if (bytes === 1 && classes > BYTE_CLASSES) throw new FwdgradError(`${name}: ${classes} classes need "labelBytes": 4 (byte labels hold at most ${BYTE_CLASSES})`);
  return { train, test, features, classes, labelBytes: bytes };
}

/** The rows `rows` of a row-major table of `width` columns, gathered in order (a minibatch's inputs or targets). */
export function gatherTableRows(values: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) out.set(values.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
}

/** A permutation of 0 .. n−1 by Fisher–Yates from the last index down, swap i drawn from uniforms[i]. */
export function fisherYates(uniforms: Float32Array, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniforms[i] * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
