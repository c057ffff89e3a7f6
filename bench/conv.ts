// Convolution cases: conv1d and conv2d forward against tfjs-wasm's (XNNPACK) in the same run, at
// the MNIST-1D CNN's shapes (batch 512) and MNIST-sized images. fwdgrad takes PyTorch's layout
// (NCL / NCHW, weights [out, in, k…]); tfjs its own (NHWC, filters [kh, kw, in, out]), so each side
// runs the same convolution in the layout it prefers. A 1-D convolution is a 2-D one of height 1
// for tfjs too (its conv1d refuses explicit padding), as it is inside fwdgrad.
import { conv1d, conv2d, mark, release, rng } from "../index.ts";
import type { Case, Peer } from "./case.ts";
import { tf } from "./peers.ts";

interface ConvShape {
  batch: number; channels: number; out: number;
  /** [height, width]; height 1 for conv1d. */
  image: [number, number];
  kernel: [number, number];
  stride: number;
  padding: number;
}

function convCase(label: string, s: ConvShape): Case {
  const oneD = s.image[0] === 1;
  const output = s.image.map((n, a) => (a === 0 && oneD ? 1 : Math.floor((n + 2 * s.padding - s.kernel[a]) / s.stride) + 1));
  return {
    name: `${label} [${s.batch}, ${s.channels}, ${(oneD ? s.image.slice(1) : s.image).join(", ")}] * [${s.out}, ${s.channels}, ${(oneD ? s.kernel.slice(1) : s.kernel).join(", ")}] stride ${s.stride} padding ${s.padding}`,
    kind: "conv",
    flops: 2 * s.batch * s.out * output[0] * output[1] * s.channels * s.kernel[0] * s.kernel[1],
    setup() {
      const r = rng(s.channels * 7919 + s.out);
      const x = oneD ? r.normal([s.batch, s.channels, s.image[1]]) : r.normal([s.batch, s.channels, ...s.image]);
      const w = oneD ? r.normal([s.out, s.channels, s.kernel[1]]) : r.normal([s.out, s.channels, ...s.kernel]);
      const tfjs: Peer = {
        name: "tfjs-wasm",
        backend: "wasm",
        setup() {
          const tx = tf.tensor4d(x.toArray(), [s.batch, ...s.image, s.channels]);
          const tw = tf.tensor4d(w.toArray(), [...s.kernel, s.channels, s.out]);
          const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], oneD ? [0, 0] : [s.padding, s.padding], [s.padding, s.padding], [0, 0]];
          const strides: [number, number] = oneD ? [1, s.stride] : [s.stride, s.stride];
          return { run: () => tf.conv2d(tx, tw, strides, pad).dispose(), dispose: () => tf.dispose([tx, tw]) };
        },
      };
      const options = { stride: s.stride, padding: s.padding };
      return {
        ours: () => {
          const m = mark();
          if (oneD) conv1d(x, w, options);
          else conv2d(x, w, options);
          release(m);
        },
        peers: [tfjs],
      };
    },
  };
}

export const CONV_CASES: Case[] = [
  convCase("conv1d", { batch: 512, channels: 1, out: 25, image: [1, 40], kernel: [1, 5], stride: 2, padding: 1 }),
  convCase("conv1d", { batch: 512, channels: 25, out: 25, image: [1, 19], kernel: [1, 3], stride: 2, padding: 1 }),
  convCase("conv1d", { batch: 512, channels: 200, out: 200, image: [1, 19], kernel: [1, 3], stride: 2, padding: 1 }),
  convCase("conv2d", { batch: 64, channels: 1, out: 32, image: [28, 28], kernel: [3, 3], stride: 1, padding: 1 }),
  convCase("conv2d", { batch: 64, channels: 32, out: 64, image: [28, 28], kernel: [3, 3], stride: 1, padding: 1 }),
];
