// Forward mode that pays (Baydin et al. 2022): a forward-gradient step against a backprop step and a
// forward pass of the same model in the same run, at Baydin et al.'s cost-table shape (MLP
// 784 → 1024 × depth → 10, batch 64), Gaussian tangents (the paper's) and Rademacher ones, with each
// step's peak heap; and drawing normals against crypto.getRandomValues and a plain JS Box–Muller.
import { backprop, createEstimator, createMlp, estimateStep, forwardOutput, heapBytes, heapPeakBytes, mark, release, resetHeapPeak, rng, sgd, stepInput, type EstimatorOptions } from "../index.ts";
import type { Case, Peer } from "./case.ts";

const WIDTH = 1024;
const BATCH = 64;
const FEATURES = 784;
const DEPTHS = [1, 4, 16, 100];

/** Peak heap above what is in use now, of one call, in MiB. */
function peakMiB(fn: () => void): number {
  const base = heapBytes();
  resetHeapPeak();
  fn();
  return (heapPeakBytes() - base) / 2 ** 20;
}

function forwardGradientCase(depth: number, label: string, options: EstimatorOptions): Case {
  return {
    name: `fg step ${label} depth ${depth}`,
    kind: "step",
    flops: null,
    setup() {
      const model = createMlp([FEATURES, ...Array(depth).fill(WIDTH), 10], { seed: 0 });
      const weights = model.layers.map((l) => l.w);
      const x = rng(1).normal([BATCH, FEATURES]);
      const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
      const estimator = createEstimator("forward-gradient", options);
      // One model for all three: a tiny learning rate keeps the weights (and the work) as they are.
      const optimizer = sgd({ lr: 1e-9 });
      let step = 0;
      const fg = () => {
        const s = mark();
        const { grads } = estimateStep(estimator, stepInput(model, x, labels, rng(2).split(step++)));
        optimizer.step(weights, grads.w);
        release(s);
      };
      const bp = () => {
        const s = mark();
        optimizer.step(weights, backprop(model, x, labels).grads.w);
        release(s);
      };
      // The forward pass as inference runs it, each layer freed once the next is made.
      const fwd = () => {
        const s = mark();
        forwardOutput(model, x);
        release(s);
      };
      const peers: Peer[] = [
        { name: "backprop step (fwdgrad)", key: `backprop 784-1024x${depth}-10 b64`, minSamples: 3, setup: () => ({ run: bp }) },
        { name: "forward pass (fwdgrad)", key: `forward 784-1024x${depth}-10 b64`, minSamples: 3, setup: () => ({ run: fwd }) },
      ];
      const [fgPeak, bpPeak, fwdPeak] = [peakMiB(fg), peakMiB(bp), peakMiB(fwd)];
      const params = (weights.reduce((n, w) => n + w.size, 0) * 4) / 2 ** 20;
      const notes = [
        `fg step ${label} depth ${depth}: peak heap above the ${params.toFixed(0)} MiB of weights: forward pass ${fwdPeak.toFixed(1)} MiB, forward gradient ${fgPeak.toFixed(1)} MiB, backprop ${bpPeak.toFixed(1)} MiB`,
      ];
      return { ours: fg, peers, notes };
    },
  };
}

/** Normals per call of each side. */
const NORMALS = 1 << 22;

/** N(0, 1) by Box–Muller from two uniforms `u1` ∈ (0, 1], `u2`, into out[i], out[i + 1]. */
function boxMuller(out: Float32Array, i: number, u1: number, u2: number): void {
  const r = Math.sqrt(-2 * Math.log(u1));
  out[i] = r * Math.cos(2 * Math.PI * u2);
  out[i + 1] = r * Math.sin(2 * Math.PI * u2);
}

const samplingCase: Case = {
  name: `sample ${NORMALS} normals`,
  kind: "step",
  flops: null,
  setup() {
    const stream = rng(3);
    const out = new Float32Array(NORMALS);
    const words = new Uint32Array(16384);
    const cryptoPeer: Peer = {
      name: "crypto.getRandomValues + JS Box–Muller",
      minSamples: 3,
      setup: () => ({
        run: () => {
          // At most 64 KiB a call (the Web Crypto limit).
          for (let i = 0; i < NORMALS; i += words.length) {
            crypto.getRandomValues(words);
            for (let j = 0; j < words.length; j += 2) boxMuller(out, i + j, (words[j] + 1) / 2 ** 32, words[j + 1] / 2 ** 32);
          }
        },
      }),
    };
    const wordsPeer: Peer = {
      name: "crypto.getRandomValues (u32 words only)",
      minSamples: 3,
      setup: () => ({ run: () => { for (let i = 0; i < NORMALS; i += words.length) crypto.getRandomValues(words); } }),
    };
    const jsPeer: Peer = {
      name: "JS Box–Muller on Math.random",
      minSamples: 3,
      setup: () => ({ run: () => { for (let i = 0; i < NORMALS; i += 2) boxMuller(out, i, 1 - Math.random(), Math.random()); } }),
    };
    // The machine's write bandwidth for the same bytes, for scale.
    const fill = new Float32Array(NORMALS);
    const bandwidthPeer: Peer = { name: "Float32Array.fill, same bytes (bandwidth)", minSamples: 3, setup: () => ({ run: () => fill.fill(1) }) };
    return {
      ours: () => {
        const s = mark();
        stream.normal([NORMALS]);
        release(s);
      },
      peers: [cryptoPeer, wordsPeer, jsPeer, bandwidthPeer],
      notes: [`sample: ${NORMALS} normals a call; normals per second = ${NORMALS} / ours ms × 1000`],
    };
  },
};

export const FORWARD_CASES: Case[] = [
  samplingCase,
  ...DEPTHS.flatMap((d) => [forwardGradientCase(d, "normal", {}), forwardGradientCase(d, "rademacher", { tangents: "rademacher" })]),
];
