// Data sets as plain arrays: features row-major f32, labels 0..classes−1. Parsers for the binary
// format of MNIST-1D's reference copy (x: f32 little-endian [n, features], y: u8 [n]) and for CSV
// (features then the label on every row). They take bytes or text, so they run in every runtime;
// reading files is the caller's (the CLI's). Bad input gets an error naming the file and the fault.
import { FwdgradError } from "../engine/errors.ts";

export interface Split {
  /** Row-major [n, features]. */
  x: Float32Array;
  /** Labels in [0, classes). */
  y: Uint8Array;
  n: number;
}

export interface Dataset {
  train: Split;
  test: Split;
  features: number;
  classes: number;
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

/** Labels are bytes, so at most 256 classes can be told apart. */
const MAX_CLASSES = 256;

function checkClasses(name: string, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES) throw new FwdgradError(`${name}: classes must be an integer in [1, ${MAX_CLASSES}], got ${shown(classes)}`);
}

/**
 * Checks values and labels: finite features, integer labels in [0, classes). Rows and features are
 * counted from 1. `yName` names the label file when it is not the feature file.
 */
export function checkSplit(name: string, split: Split, features: number, classes: number, yName = name): void {
  if (split.x.length !== split.n * features) throw new FwdgradError(`${name}: ${split.x.length} values for ${split.n} rows of ${features} features`);
  if (split.y.length !== split.n) throw new FwdgradError(`${yName}: ${split.y.length} labels for ${split.n} rows`);
  const bad = split.x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new FwdgradError(`${name}: row ${Math.floor(bad / features) + 1}, feature ${(bad % features) + 1} is ${split.x[bad]}`);
  const badLabel = split.y.findIndex((label) => label >= classes);
  if (badLabel >= 0) throw new FwdgradError(`${yName}: label ${split.y[badLabel]} at row ${badLabel + 1} is outside [0, ${classes})`);
}

/**
 * One split from the binary format: x bytes (f32 LE, [n, features]) and y bytes (u8, [n]). `name`
 * names the x file in errors, `yName` the y file.
 */
export function parseBinarySplit(name: string, xBytes: Uint8Array, yBytes: Uint8Array, features: number, classes: number, yName = name): Split {
  if (!Number.isSafeInteger(features) || features < 1) throw new FwdgradError(`${name}: features must be a positive integer, got ${shown(features)}`);
  checkClasses(name, classes);
  if (xBytes.length % (4 * features) !== 0) {
    throw new FwdgradError(`${name}: x has ${xBytes.length} bytes, not a whole number of rows of ${features} f32 values`);
  }
  const n = xBytes.length / (4 * features);
  if (n === 0) throw new FwdgradError(`${name}: no rows (a split needs at least one example)`);
  if (yBytes.length !== n) throw new FwdgradError(`${yName}: y has ${yBytes.length} labels for ${n} rows of x`);
  const view = new DataView(xBytes.buffer, xBytes.byteOffset, xBytes.byteLength);
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
  const split = { x, y: yBytes.slice(), n };
  checkSplit(name, split, features, classes, yName);
  return split;
}

/**
 * One split from CSV text: every row holds `features` numbers, then the integer label. Blank lines
 * and lines starting with # are skipped; a first row with no number in it is a header. Errors name
 * the file and the physical line and column, counted from 1.
 */
export function parseCsvSplit(name: string, text: string, classes?: number): { split: Split; features: number; classes: number } {
  if (classes !== undefined) checkClasses(name, classes);
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
  if (width < 2) throw new FwdgradError(`${name}: line ${firstLine} has ${width} column; rows need at least one feature and a label`);
  const features = width - 1;
  const n = dataLines.length;
  const x = new Float32Array(n * features);
  const y = new Uint8Array(n);
  const labelLimit = classes ?? MAX_CLASSES;
  let maxLabel = 0;
  for (let r = 0; r < n; r++) {
    const line = dataLines[r] + 1;
    const cells = cellsOf(dataLines[r]);
    if (cells.length !== width) throw new FwdgradError(`${name}: line ${line} has ${cells.length} columns, expected ${width} (as on line ${firstLine})`);
    // The first row cannot be a header once it holds a number; say so when it looks like one.
    const hint = (cell: string) => (r === 0 && !isHeader && !numberLike(cell) ? "; a header row holds no numbers at all" : "");
    for (let f = 0; f < features; f++) {
      const cell = cells[f];
      const value = DECIMAL.test(cell) ? Math.fround(Number(cell)) : NaN;
      if (!Number.isFinite(value)) throw new FwdgradError(`${name}: line ${line}, column ${f + 1} is ${shown(cell)}, not a finite float32 number${hint(cell)}`);
      x[r * features + f] = value;
    }
    const cell = cells[features];
    const label = DECIMAL.test(cell) ? Number(cell) : NaN;
    if (!Number.isInteger(label) || label < 0 || label >= labelLimit) {
      throw new FwdgradError(`${name}: line ${line}, column ${width}: label ${shown(cell)} is not an integer in [0, ${labelLimit})${hint(cell)}`);
    }
    y[r] = label;
    maxLabel = Math.max(maxLabel, label);
  }
  return { split: { x, y, n }, features, classes: classes ?? maxLabel + 1 };
}

/** Splits one set of rows into train and test: the first ⌊n·trainFraction⌋ rows train. `name` names the source in errors. */
export function splitRows(all: Split, features: number, trainFraction: number, name = "splitRows"): { train: Split; test: Split } {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new FwdgradError(`${name}: trainFraction must be in (0, 1), got ${trainFraction}`);
  const nTrain = Math.floor(all.n * trainFraction);
  if (nTrain === 0 || nTrain === all.n) {
    const percent = Math.round(trainFraction * 100);
    throw new FwdgradError(`${name}: ${all.n} data row${all.n === 1 ? "" : "s"} cannot be split ${percent}/${100 - percent} into non-empty train and test sets`);
  }
  const part = (from: number, to: number): Split => ({ x: all.x.slice(from * features, to * features), y: all.y.slice(from, to), n: to - from });
  return { train: part(0, nTrain), test: part(nTrain, all.n) };
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
}

/**
 * Parses and checks a data folder's meta.json text: a JSON object with `train` and `test`, each
 * `{ x, y, n? }` naming files inside the folder (relative, no ".."), and positive integer
 * `features` and `classes` (at most 256: labels are bytes). Other keys are descriptions and ignored.
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
  return { train, test, features, classes };
}
