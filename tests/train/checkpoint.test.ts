// Checkpoints: every registered method (and backprop) resumed after 2 epochs ends 2 epochs later
// with the weights of an uninterrupted 4-epoch run; damaged, forged or mismatched checkpoints get
// one clear error before anything is built.
import { ESTIMATORS, FwdgradError, mark, release, rng, tensor } from "../../index.ts";
import { encodeBase64 } from "../../engine/base64.ts";
import type { Dataset } from "../../data/dataset.ts";
import { encodeCheckpoint, fitsTextCheckpoint, parseCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { adamW } from "../../train/optim.ts";
import { Trainer, type TrainConfig } from "../../train/trainer.ts";
import { assert, assertFwdgradError, inputs, suite } from "../harness.ts";
import { joinChunks } from "../oracles.ts";

const Checkpoints = suite("checkpoints");

/** Noisy clusters: class c raises feature c. Deterministic, from the tests' own generator. */
function clusters(n: number, seed: number): Dataset {
  const features = 6, classes = 4, r = inputs(seed);
  const make = (count: number) => {
    const x = new Float32Array(count * features), y = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = i % classes;
      for (let f = 0; f < features; f++) x[i * features + f] = (f === y[i] ? 1 : 0) + 0.5 * (r.next() - 0.5);
    }
    return { x, y, n: count };
  };
  return { train: make(n), test: make(n / 2), features, classes };
}

const data = clusters(72, 5);
const base: TrainConfig = { method: "backprop", width: 16, depth: 3, epochs: 4, batch: 20, lr: 1e-2, seed: 2, k: 4 };

// Every method, and variants whose state changes around the checkpoint: W̃-NS refitting every 3
// steps (the run's 8th step is the checkpoint, mid-period), W̃⊥ with 2 guesses and its exact route.
const runs: [string, Partial<TrainConfig>][] = [
  ...["backprop", ...Object.keys(ESTIMATORS)].map((method): [string, Partial<TrainConfig>] => [method, { method }]),
  ["wperp-ns, refresh 3", { method: "wperp-ns", options: { refresh: 3 } }],
  ["wperp, 2 guesses", { method: "wperp", guesses: 2 }],
  ["wperp, exact route", { method: "wperp", route: "exact" }],
];
for (const [method, settings] of runs) {
  Checkpoints(`${method}: 2 + 2 epochs through a checkpoint equal 4 epochs`, () => {
    const config = { ...base, ...settings };
    const whole = new Trainer(data, config);
    for (let e = 0; e < 4; e++) assert.ok(whole.runEpoch(), `${method}: epoch ${e + 1} ran`);
    const first = new Trainer(data, config);
    for (let e = 0; e < 2; e++) first.runEpoch();
    // Both forms: the text (a string) and the binary (its chunks joined, as a file reads back).
    for (const saved of [serializeCheckpoint(first.state()), joinChunks(encodeCheckpoint(first.state()))]) {
      const resumed = new Trainer(data, config, parseCheckpoint(saved));
      for (let e = 0; e < 2; e++) resumed.runEpoch();
      assert.is(resumed.step, whole.step);
      assert.is(resumed.weightsHash(), whole.weightsHash(), `${method}, ${typeof saved === "string" ? "text" : "binary"} form: weights after 2 + 2 epochs`);
      assert.equal(resumed.history.map((h) => h.trainLoss), whole.history.map((h) => h.trainLoss));
    }
  });
}

Checkpoints("probing the run's own W̃⊥ basis leaves training bit-identical", () => {
  const config = { ...base, method: "wperp" };
  const plain = new Trainer(data, config);
  const probed = new Trainer(data, config);
  for (let e = 0; e < 3; e++) {
    plain.runEpoch();
    probed.runEpoch();
    const layers = probed.probeBasisFidelity({ rows: 40, examples: 8, rng: rng(4) })!;
    assert.is(layers.length, 4);
    for (const layer of layers.slice(0, 2)) assert.ok(layer.energyRatio! > 0.9 && layer.energyRatio! <= 1 + 1e-6, `layer ${layer.layer}: energy ratio ${layer.energyRatio}`);
    assert.is(layers[3].energyRatio, null);
  }
  assert.is(probed.weightsHash(), plain.weightsHash());
  assert.is(new Trainer(data, { ...base, method: "backprop" }).probeBasisFidelity({ rng: rng(4) }), null);
});

/** A valid wperp checkpoint after one epoch, as a JSON object to damage. */
function validCheckpoint(): Record<string, unknown> {
  const trainer = new Trainer(data, { ...base, method: "wperp" });
  trainer.runEpoch();
  return JSON.parse(serializeCheckpoint(trainer.state()));
}

Checkpoints("damaged and forged files get one line naming the field", () => {
  const good = validCheckpoint();
  const text = (edit: (c: Record<string, any>) => void) => {
    const copy = structuredClone(good) as Record<string, any>;
    edit(copy);
    return JSON.stringify(copy);
  };
  const cases: [string, RegExp][] = [
    ["null", /checkpoint: the file must be an object, got null/],
    ["[]", /the file must be an object, got an array/],
    ["{", /not valid JSON/],
    [text((c) => (c.format = "fwdgrad-checkpoint-1")), /format 1/],
    [text((c) => (c.version = 3)), /version must be 2, got 3/],
    [text((c) => delete c.weights), /weights must be an array, got undefined/],
    [text((c) => (c.weights = "x")), /weights must be an array/],
    [text((c) => (c.weights[0] = "@@@")), /weights\[0\] is not valid base64/],
    [text((c) => (c.weights[0] = "AAAAAAA=")), /weights\[0\] holds 5 bytes, not a whole number of f32 values/],
    [text((c) => (c.weights[1] = encodeBase64(new Uint8Array(Float32Array.from([1, NaN]).buffer)))), /weights\[1\] holds NaN at index 1/],
    [text((c) => delete c.optimizer), /optimizer must be an object/],
    [text((c) => (c.optimizer.step = 1e12)), /optimizer.step is 1000000000000, the run's step 4/],
    [text((c) => (c.optimizer.step = "4")), /optimizer.step must be an integer/],
    [text((c) => (c.optimizer.buffers = "[]")), /optimizer.buffers must be an array/],
    [text((c) => (c.optimizer.powers = [2, 0.5])), /optimizer.powers must be/],
    [text((c) => (c.epoch = 2)), /step is 4, but 2 epochs of 4 steps make 8/],
    [text((c) => (c.epoch = -1)), /epoch must be an integer ≥ 0/],
    [text((c) => (c.history = [])), /history has 0 entries for 1 epochs/],
    [text((c) => (c.history[0].trainLoss = "low")), /history\[0\].trainLoss must be a finite number/],
    [text((c) => (c.config.method = "toString")), /config.method must be a gradient method \(backprop or an estimator id\), got "toString"/],
    [text((c) => (c.config.method = "__proto__")), /config.method must be a gradient method/],
    [text((c) => (c.config.width = 0)), /config.width must be an integer ≥ 1/],
    [text((c) => (c.config.lr = -1)), /config.lr must be positive/],
    [text((c) => (c.config.extra = 1)), /config.extra is not a checkpoint field/],
    [text((c) => (c.data.fingerprint = "xyz")), /data.fingerprint must be 16 hex digits/],
    [text((c) => (c.checksum = "0000000000000000")), /checksum is 0000000000000000, but the arrays hash to [0-9a-f]{16}: the file is damaged/],
    [text((c) => (c.estimator.arrays["bases.0"] = 5)), /estimator.arrays.bases.0 must be base64 text/],
  ];
  for (const [file, pattern] of cases) assertFwdgradError(() => parseCheckpoint(file), pattern);
});

Checkpoints("a checkpoint that does not fit the run is refused by the trainer", () => {
  const saved = () => parseCheckpoint(JSON.stringify(validCheckpoint()));
  const config = { ...base, method: "wperp" };
  assertFwdgradError(() => new Trainer(data, { ...config, width: 8 }, saved()), /the checkpoint's weights do not match the model's shapes/);
  assertFwdgradError(() => new Trainer(clusters(72, 6), config, saved()), /was trained on other data \(72 \+ 36 rows of 6 features, 4 classes, fingerprint [0-9a-f]{16}\) than this run's/);
  assertFwdgradError(() => new Trainer(data, { ...config, batch: 36 }, saved()), /says step 4 after epoch 1; with 2 steps per epoch that is 2/);
  const noMoments = saved();
  noMoments.optimizer.buffers = [];
  assertFwdgradError(() => new Trainer(data, config, noMoments), /optimizer moments \(0 arrays\) do not match/);
  const noState = saved();
  noState.estimator = null;
  assertFwdgradError(() => new Trainer(data, config, noState), /lacks the state wperp carries between steps/);
  const badState = saved();
  badState.estimator = { numbers: { "rows.0": [0, 0] }, arrays: { "bases.0": new Float32Array(2 * 6 * 16) } };
  assertFwdgradError(() => new Trainer(data, config, badState), /does not restore: wperp: estimator state: "rows.0" holds 0, not a new row index/);
  assertFwdgradError(() => new Trainer(data, { ...config, method: "wt" }, saved()), /holds estimator state, which wt does not keep/);
  // The model is [6, 16, 16, 16, 4] with k = 4: the Gram starts are [16, k + oversample 2].
  const wrongStart = saved();
  wrongStart.estimator!.numbers["warm.0.shape"] = [16, 5];
  wrongStart.estimator!.arrays["warm.0"] = new Float32Array(80);
  assertFwdgradError(() => new Trainer(data, config, wrongStart), /"warm.0" has shape \[16, 5\] and 80 values, expected \[16, 6\]/);
  const thinLayer = saved();
  thinLayer.estimator!.numbers["rows.2"] = [0];
  thinLayer.estimator!.arrays["bases.2"] = new Float32Array(16 * 4);
  assertFwdgradError(() => new Trainer(data, config, thinLayer), /"bases.2" is for layer 2, which keeps no starts in a model of sizes \[6, 16, 16, 16, 4\] with k = 4/);
  const narrowBases = saved();
  narrowBases.estimator!.arrays["bases.0"] = narrowBases.estimator!.arrays["bases.0"].subarray(4);
  assertFwdgradError(() => new Trainer(data, config, narrowBases), /"bases.0" has \d+ values for 72 rows of 6 × 16/);
  const staleMoments = saved();
  staleMoments.optimizer.powers = [0.5, 0.5];
  assertFwdgradError(() => new Trainer(data, config, staleMoments), /does not restore: adamW.restore: powers \[0.5,0.5\] are not β₁ᵗ, β₂ᵗ for β = \[0.9, 0.999\] at step 4/);
  const negativeMoment = saved();
  negativeMoment.optimizer.buffers[5][3] = -1;
  assertFwdgradError(() => new Trainer(data, config, negativeMoment), /adamW.restore: second moment 1 holds -1 at index 3/);
  // Before the first step there are no moments yet; any given must still fit the parameters.
  const fresh = new Trainer(data, config).state();
  assert.is(new Trainer(data, config, fresh).weightsHash(), new Trainer(data, config).weightsHash());
  fresh.optimizer.buffers = [new Float32Array(3), new Float32Array(3)];
  assertFwdgradError(() => new Trainer(data, config, fresh), /optimizer moments \(2 arrays\) do not match/);
});

Checkpoints("AdamW restores a huge step without replaying it, and refuses missing moments or wrong powers", () => {
  const optimizer = adamW();
  // β₁ᵗ, β₂ᵗ underflow long before 10¹² steps: any value below the normal range stands for them.
  optimizer.restore({ step: 1e12, buffers: [new Float32Array(1), new Float32Array(1)], powers: [0, 5e-324] });
  assert.is(optimizer.state().step, 1e12);
  assertFwdgradError(() => adamW().restore({ step: 1e12, buffers: [new Float32Array(1), new Float32Array(1)], powers: [1e-30, 1e-30] }), /powers \[1e-30,1e-30\] are not β₁ᵗ, β₂ᵗ/);
  // A long run's running products (they stop at the smallest denormals, never reaching Math.pow's 0).
  for (const steps of [1, 7, 8000, 700_000]) {
    let p1 = 1, p2 = 1;
    for (let t = 0; t < steps; t++) {
      p1 *= 0.9;
      p2 *= 0.999;
    }
    const restored = adamW();
    restored.restore({ step: steps, buffers: [new Float32Array(2), new Float32Array(2)], powers: [p1, p2] });
    assert.equal(restored.state().powers, [p1, p2], `powers after ${steps} steps`);
  }
  assertFwdgradError(() => adamW().restore({ step: 1e12, buffers: [new Float32Array(1), new Float32Array(1)] }), /more than 10000000 steps to replay/);
  assertFwdgradError(() => adamW().restore({ step: 3, buffers: [] }), /step 3 without its moments/);
  assert.ok(new FwdgradError("x") instanceof Error);
});

Checkpoints("AdamW's moments and steps stay inside the bounds a restore checks, for hostile gradients", () => {
  const lr = 0.5, r = inputs(9);
  const start = Float32Array.from([0.3, -0.2, 0, 1e-3, 0.7, -0.9]);
  const param = tensor(start, [6]);
  const optimizer = adamW({ lr, weightDecay: 0.01 });
  // Per coordinate: a geometric ramp then silence (|m|/√v's worst case), heavy tails, tiny values
  // (f32 underflow of v), a constant push and alternating signs.
  const gradient = (t: number) => [
    t < 300 ? (0.999 / 0.9) ** (t - 300) : 0,
    (r.next() - 0.5) * Math.exp(40 * (r.next() - 0.5)),
    t < 300 ? 1e-24 * (0.999 / 0.9) ** (t - 300) : 0,
    1,
    t % 2 ? 1e3 : -1e3,
    r.next() < 0.01 ? 1e6 : 0,
  ];
  for (let t = 1; t <= 600; t++) {
    const scope = mark();
    optimizer.step([param], [tensor(Float32Array.from(gradient(t)), [6])]);
    release(scope);
    if (t % 50 === 0) {
      adamW({ lr, weightDecay: 0.01 }).restore(optimizer.state());
      const { scale, shift } = optimizer.reach!(t);
      param.toArray().forEach((p, j) => assert.ok(Math.abs(p) <= scale * Math.abs(start[j]) + shift, `step ${t}: |${p}| within reach`));
    }
  }
  const moments = optimizer.state();
  moments.buffers[0][0] = 8 * Math.sqrt(moments.buffers[1][0]) + 1;
  assertFwdgradError(() => adamW({ lr, weightDecay: 0.01 }).restore(moments), /first moment 0 holds [\d.e+-]+ at index 0, beyond 7.27·√v/);
});

Checkpoints("weights beyond AdamW's reach from the initialisation are refused", () => {
  const config = { ...base, method: "wperp" };
  const trainer = new Trainer(data, config);
  trainer.runEpoch();
  const forged = trainer.state();
  forged.weights[1][5] = 1e30;
  assertFwdgradError(() => new Trainer(data, config, forged), /the checkpoint's weights\[1\] hold 1\.0\d*e\+30 at index 5, beyond what 4 AdamW steps at lr 0.01 reach from the initialisation/);
});

Checkpoints("the binary form: read from bytes like the text form, damage named before anything is built; a state too large for text is refused there", () => {
  const trainer = new Trainer(data, { ...base, method: "wperp" });
  trainer.runEpoch();
  const state = trainer.state();
  const bytes = joinChunks(encodeCheckpoint(state));
  const headerEnd = bytes.indexOf(0x0a);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerEnd)));
  assert.is(header.version, 3);
  assert.is(header.weights[0], state.weights[0].length, "the header gives each array's length");
  assert.is(parseCheckpoint(new TextEncoder().encode(serializeCheckpoint(state))).weights.length, state.weights.length, "the text form's bytes read too");
  const withHeader = (edit: (h: Record<string, unknown>) => void) => {
    const h = JSON.parse(JSON.stringify(header));
    edit(h);
    const top = new TextEncoder().encode(`${JSON.stringify(h)}\n`);
    return joinChunks([top, bytes.subarray(headerEnd + 1)]);
  };
  const cases: [Uint8Array, RegExp][] = [
    [bytes.subarray(0, bytes.length - 4), /checkpoint: estimator\.arrays\.[^ ]+ needs \d+ values, but the file has \d+ left|checkpoint: optimizer/],
    [joinChunks([bytes, new Uint8Array(8)]), /checkpoint: the file has 8 bytes after its last array/],
    [withHeader((h) => ((h.weights as number[])[0] += 1)), /checkpoint: .* (needs \d+ values|bytes after its last array|hash to)/],
    [withHeader((h) => ((h.weights as unknown[])[0] = "AAAA")), /checkpoint: weights\[0\] must be an integer ≥ 0, got "AAAA"/],
    [withHeader((h) => (h.version = 2)), /checkpoint: not valid JSON/],
  ];
  for (const [file, pattern] of cases) assertFwdgradError(() => parseCheckpoint(file), pattern);
  const flipped = bytes.slice();
  flipped[headerEnd + 5] ^= 0x10;
  assertFwdgradError(() => parseCheckpoint(flipped), /checkpoint: checksum is [0-9a-f]{16}, but the arrays hash to [0-9a-f]{16}: the file is damaged|holds/);
  // 2^27 floats (512 MiB, never written: the refusal reads only their size) pass V8's string limit as base64.
  const huge = { ...state, weights: [new Float32Array(2 ** 27), ...state.weights.slice(1)] };
  assert.not.ok(fitsTextCheckpoint(huge));
  assert.ok(fitsTextCheckpoint(state));
  assertFwdgradError(() => serializeCheckpoint(huge), /checkpoint: the state's arrays take 51\d MiB, more than JSON text can carry in one string; use the binary form \(encodeCheckpoint\)/);
});

Checkpoints.run();
