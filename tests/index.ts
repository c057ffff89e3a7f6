// The single test entry for every runtime (Node via tsx, Deno, Bun, and the browser bundle).
import "./engine/kernels.test.ts";
import "./engine/prims.test.ts";
import "./engine/jvp.test.ts";
import "./engine/rng.test.ts";
import "./engine/memory.test.ts";
import "./engine/errors.test.ts";
import "./engine/linalg.test.ts";
import "./engine/inplace.test.ts";
import "./data/mnist1d.test.ts";
import "./estimators/estimators.test.ts";
import "./estimators/basis-fidelity.test.ts";
import "./train/optim.test.ts";
import "./train/trainer.test.ts";
import "./data/dataset.test.ts";
import "./train/worker.test.ts";
import "./train/checkpoint.test.ts";
import "./train/determinism.test.ts";
