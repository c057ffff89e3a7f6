// `fwdgrad quality`: an estimator's gradient quality against backprop, per linear layer, on the
// first examples of MNIST-1D's training set (cosine, bias, variance, covariance distance, overlap),
// and its guess basis's fidelity against an f64 decomposition of each sampled example's W̃.
import { rng, tensor } from "../../index.ts";
import { COMBINES, createEstimator, isEstimatorId, MAX_GUESSES, METHOD_IDS, type Combine } from "../../estimators/index.ts";
import { measureBasisFidelity, measureQuality } from "../../estimators/metrics.ts";
import { createMlp, mlpSizes } from "../../models/mlp.ts";
import { generateMnist1d } from "../../data/mnist1d.ts";
import { requireFlag, UsageError, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkMethodFits, checkModelSize, TRAINING_FLAGS, WIDTH_FLAG } from "../runs.ts";

export const qualityCommand: Command = {
  summary: "gradient quality of an estimator against backprop, per layer",
  flags: {
    method: { kind: "string", value: "<id>", required: true, help: `estimator: ${METHOD_IDS.filter(isEstimatorId).join(", ")}` },
    width: WIDTH_FLAG,
    depth: TRAINING_FLAGS.depth,
    k: TRAINING_FLAGS.k,
    guesses: { kind: "int", default: 1, min: 1, max: MAX_GUESSES, help: "guesses per estimate" },
    combine: { kind: "string", default: "mean", choices: COMBINES, help: "how the guesses combine: mean or project" },
    draws: { kind: "int", default: 20, min: 1, help: "estimates drawn, each of --guesses guesses" },
    seed: { kind: "int", default: 0, min: 0, help: "seed of the model and the guesses" },
    batch: { kind: "int", default: 512, min: 1, help: "first examples of the training set used" },
    route: { kind: "string", default: "fast", choices: ["fast", "exact"], help: "wperp or wp route: fast or exact" },
    json: { kind: "boolean", help: "print one JSON object" },
    threads: THREADS_FLAG,
  },
  async run(flags) {
    requireFlag(flags, qualityCommand.flags, "method");
    requireFlag(flags, qualityCommand.flags, "width");
    const method = flags.method as string;
    const width = flags.width as number, depth = flags.depth as number, batch = flags.batch as number;
    const estimator = createEstimator(method, { k: flags.k as number, route: flags.route as "fast" | "exact", guesses: flags.guesses as number, combine: flags.combine as Combine });
    await readyFor(flags);
    const data = generateMnist1d();
    if (batch > data.train.n) throw new UsageError(`--batch ${batch} is larger than the training set (${data.train.n})`);
    checkModelSize(data, width, depth);
    checkMethodFits({ method, width, depth, k: flags.k as number }, data);
    const model = createMlp(mlpSizes(data.features, width, depth, data.classes), { seed: flags.seed as number });
    const x = tensor(data.train.x.subarray(0, batch * data.features), [batch, data.features]);
    const labels = Int32Array.from(data.train.y.subarray(0, batch));
    const quality = measureQuality(model, x, labels, estimator, { draws: flags.draws as number, rng: rng(flags.seed as number).split(1) });
    // The basis against an f64 decomposition of each sampled example's W̃ (null without a basis).
    const fidelity = measureBasisFidelity(model, x, labels, estimator, { examples: 64, rng: rng(flags.seed as number).split(2) });
    const layers = quality.map((l, i) => {
      const { layer: _, ...f } = fidelity[i];
      return { ...l, ...f };
    });
    const report = { method, width, depth, k: flags.k, guesses: flags.guesses, combine: flags.combine, draws: flags.draws, seed: flags.seed, layers };
    if (flags.json) {
      console.log(JSON.stringify(report));
      return;
    }
    const columns = ["cosine", "cosineWeights", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared", "energyRatio", "energyRatioMin", "subspaceAgreement", "subspaceAgreementMin"] as const;
    console.log(`${method}, width ${width}, depth ${depth}, batch ${batch}, ${flags.guesses} guess(es) combined by ${flags.combine}, ${flags.draws} draws, seed ${flags.seed}`);
    console.log(["layer", ...columns].map((c) => c.padStart(Math.max(15, c.length + 2))).join(""));
    for (const l of layers) {
      const cells = columns.map((c) => (l[c] === null ? "—" : (l[c] as number).toPrecision(c in fidelity[0] ? 6 : 4)).padStart(Math.max(15, c.length + 2)));
      console.log([String(l.layer + (l.layer === layers.length - 1 ? " (out)" : "")).padStart(15), ...cells].join(""));
    }
  },
};
