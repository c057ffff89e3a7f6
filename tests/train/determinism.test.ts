// The same seed gives the same weights everywhere: 21 training steps of several methods end in pinned
// weight hashes, in every runtime this suite runs in, with the TypeScript kernels as well as the
// WebAssembly ones (the twins agree bit for bit), and with the WebAssembly kernels on 1 to 4 threads,
// both as `ready({ threads })` splits them and with every call that can be split split.
import { engineInfo, ready, useKernels } from "../../index.ts";
import { engine } from "../../engine/backend.ts";
import { threadedKernels } from "../../engine/parallel.ts";
import { generateMnist1d } from "../../data/mnist1d.ts";
import { Trainer } from "../../train/trainer.ts";
import { assert, suite } from "../harness.ts";

const Determinism = suite("determinism");

const PINNED: Record<string, string> = {
  wt: "47203dfea08f0445",
  wperp: "0ffcc138904c6c3a",
  backprop: "2ab93c6bf9b4302e",
  "wperp-ns": "24b0fdeefc6eaa8d",
  // Fewer pairs than the next layer's 24 rows: LOBPCG's warm-started route, as at width 512.
  "wperp-ns pairs=8": "747fe4d20aaec392",
  "wperp-ns route=exact": "b81963b52af748e2",
  "forward-gradient": "48a4ad00b52ed207",
};

/** "method name=value …" as a method and its options. */
function hashAfterTraining(entry: string): string {
  const [method, ...settings] = entry.split(" ");
  const options = Object.fromEntries(settings.map((s) => s.split("=")).map(([name, value]) => [name, Number.isNaN(Number(value)) ? value : Number(value)]));
  const data = generateMnist1d({ numSamples: 1000 });
  const t = new Trainer(data, { method, width: 24, depth: 2, epochs: 3, batch: 120, lr: 1e-3, seed: 5, k: 4, options });
  for (let e = 0; e < 3; e++) t.runEpoch();
  assert.is(t.step, 21);
  return t.weightsHash();
}

for (const kernels of ["wasm", "ts"] as const) {
  Determinism(`21 training steps give the pinned weights (${kernels} kernels)`, () => {
    useKernels(kernels);
    try {
      for (const [method, hash] of Object.entries(PINNED)) assert.is(hashAfterTraining(method), hash, `${method} with ${kernels} kernels`);
    } finally {
      useKernels("wasm");
    }
  });
}

Determinism("the pinned weights on 1, 2, 3 and 4 threads", async () => {
  const before = engineInfo().threads;
  try {
    for (const threads of [1, 2, 3, 4]) {
      const info = await ready({ threads });
      assert.is(info.threads, threads, info.threadsNote ?? "");
      for (const [method, hash] of Object.entries(PINNED)) assert.is(hashAfterTraining(method), hash, `${method} on ${threads} threads`);
    }
    const b = engine();
    for (const threads of [2, 3, 4]) {
      b.k = threadedKernels(b.wasm!, b.pool!, b.heap, threads, 1);
      for (const [method, hash] of Object.entries(PINNED)) assert.is(hashAfterTraining(method), hash, `${method} on ${threads} threads, every call split`);
    }
  } finally {
    await ready({ threads: before });
  }
});

Determinism.run();
