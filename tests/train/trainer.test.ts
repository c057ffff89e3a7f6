// Training: data parsers round-trip and reject bad files; backprop solves a separable problem and
// every estimator improves on it; a resumed run equals an uninterrupted one bit for bit; a
// non-finite loss stops training with the last good weights.
import { argmaxRows, FwdgradError, mlpSizes } from "../../index.ts";
import { parseBinarySplit, parseCsvSplit, splitRows, type Dataset } from "../../data/dataset.ts";
import { parseCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { Trainer, type TrainConfig } from "../../train/trainer.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Training = suite("training");

/** Four well-separated Gaussian-free clusters in 6 features: class c has feature c set. */
function separable(n: number): Dataset {
  const features = 6, classes = 4;
  const make = (count: number, offset: number) => {
    const x = new Float32Array(count * features), y = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const c = (i + offset) % classes;
      y[i] = c;
      for (let f = 0; f < features; f++) x[i * features + f] = (f === c ? 2 : 0) + 0.1 * Math.sin(7 * i + 3 * f);
    }
    return { x, y, n: count };
  };
  return { train: make(n, 0), test: make(n / 2, 1), features, classes };
}

const base: TrainConfig = { method: "backprop", width: 16, depth: 2, epochs: 0, batch: 32, lr: 1e-2, seed: 3 };

/** A regression set: 3 targets, each a smooth function of 5 features (a ReLU MLP can fit it). */
function regression(n: number): Dataset {
  const features = 5, targets = 3;
  const make = (count: number, offset: number) => {
    const x = new Float32Array(count * features), t = new Float32Array(count * targets);
    for (let i = 0; i < count; i++) {
      for (let f = 0; f < features; f++) x[i * features + f] = Math.sin(0.37 * (i + offset) * (f + 1));
      for (let j = 0; j < targets; j++) t[i * targets + j] = x[i * features + j] - 0.5 * x[i * features + j + 1] + 0.25;
    }
    return { x, y: new Uint8Array(0), t, n: count };
  };
  return { train: make(n, 0), test: make(n / 2, 1000), features, classes: targets, targets };
}

Training("binary and CSV parsers round-trip; bad files get clear errors", () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const bytes = new Uint8Array(x.buffer.slice(0));
  const split = parseBinarySplit("t", bytes, Uint8Array.from([0, 2]), 3, 3);
  assert.equal([...split.x], [...x]);
  assert.is(split.n, 2);
  assertFwdgradError(() => parseBinarySplit("bad.f32", bytes.subarray(0, 20), Uint8Array.from([0, 1]), 3, 3), /bad.f32: x has 20 bytes, not a whole number of rows of 3 f32 values/);
  assertFwdgradError(() => parseBinarySplit("t", bytes, Uint8Array.from([0]), 3, 3), /t: y has 1 labels for 2 rows of x/);
  assertFwdgradError(() => parseBinarySplit("t", bytes, Uint8Array.from([0, 3]), 3, 3), /t: label 3 at row 2 is outside \[0, 3\)/);
  const nan = new Uint8Array(Float32Array.from([1, NaN, 3]).buffer);
  assertFwdgradError(() => parseBinarySplit("t", nan, Uint8Array.from([0]), 3, 3), /t: row 1, feature 2 is NaN/);
  const csv = parseCsvSplit("d.csv", "a,b,label\n0.5,1,0\n-2,3e1,2\n");
  assert.is(csv.features, 2);
  assert.is(csv.classes, 3);
  assert.equal([...csv.split.x], [0.5, 1, -2, 30]);
  assert.equal([...csv.split.y], [0, 2]);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,x,1\n"), /d.csv: line 2, column 2 is "x", not a finite float32 number/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,2\n"), /d.csv: line 2 has 2 columns, expected 3/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,-1\n"), /d.csv: line 1, column 3: label "-1"/);
  assertFwdgradError(() => parseCsvSplit("d.csv", ""), /d.csv: no rows/);
  const parts = splitRows(csv.split, 2, 0.5);
  assert.is(parts.train.n + parts.test.n, 2);
});

Training("backprop reaches 100 % on a separable problem; every estimator improves on it", () => {
  const data = separable(128);
  const exact = new Trainer(data, base);
  for (let e = 0; e < 40; e++) exact.runEpoch();
  assert.is(exact.history[exact.history.length - 1].trainAcc, 1, "backprop reaches 100 %");
  for (const method of ["forward-gradient", "activation-perturbation", "activation-perturbation-masked", "wt", "wperp", "wperp-ns", "wp"]) {
    const t = new Trainer(data, { ...base, method, k: 4 });
    const before = t.evaluate(data.train).loss;
    for (let e = 0; e < 15; e++) t.runEpoch();
    const after = t.history[t.history.length - 1].trainLoss;
    assert.ok(after < before, `${method}: train loss ${before} -> ${after}`);
  }
});

Training("more than 256 classes: CSV and 4-byte binary labels", () => {
  const rows = Array.from({ length: 6 }, (_, i) => `${i / 10},${[0, 299, 17, 256, 300, 5][i]}`).join("\n");
  const csv = parseCsvSplit("many.csv", rows);
  assert.is(csv.classes, 301);
  assert.ok(csv.split.y instanceof Int32Array, "labels beyond a byte are 32-bit");
  assert.equal([...csv.split.y], [0, 299, 17, 256, 300, 5]);
  const small = parseCsvSplit("few.csv", "1,0\n2,3\n");
  assert.ok(small.split.y instanceof Uint8Array, "byte labels while they fit (fingerprints stay)");
  const labels = new Uint8Array(Int32Array.from([400, 7]).buffer);
  const split = parseBinarySplit("t", new Uint8Array(Float32Array.from([1, 2]).buffer), labels, 1, 500, "t.y", 4);
  assert.equal([...split.y], [400, 7]);
  assertFwdgradError(() => parseBinarySplit("t", new Uint8Array(Float32Array.from([1, 2]).buffer), labels, 1, 300, "t.y", 4), /t\.y: label 400 at row 1 is outside \[0, 300\)/);
  assertFwdgradError(() => parseBinarySplit("t", new Uint8Array(4), Uint8Array.from([1]), 1, 300), /300 classes do not fit in byte labels/);
  // A model with 301 outputs trains on them.
  const many: Dataset = { ...splitRows(parseCsvSplit("many.csv", Array.from({ length: 40 }, (_, i) => `${Math.sin(i)},${Math.cos(i)},${(i * 37) % 301}`).join("\n")).split, 2, 0.5), features: 2, classes: 301 };
  const trainer = new Trainer(many, { ...base, batch: 10 });
  const report = trainer.runEpoch()!;
  assert.ok(Number.isFinite(report.trainLoss) && report.trainAcc >= 0, JSON.stringify(report));
});

Training("mean squared error: CSV targets, every estimator trains a regression set, checkpoints keep the loss", () => {
  const csv = parseCsvSplit("r.csv", "a,b,t1,t2\n1,2,0.5,-1\n3,4,2,1e-3\n", undefined, 2);
  assert.is(csv.features, 2);
  assert.is(csv.classes, 2);
  assert.equal([...csv.split.t!], [0.5, -1, 2, 0.001].map(Math.fround));
  assertFwdgradError(() => parseCsvSplit("r.csv", "1,2\n", undefined, 2), /r.csv: line 1 has 2 columns; rows need at least one feature and 2 targets/);
  const data = regression(256);
  assertFwdgradError(() => new Trainer(data, base), /loss cross-entropy takes class labels, but the data set holds 3 regression targets per row/);
  assertFwdgradError(() => new Trainer(separable(64), { ...base, loss: "mse" }), /loss mse takes regression targets, but the data set holds class labels/);
  const first = new Trainer(data, { ...base, loss: "mse", lr: 3e-3, batch: 32 });
  const start = first.evaluate(data.test).loss;
  for (let e = 0; e < 30; e++) first.runEpoch();
  const end = first.history[first.history.length - 1];
  assert.ok(end.testLoss < 0.2 * start, `backprop: test MSE ${start} → ${end.testLoss}`);
  assert.ok(Number.isNaN(end.trainAcc), "no accuracy for a regression loss");
  for (const method of ["wt", "activation-perturbation", "forward-gradient"]) {
    const t = new Trainer(data, { ...base, method, loss: "mse", lr: 3e-3, batch: 32 });
    const before = t.evaluate(data.train).loss;
    for (let e = 0; e < 10; e++) t.runEpoch();
    assert.ok(t.history[9].trainLoss < before, `${method}: train MSE ${before} → ${t.history[9].trainLoss}`);
  }
  const saved = parseCheckpoint(serializeCheckpoint(first.state()));
  assert.is(saved.config.loss, "mse");
  assert.is(saved.data.targets, 3);
  assert.ok(Number.isNaN(saved.history[0].trainAcc));
  const resumed = new Trainer(data, saved.config, saved);
  assert.is(resumed.weightsHash(), first.weightsHash());
});

Training("a resumed run equals an uninterrupted one, bit for bit", () => {
  const data = separable(64);
  const config = { ...base, method: "wt", batch: 24 };
  const whole = new Trainer(data, config);
  for (let e = 0; e < 4; e++) whole.runEpoch();
  const first = new Trainer(data, config);
  for (let e = 0; e < 2; e++) first.runEpoch();
  const saved = serializeCheckpoint(first.state());
  const resumed = new Trainer(data, config, parseCheckpoint(saved));
  for (let e = 0; e < 2; e++) resumed.runEpoch();
  assert.is(resumed.epoch, 4);
  assert.is(resumed.weightsHash(), whole.weightsHash());
  assert.equal(resumed.history.map((h) => h.trainLoss), whole.history.map((h) => h.trainLoss));
  assertFwdgradError(() => parseCheckpoint("{"), /checkpoint: not valid JSON/);
  assertFwdgradError(() => parseCheckpoint('{"format":"other"}'), /checkpoint: unknown format "other"/);
  assertFwdgradError(() => new Trainer(separable(64), { ...config, width: 8 }, parseCheckpoint(saved)), /weights do not match the model's shapes/);
});

Training("a non-finite loss stops training and keeps the last good weights", () => {
  const data = separable(64);
  const t = new Trainer(data, { ...base, lr: 1e30 });
  for (let e = 0; e < 10 && !t.stopped; e++) {
    const before = t.weightsHash();
    const epochBefore = t.epoch;
    if (!t.runEpoch()) {
      assert.is(t.weightsHash(), before, "the weights of the last good epoch are kept");
      assert.is(t.epoch, epochBefore, "the failed epoch does not count");
    }
  }
  assert.ok(t.stopped, "training stopped");
  assert.match(t.stopped!, /non-finite (loss|gradient)/);
  assert.is(t.runEpoch(), null, "a stopped trainer does no more work");
});

Training("bad configurations are rejected", () => {
  const data = separable(64);
  assertFwdgradError(() => new Trainer(data, { ...base, width: 0 }), /train: width must be an integer ≥ 1, got 0/);
  assertFwdgradError(() => new Trainer(data, { ...base, epochs: -1 }), /train: epochs must be an integer ≥ 0, got -1/);
  assertFwdgradError(() => new Trainer(data, { ...base, lr: 0 }), /train: lr must be a positive number, got 0/);
  assertFwdgradError(() => new Trainer(data, { ...base, batch: 1000 }), /train: batch 1000 is larger than the training set \(64\)/);
  assertFwdgradError(() => new Trainer(data, { ...base, method: "sgd-magic" }), /unknown method "sgd-magic"; known: backprop, /);
  // Estimator options reach the estimator intact.
  assertFwdgradError(() => new Trainer(data, { ...base, method: "wperp", k: 4, options: { tol: 0 } }), /wperp: tol must be a number in \(0, 1\), got 0/);
  assert.ok(new FwdgradError("x") instanceof Error);
});

Training("argmaxRows takes the first of tied maxima; mlpSizes builds the papers' layer list", () => {
  assert.equal([...argmaxRows(Float32Array.from([1, 3, 3, 0, -1, -2, 5, 5, 5]), 3)], [1, 0, 0]);
  assert.equal(mlpSizes(40, 128, 3, 10), [40, 128, 128, 128, 10]);
});

Training.run();
