// A 2-D max-pooling layer (no parameters): non-overlapping size×size windows of each channel, on
// flat rows [batch, channels·height·width] as every layer between two linear ones reads them.
// Its derivative selects one element per window, which depends on the input: no mask, so the
// guesses built from the next layer's map J (Wᵀ, W̃⊥, …) refuse a site it follows (`nextLinear`).
import { FwdgradError } from "../engine/errors.ts";
import { maxPool2d, reshape } from "../engine/ops.ts";
import type { Layer, LayerKind } from "./layer.ts";

/** A max-pooling layer over images [channels, height, width]. Built by {@link maxPool2dLayer}. */
export interface MaxPool2d extends Layer {
  /** Always `"maxPool2d"`. */
  readonly kind: "maxPool2d";
  /** Channels of the images it pools. */
  readonly channels: number;
  /** The input image's [height, width], multiples of `size`. */
  readonly input: readonly [number, number];
  /** The window's side (and its stride). */
  readonly size: number;
}

/**
 * Max pooling of `size`×`size` windows over images of `channels` channels and `image` [H, W], for
 * `sequential`: it reads rows [B, channels·H·W] and writes [B, channels·(H/size)·(W/size)].
 * @throws {FwdgradError} when a size is not a positive integer or H, W are not multiples of `size`.
 * @example
 * ```ts
 * maxPool2dLayer(64, [28, 28], 2); // [B, 64·784] -> [B, 64·196]
 * ```
 */
export function maxPool2dLayer(channels: number, image: readonly [number, number], size: number): MaxPool2d {
  if (![channels, ...image, size].every((d) => Number.isInteger(d) && d >= 1)) throw new FwdgradError(`maxPool2dLayer: channels, image and size must be positive integers, got ${JSON.stringify({ channels, image, size })}`);
  if (image[0] % size !== 0 || image[1] % size !== 0) throw new FwdgradError(`maxPool2dLayer: ${image[0]}×${image[1]} is not a whole number of ${size}×${size} windows`);
  return { kind: "maxPool2d", channels, input: [image[0], image[1]], size };
}

export const MAX_POOL_2D: LayerKind<MaxPool2d> = {
  params: () => [],
  apply: (layer, x) => {
    const pooled = maxPool2d(reshape(x, [x.shape[0], layer.channels, ...layer.input]), layer.size);
    return reshape(pooled, [x.shape[0], pooled.size / Math.max(1, x.shape[0])]);
  },
  resize: (layer) => ({ from: layer.channels * layer.input[0] * layer.input[1], to: (layer.channels * layer.input[0] * layer.input[1]) / layer.size ** 2 }),
};
