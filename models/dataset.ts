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

/** Checks values and labels: finite features, integer labels in [0, classes). */
export function checkSplit(name: string, split: Split, features: number, classes: number): void {
  if (split.x.length !== split.n * features) throw new FwdgradError(`${name}: ${split.x.length} values for ${split.n} rows of ${features} features`);
  if (split.y.length !== split.n) throw new FwdgradError(`${name}: ${split.y.length} labels for ${split.n} rows`);
  const bad = split.x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new FwdgradError(`${name}: row ${Math.floor(bad / features)}, feature ${bad % features} is ${split.x[bad]}`);
  const badLabel = split.y.findIndex((label) => label >= classes);
  if (badLabel >= 0) throw new FwdgradError(`${name}: label ${split.y[badLabel]} at row ${badLabel} is outside [0, ${classes})`);
}

/** One split from the binary format: x bytes (f32 LE, [n, features]) and y bytes (u8, [n]). */
export function parseBinarySplit(name: string, xBytes: Uint8Array, yBytes: Uint8Array, features: number, classes: number): Split {
  if (!Number.isInteger(features) || features < 1) throw new FwdgradError(`${name}: features must be a positive integer, got ${features}`);
  if (xBytes.length % (4 * features) !== 0) {
    throw new FwdgradError(`${name}: x has ${xBytes.length} bytes, not a whole number of rows of ${features} f32 values`);
  }
  const n = xBytes.length / (4 * features);
  if (yBytes.length !== n) throw new FwdgradError(`${name}: y has ${yBytes.length} labels for ${n} rows of x`);
  const view = new DataView(xBytes.buffer, xBytes.byteOffset, xBytes.byteLength);
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = view.getFloat32(4 * i, true);
  const split = { x, y: yBytes.slice(), n };
  checkSplit(name, split, features, classes);
  return split;
}

/** One split from CSV text: every row holds `features` numbers, then the integer label. */
export function parseCsvSplit(name: string, text: string, classes?: number): { split: Split; features: number; classes: number } {
  const rows = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (rows.length === 0) throw new FwdgradError(`${name}: no rows`);
  // A first row that is not numeric is a header.
  const first = rows[0].split(",");
  if (first.some((c) => c.trim() === "" || Number.isNaN(Number(c)))) rows.shift();
  if (rows.length === 0) throw new FwdgradError(`${name}: no data rows after the header`);
  const width = rows[0].split(",").length;
  if (width < 2) throw new FwdgradError(`${name}: rows need at least one feature and a label`);
  const features = width - 1;
  const x = new Float32Array(rows.length * features);
  const y = new Uint8Array(rows.length);
  let maxLabel = 0;
  rows.forEach((row, r) => {
    const cells = row.split(",");
    if (cells.length !== width) throw new FwdgradError(`${name}: row ${r + 1} has ${cells.length} columns, expected ${width}`);
    for (let f = 0; f < features; f++) {
      const v = Number(cells[f]);
      if (cells[f].trim() === "" || !Number.isFinite(v)) throw new FwdgradError(`${name}: row ${r + 1}, column ${f + 1} is "${cells[f].trim()}", not a finite number`);
      x[r * features + f] = v;
    }
    const label = Number(cells[features]);
    if (!Number.isInteger(label) || label < 0 || label > 255) throw new FwdgradError(`${name}: row ${r + 1} has label "${cells[features].trim()}", not an integer in [0, 255]`);
    y[r] = label;
    maxLabel = Math.max(maxLabel, label);
  });
  const count = classes ?? maxLabel + 1;
  const split = { x, y, n: rows.length };
  checkSplit(name, split, features, count);
  return { split, features, classes: count };
}

/** Splits one set of rows into train and test: the first ⌊n·trainFraction⌋ rows train. */
export function splitRows(all: Split, features: number, trainFraction: number): { train: Split; test: Split } {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new FwdgradError(`splitRows: trainFraction must be in (0, 1), got ${trainFraction}`);
  const nTrain = Math.floor(all.n * trainFraction);
  if (nTrain === 0 || nTrain === all.n) throw new FwdgradError(`splitRows: ${all.n} rows cannot be split ${trainFraction} / ${1 - trainFraction}`);
  const part = (from: number, to: number): Split => ({ x: all.x.slice(from * features, to * features), y: all.y.slice(from, to), n: to - from });
  return { train: part(0, nTrain), test: part(nTrain, all.n) };
}
