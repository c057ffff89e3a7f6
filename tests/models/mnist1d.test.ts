// The MNIST-1D generator against the published data set (../shared/data/mnist1d), and its options.
import { FwdgradError } from "../../index.ts";
import { generateMnist1d } from "../../models/mnist1d.ts";
import { assert, assertFwdgradError, readShared, suite } from "../harness.ts";

const Mnist1d = suite("mnist1d");

// Loaded in a hook, not at module level: uvu starts running suites on a timer, which a pending
// top-level await would miss.
const published: Record<"trainY" | "testY", Uint8Array> & Record<"trainX" | "testX", Float32Array> = {
  trainX: new Float32Array(0), trainY: new Uint8Array(0), testX: new Float32Array(0), testY: new Uint8Array(0),
};
Mnist1d.before(async () => {
  published.trainX = new Float32Array((await readShared("data/mnist1d/train-x.f32")).slice().buffer);
  published.trainY = await readShared("data/mnist1d/train-y.u8");
  published.testX = new Float32Array((await readShared("data/mnist1d/test-x.f32")).slice().buffer);
  published.testY = await readShared("data/mnist1d/test-y.u8");
});

Mnist1d("default arguments reproduce the published set", () => {
  const data = generateMnist1d();
  assert.is(data.features, 40);
  assert.is(data.train.n, 4000);
  assert.is(data.test.n, 1000);
  const worst = (a: Float32Array, b: Float32Array) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i])), 0);
  assert.is(data.train.x.length, published.trainX.length);
  assert.is(data.test.x.length, published.testX.length);
  const trainDiff = worst(data.train.x, published.trainX), testDiff = worst(data.test.x, published.testX);
  assert.ok(trainDiff <= 1e-5, `train max |difference| ${trainDiff}`);
  assert.ok(testDiff <= 1e-5, `test max |difference| ${testDiff}`);
  assert.equal([...data.train.y], [...published.trainY]);
  assert.equal([...data.test.y], [...published.testY]);
});

Mnist1d("options change the set; classes stay balanced; bad options are rejected", () => {
  const small = generateMnist1d({ numSamples: 200, seed: 7, finalSeqLength: 24 });
  assert.is(small.train.n, 160);
  assert.is(small.test.x.length, 40 * 24);
  const counts = new Array(10).fill(0);
  for (const y of [...small.train.y, ...small.test.y]) counts[y]++;
  assert.equal(counts, new Array(10).fill(20));
  assert.not.equal([...generateMnist1d({ numSamples: 200, seed: 8 }).train.y], [...generateMnist1d({ numSamples: 200, seed: 7 }).train.y]);
  assertFwdgradError(() => generateMnist1d({ numSamples: 15 }), /numSamples must be a multiple of 10/);
  assertFwdgradError(() => generateMnist1d({ trainSplit: 1.5 }), /trainSplit must be in \(0, 1\), got 1.5/);
  assertFwdgradError(() => generateMnist1d({ padding: [40, 30] }), /padding must be \[min, max\]/);
  assertFwdgradError(() => generateMnist1d({ seed: -1 }), /seed must be an integer in \[0, 2\^32\)/);
  assertFwdgradError(() => generateMnist1d({ iidNoiseScale: NaN }), /iidNoiseScale must be a finite number/);
  assert.ok(new FwdgradError("x") instanceof Error);
});

Mnist1d.run();
