// `fwdgrad quality`: an estimator's gradient quality against backprop, per linear layer, on the
// first examples of MNIST-1D's training set (cosine, bias, variance, covariance distance, overlap),
// and its guess basis's fidelity against an f64 decomposition of each sampled example's W̃.
import { rng, tensor } from "../../index.ts";
import { FwdgradError } from "../../engine/errors.ts";
import { COMBINES, createEstimator, isEstimatorId, MAX_GUESSES, METHOD_IDS, methodOptions } from "../../estimators/index.ts";
import { resolveOptions } from "../../estimators/options.ts";
import { measureBasisFidelity, measureQuality } from "../../estimators/metrics.ts";
import { createModel } from "../../train/trainer.ts";
import { generateMnist1d } from "../../data/mnist1d.ts";
import { requireFlag, UsageError, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkMethodFits, checkModelSize, estimatorOptionsHelp, MODEL_FLAGS, OPTION_FLAG, optionsFromFlags, runWidth, TRAINING_FLAGS, WIDTH_FLAG } from "../runs.ts";

export const qualityCommand: Command = {
  summary: "gradient quality of an estimator against backprop, per layer",
  flags: {
    method: { kind: "string", value: "<id>", required: true, help: `estimator: ${METHOD_IDS.filter(isEstimatorId).join(", ")}` },
    width: WIDTH_FLAG,
    ...MODEL_FLAGS,
    depth: TRAINING_FLAGS.depth,
    k: TRAINING_FLAGS.k,
    guesses: { kind: "int", min: 1, max: MAX_GUESSES, value: "K", help: "guesses per estimate (default 1)" },
    combine: { kind: "string", choices: COMBINES, help: "how the guesses combine: mean (default) or project" },
    draws: { kind: "int", default: 20, min: 1, help: "estimates drawn, each of --guesses guesses" },
    seed: { kind: "int", default: 0, min: 0, help: "seed of the model and the guesses" },
    batch: { kind: "int", default: 512, min: 1, help: "first examples of the training set used" },
    route: { kind: "string", choices: ["fast", "exact"], help: "wperp or wp route: fast or exact (defaults from their tables, as train takes them: wperp fast, wp exact)" },
    option: OPTION_FLAG,
    json: { kind: "boolean", help: "print one JSON object" },
    threads: THREADS_FLAG,
  },
  notes: estimatorOptionsHelp,
  async run(flags) {
    requireFlag(flags, qualityCommand.flags, "method");
    const width = runWidth(flags, qualityCommand.flags);
    const method = flags.method as string;
    const depth = flags.depth as number, batch = flags.batch as number;
    const architecture = { ...(flags.model === "cnn" ? { model: "cnn" as const } : {}), width, depth, bias: Boolean(flags.bias), seed: flags.seed as number };
    if (!isEstimatorId(method)) throw new UsageError(`unknown estimator ${JSON.stringify(method)}; known: ${METHOD_IDS.filter(isEstimatorId).join(", ")}`);
    // The same options, checked and defaulted by the same table, as train gives the estimator.
    const options = optionsFromFlags(flags);
    let resolved: Record<string, number | string>;
    try {
      resolved = resolveOptions(method, methodOptions(method), options);
    } catch (error) {
      if (error instanceof FwdgradError) throw new UsageError(error.message);
      throw error;
    }
    const estimator = createEstimator(method, options);
    await readyFor(flags);
    const data = generateMnist1d();
    if (batch > data.train.n) throw new UsageError(`--batch ${batch} is larger than the training set (${data.train.n})`);
    checkModelSize(data, architecture);
    checkMethodFits({ method, ...architecture, options }, data);
    const model = createModel(architecture, data);
    const x = tensor(data.train.x.subarray(0, batch * data.features), [batch, data.features]);
    const labels = Int32Array.from(data.train.y.subarray(0, batch));
    const quality = measureQuality(model, x, labels, estimator, { draws: flags.draws as number, rng: rng(flags.seed as number).split(1) });
    // The basis against an f64 decomposition of each sampled example's W̃ (null without a basis).
    const fidelity = measureBasisFidelity(model, x, labels, estimator, { examples: 64, rng: rng(flags.seed as number).split(2) });
    const layers = quality.map((l, i) => {
      const { layer: _, ...f } = fidelity[i];
      return { ...l, ...f };
    });
    const report = { method, model: flags.model ?? "mlp", width, depth, k: resolved.k ?? null, guesses: resolved.guesses, combine: resolved.combine, draws: flags.draws, seed: flags.seed, layers, options: resolved };
    if (flags.json) {
      console.log(JSON.stringify(report));
      return;
    }
    const columns = ["cosine", "cosineWeights", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared", "energyRatio", "energyRatioMin", "subspaceAgreement", "subspaceAgreementMin"] as const;
    console.log(`${method}, width ${width}, depth ${depth}, batch ${batch}, ${resolved.guesses} guess(es) combined by ${resolved.combine}, ${flags.draws} draws, seed ${flags.seed}`);
    console.log(["layer", ...columns].map((c) => c.padStart(Math.max(15, c.length + 2))).join(""));
    for (const l of layers) {
      const cells = columns.map((c) => (l[c] === null ? "—" : (l[c] as number).toPrecision(c in fidelity[0] ? 6 : 4)).padStart(Math.max(15, c.length + 2)));
      console.log([String(l.layer + (l.layer === layers.length - 1 ? " (out)" : "")).padStart(15), ...cells].join(""));
    }
  },
};
