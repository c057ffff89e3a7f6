// The example run shared by every runtime's entry: generate MNIST-1D, train a small MLP with the Wᵀ
// guess for a few epochs, and return the test accuracy and a hash of the weights (equal everywhere).
// In your own project, import from "fwdgrad" instead of the built bundle.
import { ready, shutdown, generateMnist1d, createMlp, createEstimator, prepareStep, estimateStep, forward, adamW, rng, tensor, mark, release } from "../dist/index.js";

export async function runExample() {
  const info = await ready();
  const data = generateMnist1d({ numSamples: 1000 });
  const model = createMlp([40, 32, 32, 10], { seed: 0 });
  const estimator = createEstimator("wt");
  const optimizer = adamW({ lr: 1e-3 });
  const batch = 100;

  let step = 0;
  for (let epoch = 0; epoch < 5; epoch++) {
    for (let from = 0; from + batch <= data.train.n; from += batch) {
      const scope = mark(); // everything a step allocates is freed at release
      const x = tensor(data.train.x.subarray(from * 40, (from + batch) * 40), [batch, 40]);
      const labels = Int32Array.from(data.train.y.subarray(from, from + batch));
      const { grads } = estimateStep(estimator, prepareStep(model, x, labels, rng(1).split(step++)));
      optimizer.step(model.layers.map((l) => l.w), grads.w);
      release(scope);
    }
  }

  const scope = mark();
  const logits = forward(model, tensor(data.test.x, [data.test.n, 40])).pre.at(-1).toArray();
  release(scope);
  let correct = 0;
  for (let r = 0; r < data.test.n; r++) {
    const row = logits.subarray(r * 10, r * 10 + 10);
    if (row.indexOf(Math.max(...row)) === data.test.y[r]) correct++;
  }
  let hash = 0x811c9dc5;
  for (const layer of model.layers) for (const byte of new Uint8Array(layer.w.toArray().buffer)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  // The engine's worker threads would keep a Deno process alive: stop them when done.
  shutdown();
  return { kernels: info.kernels, threads: info.threads, steps: step, testAccuracy: correct / data.test.n, weightsHash: hash.toString(16) };
}
