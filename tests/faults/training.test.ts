// The fault matrix of a training run: every thread fault {die, throw, stall} and an allocation that
// fails mid-step, injected into a real epoch through the engine's seams (engine/threads.ts,
// engine/heap.ts). A thread fault is survived: the trainer replays the epoch on the threads the
// engine has left and ends with the weights of a run that never failed. A memory fault is thrown,
// and the trainer's weights, optimiser and progress are those of the epoch's start; the epoch run
// again gives the unfaulted weights. No case may run past 10 s (watchdog.ts).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { engineInfo, FwdgradFault, generateMnist1d, ready, setThreadHost } from "../../index.ts";
import { failAllocationAfter } from "../../engine/heap.ts";
import { injectThreadFault, resetThreadFaults, setStallDeadline, type ThreadFault } from "../../engine/threads.ts";
import { nodeThreadHost } from "../../platform/node.ts";
import { Trainer, type TrainConfig } from "../../train/trainer.ts";
import { timedCase } from "./watchdog.ts";

setThreadHost(nodeThreadHost);
const Training = suite("fault matrix: training");
const data = generateMnist1d({ numSamples: 1000 });
const THREADS = 3;
let cases = 0;

/** The weights hash after `epochs` epochs of a run that never failed. */
const clean = new Map<string, string>();
async function cleanHash(config: TrainConfig, epochs: number): Promise<string> {
  const key = `${config.method}:${epochs}`;
  if (!clean.has(key)) {
    await ready({ threads: 1 });
    const trainer = new Trainer(data, config);
    while (trainer.epoch < epochs) trainer.runEpoch();
    clean.set(key, trainer.weightsHash());
  }
  return clean.get(key)!;
}

const config = (method: string): TrainConfig => ({ method, width: 64, depth: 2, epochs: 3, batch: 100, lr: 1e-3, seed: 3 });

for (const method of ["wt", "wperp", "backprop"]) {
  for (const kind of ["die", "throw", "stall"] as const) {
    Training(`${method} × a worker that ${kind}s mid-epoch: the epoch is replayed on the threads left, the same weights`, async () => {
      const expected = await cleanHash(config(method), 2);
      await timedCase(`${method} × thread ${kind}`, async () => {
        await ready({ threads: THREADS });
        setStallDeadline(500);
        try {
          const trainer = new Trainer(data, config(method));
          trainer.runEpoch();
          // Mid-epoch 2: the 20th split gemm this worker gets after the fault is armed.
          injectThreadFault({ worker: 1, kernel: "gemm_f32", kind, afterCalls: 20 } satisfies ThreadFault);
          const report = trainer.runEpoch();
          assert.ok(report, "the epoch completed");
          assert.is(trainer.threadFaults.length, 1, trainer.threadFaults.join("\n"));
          assert.match(trainer.threadFaults[0], /worker 1 \(thread 3 of 3\) failed in gemm_f32.*running on 2 threads; epoch 2 ran again from its start/);
          assert.is(engineInfo().threads, THREADS - 1);
          assert.match(engineInfo().threadsNote ?? "", /failed in gemm_f32/);
          assert.is(trainer.weightsHash(), expected, "the weights of a run that never failed");
        } finally {
          resetThreadFaults();
        }
      });
      cases += 1;
    });
  }
  Training(`${method} × an allocation that fails mid-step: a memory fault, the epoch's start kept, the rerun gives the same weights`, async () => {
    const expected = await cleanHash(config(method), 2);
    await timedCase(`${method} × allocation failure`, async () => {
      await ready({ threads: THREADS });
      const trainer = new Trainer(data, config(method));
      trainer.runEpoch();
      const before = { hash: trainer.weightsHash(), step: trainer.step, epoch: trainer.epoch };
      failAllocationAfter(500);
      try {
        trainer.runEpoch();
        assert.unreachable("the allocation failure surfaces");
      } catch (error) {
        assert.instance(error, FwdgradFault);
        assert.is((error as FwdgradFault).kind, "memory");
        assert.match((error as Error).message, /out of memory/);
      } finally {
        failAllocationAfter(null);
      }
      assert.equal({ hash: trainer.weightsHash(), step: trainer.step, epoch: trainer.epoch }, before, "the epoch's start is kept");
      trainer.runEpoch();
      assert.is(trainer.weightsHash(), expected, "the rerun epoch gives the unfaulted weights");
    });
    cases += 1;
  });
}

Training.after(() => console.log(`fault matrix (training): ${cases} cases`));
Training.run();
