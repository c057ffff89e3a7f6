// The MNIST-1D CNN: the MNIST-1D repository's ConvBase (Greydanus 2020, notebooks/models.py), three
// 1-D convolutions with ReLU — 1 → c channels, kernel 5, then c → c, kernel 3, each stride 2 and
// padding 1 — and a linear head on the flattened features: 40 → 19 → 10 → 5 positions, so the head
// reads 5·c features (125 at ConvBase's 25 channels). Initialised as PyTorch initialises it.
import { FwdgradError } from "../engine/errors.ts";
import { rng as seeded } from "../engine/rng.ts";
import { conv1dLayer } from "./conv.ts";
import { dense } from "./dense.ts";
import type { Layer } from "./layer.ts";
import { reluLayer } from "./relu.ts";
import { sequential, type Model } from "./sequential.ts";

/** Options of {@link createCnn}. */
export interface CnnOptions {
  /** Signal length (the input's features). Default 40, MNIST-1D's. */
  length?: number;
  /** Output classes. Default 10. */
  classes?: number;
  /** Channels of every convolution. Default 25, ConvBase's. */
  channels?: number;
  /** Convolutions: ConvBase's three (kernel 5, then 3 and 3), or more of kernel 3. Default 3. */
  convs?: number;
  /** Biases on every layer. Default true, as ConvBase has (PyTorch's default). */
  bias?: boolean;
  /** Seed of the initialisation. Default 0. */
  seed?: number;
}

/** Convolution i's (kernel, stride, padding): ConvBase's kernel 5 first, then kernel 3; stride 2, padding 1. */
const convShape = (i: number): [kernel: number, stride: number, padding: number] => [i === 0 ? 5 : 3, 2, 1];

/**
 * The sizes of {@link createCnn}'s model (features after each linear layer, the input first) without
 * building it: [length, c·L₁, c·L₂, …, classes], L_i the positions after convolution i.
 * @throws {FwdgradError} as createCnn.
 */
export function cnnSizes(options: CnnOptions = {}): number[] {
  const { length = 40, classes = 10, channels = 25, convs = 3, seed = 0 } = options;
  for (const [name, value] of Object.entries({ length, classes, channels, convs })) {
    if (!Number.isInteger(value) || value < 1) throw new FwdgradError(`createCnn: ${name} must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(seed) || seed < 0) throw new FwdgradError(`createCnn: seed must be an integer ≥ 0, got ${seed}`);
  const sizes = [length];
  let positions = length;
  for (let i = 0; i < convs; i++) {
    const [kernel, stride, padding] = convShape(i);
    if (positions + 2 * padding < kernel) throw new FwdgradError(`createCnn: a signal of length ${length} is too short for ${convs} stride-2 convolutions (convolution ${i} gets ${positions} positions)`);
    positions = Math.floor((positions + 2 * padding - kernel) / stride) + 1;
    sizes.push(channels * positions);
  }
  return [...sizes, classes];
}

/**
 * ConvBase of the MNIST-1D repository with `channels` channels: conv1d(1→c, 5, stride 2, padding 1),
 * ReLU, conv1d(c→c, 3, 2, 1), ReLU, conv1d(c→c, 3, 2, 1), ReLU, linear(5·c → classes) for signals of
 * length 40. Its sizes (features after each linear layer) are [40, 19c, 10c, 5c, classes].
 * With `convs` other than 3, the convolutions after ConvBase's first three have kernel 3 as well.
 * @throws {FwdgradError} when an option is not a positive integer (seed: ≥ 0), or the length is too short for the stride-2 convolutions.
 * @example
 * ```ts
 * const cnn = createCnn({ channels: 25, seed: 0 }); // 5210 parameters, as ConvBase
 * cnn.sizes; // [40, 475, 250, 125, 10]
 * ```
 */
export function createCnn(options: CnnOptions = {}): Model {
  const sizes = cnnSizes(options);
  const { classes = 10, channels = 25, convs = 3, bias = true, seed = 0 } = options;
  const r = seeded(seed);
  const layers: Layer[] = [];
  for (let i = 0; i < convs; i++) {
    const [kernel, stride, padding] = convShape(i);
    // Convolution i reads sizes[i] features: the signal, then `channels` channels of positions.
    const [inChannels, positions] = i === 0 ? [1, sizes[0]] : [channels, sizes[i] / channels];
    layers.push(conv1dLayer(inChannels, channels, kernel, positions, r.split(i), { stride, padding, bias }), reluLayer());
  }
  layers.push(dense(sizes[convs], classes, r.split(convs), { bias }));
  return sequential(layers);
}
