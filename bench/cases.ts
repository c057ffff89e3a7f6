// The case table: matmul against tfjs-wasm, tfjs-cpu and ml-matrix; conv1d and conv2d against
// tfjs-wasm; SVD against ml-matrix.
import { mark, matmul, mul, release, reshape, rng, svd, tensor, type Tensor } from "../index.ts";
import { maskedProducts } from "../engine/linalg/masked.ts";
import { SingularValueDecomposition } from "ml-matrix";
import { tf, toMatrix, type TfBackend } from "./peers.ts";
import { STEP_CASES } from "./steps.ts";
import { FORWARD_CASES } from "./forward.ts";
import { CONV_CASES } from "./conv.ts";
import type { Case, Peer } from "./case.ts";


/** The ml-matrix and tfjs-cpu peers are 50–100× slower: run them on sizes up to this only. */
const SLOW_PEER_MAX = 512;

/** Square sizes, then the MLP shapes ([512×512]·[512×512] is the square 512 case). */
const MATMUL_SHAPES: [m: number, k: number, n: number][] = [
  ...[64, 128, 256, 512, 1024].map((s): [number, number, number] => [s, s, s]),
  [512, 40, 512],
  [512, 1024, 1024],
];

const VARIANTS = [
  { label: "AB", transA: false, transB: false },
  { label: "ABt", transA: false, transB: true },
  { label: "AtB", transA: true, transB: false },
];

function matmulCase(m: number, k: number, n: number, v: (typeof VARIANTS)[number]): Case {
  const aShape: [number, number] = v.transA ? [k, m] : [m, k];
  const bShape: [number, number] = v.transB ? [n, k] : [k, n];
  return {
    name: `matmul ${m}x${k}*${k}x${n} ${v.label}`,
    kind: "matmul",
    flops: 2 * m * k * n,
    setup() {
      const r = rng(m * 1_000_003 + k * 1009 + n);
      const a = r.normal(aShape);
      const b = r.normal(bShape);
      const aData = a.toArray();
      const bData = b.toArray();
      const options = { transA: v.transA, transB: v.transB };
      const tfPeer = (backend: TfBackend): Peer => ({
        name: `tfjs-${backend}`,
        backend,
        setup() {
          const ta = tf.tensor2d(aData, aShape);
          const tb = tf.tensor2d(bData, bShape);
          return { run: () => tf.matMul(ta, tb, v.transA, v.transB).dispose(), dispose: () => tf.dispose([ta, tb]) };
        },
      });
      const mlPeer: Peer = {
        name: "ml-matrix",
        setup() {
          const ma = toMatrix(aData, aShape[0], aShape[1]);
          const mb = toMatrix(bData, bShape[0], bShape[1]);
          const run = v.transA ? () => ma.transpose().mmul(mb) : v.transB ? () => ma.mmul(mb.transpose()) : () => ma.mmul(mb);
          return { run };
        },
      };
      const small = Math.max(m, k, n) <= SLOW_PEER_MAX;
      return {
        ours: () => {
          const s = mark();
          matmul(a, b, options);
          release(s);
        },
        peers: small ? [tfPeer("wasm"), tfPeer("cpu"), mlPeer] : [tfPeer("wasm")],
      };
    },
  };
}

/** ml-matrix's full SVD of each matrix; `count` of them, row-major f32 in `data` (drawn with `seed`). */
function mlSvdPeer(data: Float32Array, seed: number, rows: number, cols: number, count: number, scale = 1, name = "ml-matrix"): Peer {
  return {
    name,
    scale,
    minSamples: 2,
    key: `ml-matrix svd ${count}x${rows}x${cols} seed ${seed}`,
    setup() {
      const size = rows * cols;
      const ms = Array.from({ length: count }, (_, i) => toMatrix(data.subarray(i * size, (i + 1) * size), rows, cols));
      return { run: () => ms.forEach((x) => new SingularValueDecomposition(x)) };
    },
  };
}

function timedSvd(a: Tensor, options?: { k?: number; full?: boolean }): () => void {
  return () => {
    const s = mark();
    svd(a, options);
    release(s);
  };
}

function svdCase(name: string, shape: number[], options?: { k?: number; full?: boolean }): Case {
  return {
    name,
    kind: "svd",
    flops: null,
    setup() {
      const seed = shape.reduce((x, y) => x * 31 + y, 7);
      const a = rng(seed).normal(shape);
      const [rows, cols] = shape.slice(-2);
      const notes: string[] = [];
      if (options?.k) {
        const k = options.k;
        const top = svd(a, options);
        const topS = top.s.toArray();
        const all = svd(a).s.toArray();
        let worst = 0;
        for (let i = 0; i < k; i++) worst = Math.max(worst, Math.abs(topS[i] - all[i]) / all[i]);
        notes.push(`${name}: max relative difference of the top-${k} singular values vs our full SVD: ${worst.toExponential(2)} (${top.iterations} Lanczos steps)`);
      }
      return { ours: timedSvd(a, options), peers: [mlSvdPeer(a.toArray(), seed, rows, cols, 1)], notes };
    },
  };
}

/** One call on a [batch, n, n] stack; the ml-matrix peer loops (over part of the batch unless `full`). */
function svdBatchCase(batch: number, n: number, partial: number): Case {
  return {
    name: `svd batch ${batch}x${n}x${n}`,
    kind: "svd",
    flops: null,
    setup({ full }) {
      const seed = batch * 31 + n;
      const a = rng(seed).normal([batch, n, n]);
      const count = full ? batch : partial;
      const name = full ? "ml-matrix" : `ml-matrix (${count} of ${batch}, x${batch / count})`;
      const notes = full ? [] : [`svd batch: ml-matrix timed on ${count} of ${batch} matrices and scaled by ${batch / count} (--full times all ${batch})`];
      return { ours: timedSvd(a), peers: [mlSvdPeer(a.toArray(), seed, n, n, count, batch / count, name)], notes };
    },
  };
}

/**
 * W̃⊥'s LOBPCG product M·G·M·X for every example's block (12 rows, the default k + oversample) at
 * width d, a fraction `active` of each example's units on (ReLU's half at initialisation), against
 * the gemm X·G and mask it replaced, in the same run. Flops count the useful a²·12 multiply-adds.
 */
function maskedProductsCase(d: number, active: number): Case {
  const [batch, rows] = [512, 12];
  return {
    name: `masked Gram products ${batch}x${rows}x${d}, ${Math.round(active * 100)}% active`,
    kind: "matmul",
    flops: 2 * batch * rows * (active * d) ** 2,
    setup() {
      const r = rng(d * 7 + 3);
      const w = r.normal([d, d]);
      const gram = matmul(w, w, { transA: true });
      const masks = tensor(Float32Array.from(r.uniform([batch, d]).toArray(), (u) => (u < active ? 1 : 0)), [batch, d]);
      const x = mul(r.normal([batch, rows, d]), reshape(masks, [batch, 1, d]));
      const gemmPeer: Peer = {
        name: "gemm X·G, then the mask (fwdgrad)",
        setup: () => ({
          run: () => {
            const s = mark();
            mul(reshape(matmul(reshape(x, [batch * rows, d]), gram), [batch, rows, d]), reshape(masks, [batch, 1, d]));
            release(s);
          },
        }),
      };
      return {
        ours: () => {
          const s = mark();
          maskedProducts(x, gram, masks);
          release(s);
        },
        peers: [gemmPeer],
      };
    },
  };
}

export const CASES: Case[] = [
  ...STEP_CASES,
  ...FORWARD_CASES,
  ...MATMUL_SHAPES.flatMap(([m, k, n]) => VARIANTS.map((v) => matmulCase(m, k, n, v))),
  ...CONV_CASES,
  svdCase("svd 128x128", [128, 128]),
  svdCase("svd 512x512", [512, 512]),
  svdCase("svd 1024x512 thin", [1024, 512], { full: false }),
  svdBatchCase(512, 128, 32),
  svdCase("svd top-10 512x512", [512, 512], { k: 10 }),
  maskedProductsCase(1024, 0.5),
  maskedProductsCase(1024, 0.75),
];
