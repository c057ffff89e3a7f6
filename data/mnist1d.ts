// MNIST-1D (Greydanus, "Scaling down deep learning", 2020), generated here from its recipe
// (../shared/docs/mnist1d-recipe.md): ten 12-point digit templates are padded, dilated, scaled,
// translated, given correlated and iid noise, sheared and resampled to 40 points. With the default
// options and numpy's legacy MT19937 stream this reproduces the published set to float rounding.
import { exp64 } from "../engine/math64.ts";
import { FwdgradError } from "../engine/errors.ts";
import { NumpyRandom } from "./numpy-random.ts";

const TEMPLATES = [
  [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
  [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
  [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
  [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
  [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
  [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
  [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
  [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
  [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
  [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
];

/** Options of {@link generateMnist1d}: the recipe's parameters, each defaulting to the published set's. */
export interface Mnist1dOptions {
  /** Examples in all, a multiple of 10 (a tenth per digit). Default 5000. */
  numSamples?: number;
  /** The fraction of examples in the training split, in (0, 1). Default 0.8. */
  trainSplit?: number;
  /** [min, max] zeros padded after the 12-point template, drawn per example. Default [36, 60]. */
  padding?: [number, number];
  /** The scale factor is 1 + scaleCoeff·(u − 0.5), u uniform in [0, 1). Default 0.4. */
  scaleCoeff?: number;
  /** Translations (circular shifts) are drawn from [0, maxTranslation − 1]. Default 48. */
  maxTranslation?: number;
  /** Standard deviation of the smoothed noise filling where the signal is zero. Default 0.25. */
  corrNoiseScale?: number;
  /** Standard deviation of the iid noise added everywhere. Default 0.02. */
  iidNoiseScale?: number;
  /** The shear subtracts c·ramp with c = shearScale·(u − 0.5). Default 0.75. */
  shearScale?: number;
  /** Features per example after resampling. Default 40. */
  finalSeqLength?: number;
  /** Seed of numpy's legacy MT19937 stream, an integer in [0, 2^32). Default 42. */
  seed?: number;
}

/** One split of MNIST-1D: its examples and their digit labels. */
export interface Mnist1dSplit {
  /** Row-major [n, features]. */
  x: Float32Array;
  /** Labels 0..9. */
  y: Uint8Array;
  /** Number of examples (rows). */
  n: number;
}

/** The data set {@link generateMnist1d} returns: both splits and their dimensions. */
export interface Mnist1d {
  /** The training split: round(numSamples·trainSplit) of the shuffled examples. */
  train: Mnist1dSplit;
  /** The test split (the rest). */
  test: Mnist1dSplit;
  /** Features per example (`finalSeqLength`, 40 by default). */
  features: number;
  /** Number of classes: 10. */
  classes: number;
}

const DEFAULTS: Required<Mnist1dOptions> = {
  numSamples: 5000, trainSplit: 0.8, padding: [36, 60], scaleCoeff: 0.4, maxTranslation: 48,
  corrNoiseScale: 0.25, iidNoiseScale: 0.02, shearScale: 0.75, finalSeqLength: 40, seed: 42,
};

/** numpy.linspace(start, stop, n): i·step + start, with the last point exactly `stop`. */
function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + start;
  if (n > 1) out[n - 1] = stop;
  return out;
}

/** scipy interp1d(linspace(0, 1, len), y, kind="linear") evaluated at linspace(0, 1, n). */
function resample(y: Float64Array, n: number): Float64Array {
  const xs = linspace(0, 1, y.length);
  const xNew = linspace(0, 1, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // searchsorted (side left), clipped to [1, len − 1]
    let hi = 0;
    while (hi < xs.length && xs[hi] < xNew[i]) hi++;
    hi = Math.min(Math.max(hi, 1), xs.length - 1);
    const lo = hi - 1;
    const slope = (y[hi] - y[lo]) / (xs[hi] - xs[lo]);
    out[i] = slope * (xNew[i] - xs[lo]) + y[lo];
  }
  return out;
}

/** scipy.ndimage.gaussian_filter1d(x, sigma, truncate 4, mode "reflect"). */
function gaussianFilter(x: Float64Array, sigma: number): Float64Array {
  const radius = Math.trunc(4 * sigma + 0.5);
  const weights = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    weights[i + radius] = exp64((-0.5 / (sigma * sigma)) * i * i);
    total += weights[i + radius];
  }
  for (let i = 0; i < weights.length; i++) weights[i] /= total;
  const n = x.length;
  const reflect = (i: number): number => {
    // Half-sample symmetric: … x1 x0 | x0 x1 … x(n−1) | x(n−1) x(n−2) …
    const period = 2 * n;
    let j = ((i % period) + period) % period;
    if (j >= n) j = period - 1 - j;
    return j;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = -radius; t <= radius; t++) s += weights[t + radius] * x[reflect(i + t)];
    out[i] = s;
  }
  return out;
}

/** The templates, each standardised (population std), started at 0 and divided by 6. */
function templates(): Float64Array[] {
  return TEMPLATES.map((row) => {
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const std = Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / row.length);
    const z = row.map((v) => (v - mean) / std);
    return Float64Array.from(z.map((v) => (v - z[0]) / 6));
  });
}

function example(template: Float64Array, o: Required<Mnist1dOptions>, r: NumpyRandom): Float64Array {
  const [padMin, padMax] = o.padding;
  const length = template.length + padMax;
  // 1. pad
  const pad = padMin + Math.floor(r.uniform() * (padMax - padMin + 1));
  const padded = new Float64Array(template.length + pad);
  for (let i = 0; i < template.length; i++) padded[i] = template[i] + 1e-8;
  // 2. dilate, 3. scale
  let x = resample(padded, length);
  const scale = 1 + o.scaleCoeff * (r.uniform() - 0.5);
  x = x.map((v) => v * scale);
  // 4. translate: rotate right by k
  const k = r.interval(o.maxTranslation - 1);
  const rotated = new Float64Array(length);
  for (let i = 0; i < length; i++) rotated[(i + k) % length] = x[i];
  x = rotated;
  // 5. correlated noise where the signal is exactly zero (drawn for every example)
  const corr = new Float64Array(length);
  for (let i = 0; i < length; i++) corr[i] = o.corrNoiseScale * r.gauss();
  const smooth = gaussianFilter(corr, 2);
  for (let i = 0; i < length; i++) if (x[i] === 0) x[i] = smooth[i];
  // 6. iid noise
  for (let i = 0; i < length; i++) x[i] += o.iidNoiseScale * r.gauss();
  // 7. shear
  const c = o.shearScale * (r.uniform() - 0.5);
  const ramp = linspace(-0.5, 0.5, length);
  for (let i = 0; i < length; i++) x[i] -= c * ramp[i];
  // 8. subsample
  return resample(x, o.finalSeqLength);
}

function checkOptions(o: Required<Mnist1dOptions>): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new FwdgradError(`generateMnist1d: ${name} must be a positive integer, got ${v}`);
  };
  positiveInt("numSamples", o.numSamples);
  positiveInt("finalSeqLength", o.finalSeqLength);
  positiveInt("maxTranslation", o.maxTranslation);
  if (o.numSamples % 10 !== 0) throw new FwdgradError(`generateMnist1d: numSamples must be a multiple of 10 (one tenth per digit), got ${o.numSamples}`);
  if (!(o.trainSplit > 0 && o.trainSplit < 1)) throw new FwdgradError(`generateMnist1d: trainSplit must be in (0, 1), got ${o.trainSplit}`);
  const [lo, hi] = o.padding ?? [];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < lo) {
    throw new FwdgradError(`generateMnist1d: padding must be [min, max] integers with 0 ≤ min ≤ max, got ${JSON.stringify(o.padding)}`);
  }
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32) throw new FwdgradError(`generateMnist1d: seed must be an integer in [0, 2^32), got ${o.seed}`);
  for (const key of ["scaleCoeff", "corrNoiseScale", "iidNoiseScale", "shearScale"] as const) {
    if (!Number.isFinite(o[key]) || o[key] < 0) throw new FwdgradError(`generateMnist1d: ${key} must be a finite number ≥ 0, got ${o[key]}`);
  }
}

/**
 * Generates MNIST-1D. With no options this is the published data set (seed 42): 4000 training and
 * 1000 test examples of 40 features, standardised with one global mean and standard deviation.
 * @throws {FwdgradError} when an option is out of range (numSamples not a positive multiple of 10,
 * trainSplit outside (0, 1), padding not [min, max] integers, a negative scale, a seed outside [0, 2^32)).
 * @example
 * ```ts
 * const { train, test } = generateMnist1d();            // train.x: Float32Array [4000·40]
 * const small = generateMnist1d({ numSamples: 1000, seed: 7 });
 * ```
 */
export function generateMnist1d(options: Mnist1dOptions = {}): Mnist1d {
  const o: Required<Mnist1dOptions> = { ...DEFAULTS, ...options };
  checkOptions(o);
  const r = new NumpyRandom(o.seed);
  const shapes = templates();
  const perClass = o.numSamples / 10;
  const features = o.finalSeqLength;
  const xs: Float64Array[] = [];
  const ys: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    for (let i = 0; i < perClass; i++) {
      xs.push(example(shapes[digit], o, r));
      ys.push(digit);
    }
  }
  const order = r.permutation(o.numSamples);
  let mean = 0;
  for (const row of xs) for (const v of row) mean += v;
  mean /= o.numSamples * features;
  let variance = 0;
  for (const row of xs) for (const v of row) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / (o.numSamples * features));
  const split = (from: number, to: number): Mnist1dSplit => {
    const n = to - from;
    const x = new Float32Array(n * features);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const src = order[from + i];
      for (let f = 0; f < features; f++) x[i * features + f] = (xs[src][f] - mean) / std;
      y[i] = ys[src];
    }
    return { x, y, n };
  };
  const nTrain = Math.round(o.numSamples * o.trainSplit);
  return { train: split(0, nTrain), test: split(nTrain, o.numSamples), features, classes: 10 };
}
