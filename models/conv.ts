// Convolutional layers, conv1d and conv2d, in PyTorch's layout: weight [out, in, K] or
// [out, in, KH, KW], bias [out]. Between layers a model's activations are flat rows [batch, features]
// (channels first, then positions: PyTorch's NCL/NCHW flattened), so a convolution is one more layer
// linear in its input: its map J is the convolution, Jᵀ the transposed convolution, both for the
// whole batch at once. That is all the Wᵀ and W̃⊥ guesses need of the layer after a site, and the
// flatten before a dense head is no layer at all.
// Initialised as PyTorch's nn.Conv1d/nn.Conv2d: W and b ~ U(−1/√fan_in, 1/√fan_in), fan_in = in·K.
import { convOutputLength, perAxis } from "../engine/conv.ts";
import { FwdgradError } from "../engine/errors.ts";
import { vjp } from "../engine/jvp.ts";
import { add, conv1d, conv1dTranspose, conv2d, conv2dTranspose, reshape, sum, transpose } from "../engine/ops.ts";
import type { Rng } from "../engine/rng.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { uniform } from "./dense.ts";
import type { Layer, LayerKind } from "./layer.ts";

/** A convolutional layer: its weights, bias and geometry. Built by {@link conv1dLayer} or {@link conv2dLayer}. */
export interface Conv extends Layer {
  readonly kind: "conv1d" | "conv2d";
  /** [out, in, K] (conv1d) or [out, in, KH, KW] (conv2d). */
  w: Tensor;
  /** [out], or null without bias. */
  b: Tensor | null;
  /** The input's spatial size: [L] or [H, W]. */
  readonly input: readonly number[];
  /** Step between output positions, per spatial axis. */
  readonly stride: readonly number[];
  /** Zeros added at both ends, per spatial axis. */
  readonly padding: readonly number[];
  /** Spacing between kernel taps, per spatial axis. */
  readonly dilation: readonly number[];
}

/** Options of {@link conv1dLayer} and {@link conv2dLayer}. */
export interface ConvLayerOptions {
  /** Default 1; one number for every axis or one per axis. */
  stride?: number | readonly number[];
  /** Default 0. */
  padding?: number | readonly number[];
  /** Default 1. */
  dilation?: number | readonly number[];
  /** Default true, as PyTorch's. */
  bias?: boolean;
}

function convLayer(kind: Conv["kind"], channels: number, outChannels: number, kernel: number[], input: number[], r: Rng, options: ConvLayerOptions): Conv {
  const axes = kernel.length;
  const op = `${kind}Layer`;
  const sizes = [channels, outChannels, ...kernel, ...input];
  if (sizes.some((d) => !Number.isInteger(d) || d < 1)) throw new FwdgradError(`${op}: channels, kernel and input sizes must be positive integers, got ${JSON.stringify({ channels, outChannels, kernel, input })}`);
  const stride = perAxis(op, "stride", options.stride, 1, 1, axes);
  const padding = perAxis(op, "padding", options.padding, 0, 0, axes);
  const dilation = perAxis(op, "dilation", options.dilation, 1, 1, axes);
  const output = input.map((n, a) => convOutputLength(n, kernel[a], stride[a], padding[a], dilation[a]));
  if (output.some((n) => n < 1)) throw new FwdgradError(`${op}: a kernel of ${kernel.join("×")} does not fit an input of ${input.join("×")} with padding ${padding.join("×")} and dilation ${dilation.join("×")}`);
  const bound = 1 / Math.sqrt(channels * kernel.reduce((a, b) => a * b, 1));
  return {
    kind, w: uniform(r, [outChannels, channels, ...kernel], bound), b: options.bias ?? true ? uniform(r.split(1), [outChannels], bound) : null,
    input, stride, padding, dilation,
  };
}

/**
 * A 1-D convolution over signals of `length` positions with `channels` channels, as PyTorch's
 * nn.Conv1d(channels, outChannels, kernel, stride, padding, dilation) initialised from `r` (the bias
 * from `r.split(1)`). In a model it reads rows [batch, channels·length] and writes [batch, outChannels·L_out].
 * @throws {FwdgradError} when a size is not a positive integer, an option is out of range, or the kernel does not fit.
 * @example
 * ```ts
 * const layer = conv1dLayer(1, 25, 5, 40, rng(0), { stride: 2, padding: 1 }); // [B, 40] -> [B, 25·19]
 * ```
 */
export function conv1dLayer(channels: number, outChannels: number, kernel: number, length: number, r: Rng, options: ConvLayerOptions = {}): Conv {
  return convLayer("conv1d", channels, outChannels, [kernel], [length], r, options);
}

/**
 * A 2-D convolution over images [channels, height, width], as PyTorch's nn.Conv2d initialised from
 * `r`. In a model it reads rows [batch, channels·height·width] and writes [batch, outChannels·OH·OW].
 * @throws {FwdgradError} when a size is not a positive integer, an option is out of range, or the kernel does not fit.
 * @example
 * ```ts
 * const layer = conv2dLayer(1, 32, [3, 3], [28, 28], rng(0), { padding: 1 }); // [B, 784] -> [B, 32·784]
 * ```
 */
export function conv2dLayer(channels: number, outChannels: number, kernel: readonly [number, number], image: readonly [number, number], r: Rng, options: ConvLayerOptions = {}): Conv {
  return convLayer("conv2d", channels, outChannels, [...kernel], [...image], r, options);
}

/** The output's spatial size. */
export function convOutput(layer: Conv): number[] {
  const kernel = layer.w.shape.slice(2);
  return layer.input.map((n, a) => convOutputLength(n, kernel[a], layer.stride[a], layer.padding[a], layer.dilation[a]));
}

const product = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);
const options = (layer: Conv) => ({ stride: layer.stride, padding: layer.padding, dilation: layer.dilation });

/** The convolution of rows [n, in·Π input] by w, as rows [n, out·Π output]. */
function convolveRows(layer: Conv, rows: Tensor, w: Tensor): Tensor {
  const n = rows.shape[0];
  const images = reshape(rows, [n, w.shape[1], ...layer.input]);
  return layer.kind === "conv1d" ? conv1d(images, w, options(layer)) : conv2d(images, w, options(layer));
}

/** Rows [n, out·Π output] through the transposed convolution: rows [n, in·Π input]. */
function transposeRows(layer: Conv, rows: Tensor): Tensor {
  const n = rows.shape[0];
  const [out, channels] = layer.w.shape;
  const y = reshape(rows, [n, out, ...convOutput(layer)]);
  const x = layer.kind === "conv1d"
    ? conv1dTranspose(y, layer.w, layer.input[0], options(layer))
    : conv2dTranspose(y, layer.w, [layer.input[0], layer.input[1]], options(layer));
  return reshape(x, [n, channels * product(layer.input)]);
}

const flat = (y: Tensor) => reshape(y, [y.shape[0], y.size / Math.max(1, y.shape[0])]);

/** conv1d and conv2d: one record, the spatial rank taken from the layer. */
export const CONV: LayerKind<Conv> = {
  params: (layer) => (layer.b ? [layer.w, layer.b] : [layer.w]),
  apply: (layer, x, [w, b]) => {
    const y = convolveRows(layer, x, w);
    // The bias [out] broadcast over every position: viewed [out, 1] or [out, 1, 1].
    return flat(layer.b ? add(y, reshape(b, [b.shape[0], ...layer.input.map(() => 1)])) : y);
  },
  map: {
    inputSize: (layer) => layer.w.shape[1] * product(layer.input),
    outputSize: (layer) => layer.w.shape[0] * product(convOutput(layer)),
    times: (layer, y) => flat(convolveRows(layer, y, layer.w)),
    transposeTimes: (layer, e) => transposeRows(layer, e),
    // J as a dense [out, in] matrix: the convolution of every unit input, transposed.
    matrix: (layer) => {
      const d = layer.w.shape[1] * product(layer.input);
      const eye = new Float32Array(d * d);
      for (let i = 0; i < d; i++) eye[i * d + i] = 1;
      return transpose(flat(convolveRows(layer, tensor(eye, [d, d]), layer.w)));
    },
    // The weight's gradient is the convolution's transpose in w, which the engine derives; the
    // bias's sums g over the batch and every position.
    paramGradients: (layer, x, g) => {
      const [, pullback] = vjp((w: Tensor) => convolveRows(layer, x, w), [layer.w]);
      const [out] = layer.w.shape;
      const perChannel = reshape(g, [g.shape[0], out, g.shape[1] / out]);
      const [gw] = pullback([reshape(g, [g.shape[0], out, ...convOutput(layer)])]);
      return [gw, layer.b ? sum(sum(perChannel, 2), 0) : null];
    },
  },
};
