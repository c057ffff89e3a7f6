// Memory known before work: every method's estimate (train/memory.ts) against the heap's measured
// peak over construction, one step and the evaluation; a run that cannot fit is refused up front; an
// allocation failing mid-epoch is a FwdgradFault that leaves the trainer as it was, and the epoch
// run again gives the bits of a run that never failed.
import { engine } from "../../engine/backend.ts";
import { failAllocationAfter } from "../../engine/heap.ts";
import { FwdgradFault } from "../../index.ts";
import type { Dataset } from "../../data/dataset.ts";
import { trainingWorkingSet } from "../../train/memory.ts";
import { Trainer, type TrainConfig, type TrainerState } from "../../train/trainer.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Memory = suite("training memory");

function data(n: number, testN: number, features = 20, classes = 5): Dataset {
  const make = (count: number, offset: number) => {
    const x = new Float32Array(count * features), y = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = (i + offset) % classes;
      for (let f = 0; f < features; f++) x[i * features + f] = Math.sin(0.37 * (i + offset) * (f + 1)) + (f === y[i] ? 1 : 0);
    }
    return { x, y, n: count };
  };
  return { train: make(n, 0), test: make(testN, 7), features, classes };
}

const METHODS: [string, object][] = [
  ["backprop", {}], ["forward-gradient", {}], ["activation-perturbation", {}], ["activation-perturbation-masked", {}], ["wt", {}],
  ["wperp", { k: 4 }], ["wperp", { k: 4, route: "exact" }], ["wperp-ns", { k: 4 }], ["wp", {}], ["wp", { route: "fast" }],
];

// W̃⊥ reserves each cold example's Lanczos basis at its worst, every unit active ((d + 1)·d floats);
// a fresh ReLU network has about half its units active, a quarter of that: its estimate may reach 3.5×.
const bound = (method: string) => (method === "wperp" ? 3.5 : 2);

Memory("every method's estimate covers the measured heap peak of construction, one step and evaluation, within its bound", () => {
  const heap = engine().heap;
  const threads = engine().pool ? engine().pool!.size + 1 : 1;
  for (const [method, options] of METHODS) {
    for (const [width, batch] of [[16, 8], [16, 64], [64, 32], [200, 8]]) {
      for (const guesses of method === "backprop" ? [1] : [1, 4]) {
        const config: TrainConfig = { method, width, depth: 3, epochs: 1, batch, lr: 1e-3, seed: 1, options: method === "backprop" ? {} : { ...options, guesses, combine: guesses > 1 ? "project" : "mean" } };
        const set = data(batch, 300);
        const before = heap.used;
        heap.resetPeak();
        new Trainer(set, config).runEpoch();
        const peak = heap.peak - before;
        const estimate = trainingWorkingSet(config, set, threads).bytes;
        const what = `${method} ${JSON.stringify(options)} width ${width} batch ${batch} guesses ${guesses}: estimate ${estimate}, peak ${peak}`;
        assert.ok(estimate >= peak, what);
        // Further threads' scratch is taken only by kernels big enough to split: the bound is on one thread's.
        assert.ok(trainingWorkingSet(config, set, 1).bytes <= bound(method) * peak, what);
      }
    }
  }
});

Memory("a run whose estimate passes the engine's limit is refused before any work, naming bytes, limit and what to lower", () => {
  const set = data(64, 32, 40, 10);
  const used = engine().heap.used;
  const started = performance.now();
  assertFwdgradError(
    () => new Trainer(set, { method: "wp", width: 2000, depth: 3, epochs: 1, batch: 64, lr: 1e-3, seed: 0 }),
    /train: wp at width 2000, depth 3, batch 64 needs about [\d.]+ GiB of engine memory \(parameters .*\), more than its limit of [\d.]+ GiB; lower the width to \d+, or the batch to \d+/,
  );
  assert.ok(performance.now() - started < 1000);
  assert.is(engine().heap.used, used, "nothing was allocated");
});

/** A trainer's state without the epochs' wall times. */
const timeless = (state: TrainerState) => ({ ...state, history: state.history.map(({ ms: _ms, ...rest }) => rest) });

// Allocations into the second epoch at which the fault strikes: mid-step for each method.
const FAULTS: [string, object, number][] = [["wt", {}, 40], ["wperp", { k: 4 }, 60], ["forward-gradient", {}, 40], ["backprop", {}, 30], ["wperp-ns", { k: 4 }, 60]];

for (const [method, options, after] of FAULTS) {
  Memory(`${method}: an allocation failing mid-epoch is a memory fault; the trainer is as before, and the epoch run again repeats an unfaulted run`, () => {
    const set = data(96, 40);
    const config: TrainConfig = { method, width: 24, depth: 2, epochs: 3, batch: 32, lr: 1e-2, seed: 5, options };
    const reference = new Trainer(set, config);
    reference.runEpoch();
    reference.runEpoch();
    const trainer = new Trainer(set, config);
    trainer.runEpoch();
    const before = trainer.state();
    const hash = trainer.weightsHash();
    const used = engine().heap.used;
    failAllocationAfter(after);
    let fault: unknown = null;
    try {
      trainer.runEpoch();
    } catch (error) {
      fault = error;
    } finally {
      failAllocationAfter(null);
    }
    assert.ok(fault instanceof FwdgradFault, `expected a FwdgradFault, got ${String(fault)}`);
    assert.is((fault as FwdgradFault).kind, "memory");
    assert.match((fault as Error).message, /out of memory: the engine needs [\d.]+ MiB of heap \([\d.]+ MiB reserved, limit [\d.]+ MiB\)/);
    assert.is(engine().heap.used, used, "the epoch's heap is freed");
    assert.is(trainer.weightsHash(), hash);
    assert.equal(trainer.state(), before);
    trainer.runEpoch();
    assert.is(trainer.weightsHash(), reference.weightsHash());
    assert.equal(timeless(trainer.state()), timeless(reference.state()));
  });
}

Memory.run();
