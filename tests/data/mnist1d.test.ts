// The MNIST-1D generator against the published data set (pinned in mnist1d-published.ts), and its options.
import { FwdgradError } from "../../index.ts";
import { generateMnist1d } from "../../data/mnist1d.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";
import { published } from "./mnist1d-published.ts";

const Mnist1d = suite("mnist1d");

// crypto.subtle is the one SHA-256 that Node, Deno, Bun and browsers all have. It hashes the view's
// bytes; slice() gives a copy on a plain ArrayBuffer, the only kind digest's type accepts.
async function sha256(array: Float32Array | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", array.slice());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function counts(labels: Uint8Array): number[] {
  const out = new Array(10).fill(0);
  for (const y of labels) out[y]++;
  return out;
}

Mnist1d("default arguments reproduce the published set bit for bit", async () => {
  const data = generateMnist1d();
  assert.is(data.features, 40);
  assert.is(data.train.n, 4000);
  assert.is(data.test.n, 1000);
  assert.is(data.train.x.length, 4000 * 40);
  assert.is(data.test.x.length, 1000 * 40);
  // Single values and counts first: on a mismatch they say where, which a hash cannot.
  for (const [i, value] of published.trainX) assert.is(data.train.x[i], value, `train x[${i}]`);
  for (const [i, value] of published.testX) assert.is(data.test.x[i], value, `test x[${i}]`);
  assert.equal(counts(data.train.y), [...published.trainCounts]);
  assert.equal(counts(data.test.y), [...published.testCounts]);
  assert.equal([...data.train.y.subarray(0, 10)], [...published.trainYHead]);
  assert.equal([...data.test.y.subarray(0, 10)], [...published.testYHead]);
  assert.is(await sha256(data.train.x), published.sha256.trainX, "train x SHA-256");
  assert.is(await sha256(data.train.y), published.sha256.trainY, "train y SHA-256");
  assert.is(await sha256(data.test.x), published.sha256.testX, "test x SHA-256");
  assert.is(await sha256(data.test.y), published.sha256.testY, "test y SHA-256");
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
