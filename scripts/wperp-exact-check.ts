// W̃⊥'s exact route against float64, at the paper's width: for the first `examples` training rows of
// MNIST-1D through a freshly initialised MLP (or the weights of a checkpoint), each hidden layer's
// guess covariance V̂V̂ᵀ from `route: "exact"` against the f64 projector onto the top-k eigenvectors
// of M·WᵀW·M (Householder tridiagonalisation + bisection, tested against Jacobi). Prints the entry-
// wise and Frobenius deviations and the step's time.
// `npx tsx scripts/wperp-exact-check.ts [--width 512] [--examples 64] [--exact-tol 1e-6] [--checkpoint file]`
import { readFileSync } from "node:fs";
import { createEstimator, createMlp, generateMnist1d, prepareStep, ready, rng, tensor } from "../index.ts";
import { topEigen } from "../engine/linalg/eigh64.ts";
import { parseCheckpoint } from "../train/checkpoint.ts";
import { assign } from "../engine/inplace.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const width = flag("width", 512), examples = flag("examples", 64), exactTol = flag("exact-tol", 1e-6), k = 10;
const checkpoint = args.includes("--checkpoint") ? args[args.indexOf("--checkpoint") + 1] : null;
await ready();
const data = generateMnist1d();
const model = createMlp([data.features, width, width, width, data.classes], { seed: 0 });
if (checkpoint) parseCheckpoint(readFileSync(checkpoint, "utf8")).weights.forEach((values, i) => assign(model.layers[i].w, values));
const x = tensor(data.train.x.subarray(0, examples * data.features), [examples, data.features]);
const labels = Int32Array.from(data.train.y.subarray(0, examples));
const input = prepareStep(model, x, labels, rng(1));
const estimator = createEstimator("wperp", { k, route: "exact", exactTol });
for (const layer of [0, 1]) {
  const started = performance.now();
  const basis = estimator.covariance!(input, layer)!.basis()!.toArray();
  const ms = performance.now() - started;
  const w = model.layers[layer + 1].w.toArray(), masks = input.masks[layer].toArray();
  const [out, d] = model.layers[layer + 1].w.shape;
  let worstEntry = 0, worstFrobenius = 0;
  for (let b = 0; b < examples; b++) {
    const active: number[] = [];
    for (let u = 0; u < d; u++) if (masks[b * d + u] > 0) active.push(u);
    const n = active.length;
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let o = 0; o < out; o++) s += w[o * d + active[i]] * w[o * d + active[j]];
      gram[i * n + j] = gram[j * n + i] = s;
    }
    const top = topEigen(gram, n, Math.min(k, n));
    const kk = Math.min(k, top.rank);
    let frobenius = 0;
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let exact = 0, found = 0;
      const ai = active.indexOf(i), aj = active.indexOf(j);
      if (ai >= 0 && aj >= 0) for (let e = 0; e < kk; e++) exact += top.vectors[e * n + ai] * top.vectors[e * n + aj];
      for (let e = 0; e < k; e++) found += basis[(b * d + i) * k + e] * basis[(b * d + j) * k + e];
      worstEntry = Math.max(worstEntry, Math.abs(exact - found));
      frobenius += (exact - found) ** 2;
    }
    worstFrobenius = Math.max(worstFrobenius, Math.sqrt(frobenius));
  }
  console.log(`layer ${layer}: ${examples} examples, max |P − P̂| ${worstEntry.toExponential(2)}, max ‖P − P̂‖_F ${worstFrobenius.toExponential(2)}, exact route ${ms.toFixed(0)} ms`);
}
