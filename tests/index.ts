// The single test entry for every runtime (Node via tsx, Deno, Bun, and the browser bundle).
import "./engine/kernels.test.ts";
import "./engine/prims.test.ts";
import "./engine/jvp.test.ts";
import "./engine/rng.test.ts";
import "./engine/memory.test.ts";
import "./engine/errors.test.ts";
import "./engine/linalg.test.ts";
import "./engine/inplace.test.ts";
import "./models/mnist1d.test.ts";
import "./estimators/estimators.test.ts";
import "./models/optim.test.ts";
import "./models/train.test.ts";
import "./models/dataset.test.ts";
import "./models/train-worker.test.ts";
import "./models/checkpoint.test.ts";
import "./models/determinism.test.ts";
