// The MNIST-1D CNN: the MNIST-1D repository's ConvBase (Greydanus 2020, notebooks/models.py), three
// 1-D convolutions with ReLU — 1 → c channels, kernel 5, then c → c, kernel 3, each stride 2 and
// padding 1 — and a linear head on the flattened features: 40 → 19 → 10 → 5 positions, so the head
// reads 5·c features (125 at ConvBase's 25 channels). Initialised as PyTorch initialises it.
import { FwdgradError } from "../engine/errors.ts";
import { rng as seeded } from "../engine/rng.ts";
import { convOutput, conv1dLayer, type Conv } from "./conv.ts";
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
  /** Biases on every layer. Default true, as ConvBase has (PyTorch's default). */
  bias?: boolean;
  /** Seed of the initialisation. Default 0. */
  seed?: number;
}

/** The convolutions' (kernel, stride, padding), in order: ConvBase's. */
const CONV_BASE = [[5, 2, 1], [3, 2, 1], [3, 2, 1]] as const;

/**
 * ConvBase of the MNIST-1D repository with `channels` channels: conv1d(1→c, 5, stride 2, padding 1),
 * ReLU, conv1d(c→c, 3, 2, 1), ReLU, conv1d(c→c, 3, 2, 1), ReLU, linear(5·c → classes) for signals of
 * length 40. Its sizes (features after each linear layer) are [40, 19c, 10c, 5c, classes].
 * @throws {FwdgradError} when an option is not a positive integer, or the length is too short for three stride-2 convolutions.
 * @example
 * ```ts
 * const cnn = createCnn({ channels: 25, seed: 0 }); // 5210 parameters, as ConvBase
 * cnn.sizes; // [40, 475, 250, 125, 10]
 * ```
 */
export function createCnn(options: CnnOptions = {}): Model {
  const { length = 40, classes = 10, channels = 25, bias = true, seed = 0 } = options;
  for (const [name, value] of Object.entries({ length, classes, channels, seed: seed + 1 })) {
    if (!Number.isInteger(value) || value < 1) throw new FwdgradError(`createCnn: ${name} must be a positive integer, got ${name === "seed" ? seed : value}`);
  }
  const r = seeded(seed);
  const layers: Layer[] = [];
  let positions = length;
  let inChannels = 1;
  CONV_BASE.forEach(([kernel, stride, padding], i) => {
    if (positions + 2 * padding < kernel) throw new FwdgradError(`createCnn: a signal of length ${length} is too short for ConvBase's convolutions (layer ${i} gets ${positions} positions)`);
    const conv: Conv = conv1dLayer(inChannels, channels, kernel, positions, r.split(i), { stride, padding, bias });
    layers.push(conv, reluLayer());
    positions = convOutput(conv)[0];
    inChannels = channels;
  });
  layers.push(dense(channels * positions, classes, r.split(CONV_BASE.length), { bias }));
  return sequential(layers);
}
