// Training-step cases: one step of an estimator (primal pass, guesses, one forward-mode pass,
// estimate, AdamW) on the W̃⊥ paper's MLP (40 → 512 × 3 → 10, batch 512, MNIST-1D), against the
// exact baseline's step (backprop + AdamW) of the same library in the same run.
import { adamW, backprop, createEstimator, createMlp, estimateStep, generateMnist1d, mark, prepareStep, release, rng, tensor } from "../index.ts";
import type { Case, Peer } from "./case.ts";

const WIDTH = 512;
const BATCH = 512;

function stepCase(id: string): Case {
  return {
    name: `step ${id} width ${WIDTH} batch ${BATCH}`,
    kind: "step",
    flops: null,
    setup() {
      const data = generateMnist1d();
      const x = tensor(data.train.x.subarray(0, BATCH * data.features), [BATCH, data.features]);
      const labels = Int32Array.from(data.train.y.subarray(0, BATCH));
      // The batch's data set rows: estimators with per-example state (wperp) warm-start from them,
      // as they do in training, where every example returns once per epoch.
      const rows = Int32Array.from({ length: BATCH }, (_, i) => i);
      const model = createMlp([data.features, WIDTH, WIDTH, WIDTH, data.classes], { seed: 0 });
      const weights = model.layers.map((l) => l.w);
      const estimator = createEstimator(id);
      const optimizer = adamW();
      let step = 0;
      const backpropPeer: Peer = {
        name: "backprop step (fwdgrad)",
        key: `backprop step ${WIDTH}x${BATCH}`,
        setup() {
          const peerModel = createMlp([data.features, WIDTH, WIDTH, WIDTH, data.classes], { seed: 0 });
          const peerOptimizer = adamW();
          return {
            run: () => {
              const s = mark();
              peerOptimizer.step(peerModel.layers.map((l) => l.w), backprop(peerModel, x, labels).grads.w);
              release(s);
            },
          };
        },
      };
      return {
        ours: () => {
          const s = mark();
          const { grads } = estimateStep(estimator, prepareStep(model, x, labels, rng(1).split(step++), rows));
          optimizer.step(weights, grads.w);
          release(s);
        },
        peers: [backpropPeer],
      };
    },
  };
}

/** wt and wperp (fast) steps: the estimators issue's speed targets (≤ 90 ms and ≤ 400 ms). */
export const STEP_CASES: Case[] = ["wt", "wperp", "activation-perturbation"].map(stepCase);
