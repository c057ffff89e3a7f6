// Convolutions for the primitive table: the convolution (PyTorch's cross-correlation, NCHW, a 1-D
// signal as an image of height 1), its adjoint in the input (the transposed convolution) and its
// adjoint in the weight. Each lowers to one gemm around im2col or col2im (kernels-as/conv.ts), in
// chunks of examples so a large image batch never lowers all at once. The three are bilinear, and
// each one's transpose in either operand is another of the three (engine/prims.ts), so reverse mode
// through a convolution comes from transposition like everything else.
import { engine } from "./backend.ts";
import { FwdgradError } from "./errors.ts";
import { gemm } from "./gemm.ts";
import { sizeOf, type Tensor, empty } from "./tensor.ts";

/** A convolution's geometry apart from the batch and the channels: [height, width] pairs. */
export interface ConvGeometry {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  /** The input image's height and width. */
  readonly input: readonly [number, number];
  readonly kernel: readonly [number, number];
  /** The output's height and width (from the others: {@link convOutputLength}). */
  readonly output: readonly [number, number];
}

/** Output positions along one axis: ⌊(input + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1 (PyTorch's). */
export function convOutputLength(input: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * A convolution option's values per spatial axis (`axes` of them) from one number or one per axis,
 * each an integer ≥ `least`; `fallback` where absent.
 * @throws {FwdgradError} naming `op` and the option otherwise.
 */
export function perAxis(op: string, name: string, value: number | readonly number[] | undefined, fallback: number, least: number, axes: number): number[] {
  const values = value === undefined ? new Array<number>(axes).fill(fallback) : typeof value === "number" ? new Array<number>(axes).fill(value) : Array.from(value);
  if (values.length !== axes || values.some((v) => !Number.isInteger(v) || v < least)) {
    throw new FwdgradError(`${op}: ${name} must be an integer ≥ ${least} or ${axes} of them, got ${JSON.stringify(value)}`);
  }
  return values;
}

/** Floats of im2col patches one chunk may hold (16 MiB): bounds the scratch whatever the batch. */
export const PATCH_FLOATS = 1 << 22;

type Kernel = "im2col_f32" | "col2im_f32";

/** The three operations on addresses, for `examples` images of `channels` channels to `outChannels`. */
class Lowered {
  readonly patch: number;
  readonly positions: number;
  readonly imageFloats: number;
  readonly outFloats: number;

  constructor(readonly channels: number, readonly outChannels: number, readonly g: ConvGeometry) {
    this.patch = channels * g.kernel[0] * g.kernel[1];
    this.positions = g.output[0] * g.output[1];
    this.imageFloats = channels * g.input[0] * g.input[1];
    this.outFloats = outChannels * this.positions;
  }

  /** Runs `fn(from, count)` over chunks of the examples whose patches fit the budget. */
  private chunked(examples: number, fn: (from: number, count: number) => void): void {
    const per = Math.max(1, Math.floor(PATCH_FLOATS / Math.max(1, this.positions * this.patch)));
    for (let from = 0; from < examples; from += per) fn(from, Math.min(per, examples - from));
  }

  private move(kernel: Kernel, outPtr: number, inPtr: number, count: number): void {
    const { g } = this;
    engine().k[kernel](outPtr, inPtr, count, this.channels, g.input[0], g.input[1], g.kernel[0], g.kernel[1], g.output[0], g.output[1],
      g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1]);
  }

  /** out [n, O, OH, OW] = conv(x [n, C, H, W], w [O, C, KH, KW]): patches · wᵀ, then each example's [P, O] transposed. */
  forward(outPtr: number, xPtr: number, wPtr: number, examples: number): void {
    const { heap, k } = engine();
    this.chunked(examples, (from, count) => {
      const start = heap.mark();
      const patches = heap.alloc(count * this.positions * this.patch * 4).ptr;
      const rows = heap.alloc(count * this.positions * this.outChannels * 4).ptr;
      this.move("im2col_f32", patches, xPtr + from * this.imageFloats * 4, count);
      gemm(rows, { ptr: patches, stride: 0, trans: false }, { ptr: wPtr, stride: 0, trans: true }, 1, count * this.positions, this.patch, this.outChannels);
      k.transpose_f32(outPtr + from * this.outFloats * 4, rows, count, this.positions, this.outChannels);
      heap.release(start);
    });
  }

  /** out [n, C, H, W] = the adjoint of conv(·, w) applied to y [n, O, OH, OW]: col2im(yᵀ · w). */
  inputAdjoint(outPtr: number, yPtr: number, wPtr: number, examples: number): void {
    const { heap, k } = engine();
    this.chunked(examples, (from, count) => {
      const start = heap.mark();
      const rows = heap.alloc(count * this.positions * this.outChannels * 4).ptr;
      const cols = heap.alloc(count * this.positions * this.patch * 4).ptr;
      k.transpose_f32(rows, yPtr + from * this.outFloats * 4, count, this.outChannels, this.positions);
      gemm(cols, { ptr: rows, stride: 0, trans: false }, { ptr: wPtr, stride: 0, trans: false }, 1, count * this.positions, this.outChannels, this.patch);
      this.move("col2im_f32", outPtr + from * this.imageFloats * 4, cols, count);
      heap.release(start);
    });
  }

  /** out [O, C, KH, KW] = the adjoint of conv(x, ·) applied to y: Σ over examples of yᵀ · patches, chunk by chunk. */
  weightAdjoint(outPtr: number, yPtr: number, xPtr: number, examples: number): void {
    const { heap, k } = engine();
    const size = this.outChannels * this.patch;
    if (examples === 0) heap.f32().fill(0, outPtr >>> 2, (outPtr >>> 2) + size);
    this.chunked(examples, (from, count) => {
      const start = heap.mark();
      const patches = heap.alloc(count * this.positions * this.patch * 4).ptr;
      const rows = heap.alloc(count * this.positions * this.outChannels * 4).ptr;
      this.move("im2col_f32", patches, xPtr + from * this.imageFloats * 4, count);
      k.transpose_f32(rows, yPtr + from * this.outFloats * 4, count, this.outChannels, this.positions);
      const into = from === 0 ? outPtr : heap.alloc(size * 4).ptr;
      gemm(into, { ptr: rows, stride: 0, trans: true }, { ptr: patches, stride: 0, trans: false }, 1, this.outChannels, count * this.positions, this.patch);
      if (into !== outPtr) k.add_f32(outPtr, outPtr, into, size);
      heap.release(start);
    });
  }
}

/** The convolution primitives; the first operand's tangents fold into the batch where they can. */
export type ConvPrimName = "conv" | "convInputAdjoint" | "convWeightAdjoint";

/**
 * Primitive `name` on (a, b), where `linear` marks which operand is a tangent with a leading
 * direction axis [D, ...] (the other is a constant): conv(x, w), convInputAdjoint(y, w) and
 * convWeightAdjoint(y, x). Returns [D, ...output shape].
 */
export function convLinear(name: ConvPrimName, [a, b]: Tensor[], linear: readonly boolean[], g: ConvGeometry): Tensor {
  const directions = linear[0] ? a.shape[0] : b.shape[0];
  const shapeA = linear[0] ? a.shape.slice(1) : a.shape;
  const shapeB = linear[1] ? b.shape.slice(1) : b.shape;
  // conv and convInputAdjoint take (images, weight); convWeightAdjoint (output images, input images).
  const weight = name === "convWeightAdjoint" ? null : shapeB;
  const examples = shapeA[0];
  const outChannels = name === "conv" ? weight![0] : shapeA[1];
  const channels = name === "conv" ? shapeA[1] : name === "convInputAdjoint" ? weight![1] : shapeB[1];
  const op = new Lowered(channels, outChannels, g);
  const outShape = name === "conv" ? [examples, outChannels, ...g.output]
    : name === "convInputAdjoint" ? [examples, channels, ...g.input]
      : [outChannels, channels, ...g.kernel];
  const out = empty([directions, ...outShape]);
  const run = (outPtr: number, aPtr: number, bPtr: number, count: number) => {
    if (name === "conv") op.forward(outPtr, aPtr, bPtr, count);
    else if (name === "convInputAdjoint") op.inputAdjoint(outPtr, aPtr, bPtr, count);
    else op.weightAdjoint(outPtr, aPtr, bPtr, count);
  };
  if (directions === 0) return out;
  // Images tangent to an image op: the directions are more examples, one lowered call.
  if (linear[0] && name !== "convWeightAdjoint") {
    run(out.ptr, a.ptr, b.ptr, directions * examples);
    return out;
  }
  const outStep = sizeOf(outShape) * 4, aStep = linear[0] ? sizeOf(shapeA) * 4 : 0, bStep = linear[1] ? sizeOf(shapeB) * 4 : 0;
  for (let d = 0; d < directions; d++) run(out.ptr + d * outStep, a.ptr + d * aStep, b.ptr + d * bStep, examples);
  return out;
}
