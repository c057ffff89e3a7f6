// W̃⊥-NS's fast route against its exact route along training: trains `wperp-ns` on its fast route
// (the paper's MLP on MNIST-1D, batch 512, AdamW 1e-4) and every `--every` epochs compares, on the
// first `--examples` training rows, each hidden layer's guess covariance Cov_fast = V·f(Σ)²·Vᵀ with
// the matrix polynomial's Cov_exact = PᵀP: ‖(Cov_fast − Cov_exact)·g‖ / ‖Cov_exact·g‖ for a Gaussian
// g, against the exact route as defined (20 power iterations for ‖W̃‖₂) and with a converged norm
// (400). Prints, per measurement, the threshold σ_k/σ_1 in use and the fast route's tail bound.
// `npx tsx scripts/ns-fidelity.ts [--width 128] [--epochs 100] [--every 10] [--examples 64] [--threads 1]`
import { createEstimator, generateMnist1d, prepareStep, ready, rng, tensor, type Tensor } from "../index.ts";
import { setThreadHost } from "../engine/threads.ts";
import { nodeThreadHost } from "../platform/node.ts";
import { Trainer } from "../train/trainer.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const width = flag("width", 128), epochs = flag("epochs", 100), every = flag("every", 10), examples = flag("examples", 64);
setThreadHost(nodeThreadHost);
await ready({ threads: flag("threads", 1) });
const data = generateMnist1d();
const trainer = new Trainer(data, { method: "wperp-ns", width, depth: 3, epochs, batch: 512, lr: 1e-4, seed: 0 });
const x = tensor(data.train.x.subarray(0, examples * data.features), [examples, data.features]);
const labels = Int32Array.from(data.train.y.subarray(0, examples));

function relative(a: Tensor, b: Tensor): number {
  const u = a.toArray(), v = b.toArray();
  let diff = 0, norm = 0;
  for (let i = 0; i < u.length; i++) [diff, norm] = [diff + (u[i] - v[i]) ** 2, norm + v[i] ** 2];
  return Math.sqrt(diff / norm);
}

function measure(): void {
  const input = prepareStep(trainer.model, x, labels, rng(1), Int32Array.from({ length: examples }, (_, i) => i));
  const fast = createEstimator("wperp-ns", { tol: 5e-2 });
  const asDefined = createEstimator("wperp-ns", { route: "exact" });
  const converged = createEstimator("wperp-ns", { route: "exact", powerIters: 400 });
  const cells: string[] = [];
  for (const layer of [0, 1, 2]) {
    const g = rng(2 + layer).normal([examples, width]);
    const f = fast.covariance(input, layer)!.times(g);
    cells.push(`layer ${layer}: ${relative(f, asDefined.covariance(input, layer)!.times(g)).toExponential(2)} / ${relative(f, converged.covariance(input, layer)!.times(g)).toExponential(2)}`);
  }
  const state = trainer.state().estimator?.numbers ?? {};
  const ratios = Object.entries(state).filter(([key]) => key.startsWith("fit.")).map(([key, [ratio]]) => `${key} ${ratio.toFixed(3)}`).join(", ");
  const tails = Object.entries(fast.diagnostics?.() ?? {}).map(([key, value]) => `${key} ${value.toExponential(1)}`).join(", ");
  const last = trainer.history[trainer.history.length - 1];
  console.log(`epoch ${trainer.epoch}${last ? `, loss ${last.trainLoss.toFixed(4)}` : ""}: ‖ΔCov·g‖/‖Cov·g‖ (as defined / converged norm) ${cells.join("; ")} | σ_k/σ_1: ${ratios || "—"} | tail: ${tails}`);
}

measure();
while (trainer.epoch < epochs) {
  trainer.runEpoch();
  if (trainer.epoch % every === 0) measure();
}
