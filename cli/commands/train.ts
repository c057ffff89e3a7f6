// `fwdgrad train`: one MLP trained with one method on MNIST-1D or the user's data, a progress line
// or one JSON line per epoch, a checkpoint and history in --out every epoch, and --resume to continue
// bit for bit. A training run that stopped early exits 1.
import { join } from "node:path";
import { COMBINES, MAX_GUESSES, METHOD_IDS, type EstimatorOptions } from "../../estimators/index.ts";
import { encodeCheckpoint, fitsTextCheckpoint, serializeCheckpoint } from "../../train/checkpoint.ts";
import { estimatorOptions, Trainer, type TrainConfig } from "../../train/trainer.ts";
import { requireFlag, UsageError, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkOutFolder, loadData, makeOutFolder } from "../io.ts";
import { removeFile, writeDurable } from "../files.ts";
import { judged, readCheckpoint, readSafetensors } from "../weights.ts";
import { loadWeights, weightsOutputs } from "../../models/weights.ts";
import { checkMethodFits, checkMethods, checkModelSize, estimatorOptionsHelp, LOSS_FLAGS, lossFromFlags, MODEL_FLAGS, OPTION_FLAG, optionsFromFlags, runWidth, TRAINING_FLAGS, WIDTH_FLAG } from "../runs.ts";

/** One line redrawn in place on a terminal: epoch, loss, accuracy, step time and ETA. */
function progressLine(report: { epoch: number; trainLoss: number; trainAcc: number; testAcc: number; testLoss: number; ms: number }, epochs: number, started: number, stepsPerEpoch: number): string {
  const done = report.epoch / epochs;
  const width = 24;
  const bar = "█".repeat(Math.round(done * width)).padEnd(width, "░");
  const elapsed = (performance.now() - started) / 1000;
  const eta = done > 0 ? elapsed / done - elapsed : 0;
  // A regression loss has no accuracy: its test loss instead.
  const scores = Number.isNaN(report.trainAcc)
    ? `test loss ${report.testLoss.toFixed(4)}`
    : `train ${(report.trainAcc * 100).toFixed(1)}%  test ${(report.testAcc * 100).toFixed(1)}%`;
  return `${bar} epoch ${report.epoch}/${epochs}  loss ${report.trainLoss.toFixed(4)}  ${scores}  ${(report.ms / stepsPerEpoch).toFixed(1)} ms/step  ETA ${Math.round(eta)} s`;
}

/** The MLP of an --init file, and the width, depth and bias a run needs to be it. */
function initModel(path: string) {
  const file = readSafetensors("--init", path);
  const { model, outputs } = judged("--init", path, () => ({ model: loadWeights(file), outputs: weightsOutputs(file) }));
  const hidden = model.sizes.slice(1, -1);
  const kinds = model.sequence.map((l) => l.kind).join(",");
  const mlp = model.layers.map((_, i) => (i === 0 ? "dense" : "relu,dense")).join(",");
  const biases = new Set(model.layers.map((l) => l.b !== null));
  if (hidden.length === 0 || hidden.some((d) => d !== hidden[0]) || kinds !== mlp || biases.size > 1) {
    throw new UsageError(`--init ${path}: not an MLP train makes (equal hidden widths, ReLU between, biases on all layers or none): layers ${kinds}, sizes [${model.sizes.join(", ")}]`);
  }
  return { model, outputs, width: hidden[0], depth: hidden.length, bias: biases.has(true) };
}

/** The flags `train --resume` accepts: everything else is fixed by the checkpoint (the thread count never changes the numbers). */
const RESUME_FLAGS = new Set(["resume", "epochs", "out", "json", "data", "threads"]);

export const trainCommand: Command = {
  summary: "train an MLP or the MNIST-1D CNN with an estimator (or backprop) on MNIST-1D or your data",
  flags: {
    // --method and --width are required unless --resume gives them.
    method: { kind: "string", value: "<id|backprop>", required: true, help: `gradient method: ${METHOD_IDS.join(", ")}` },
    width: WIDTH_FLAG,
    ...MODEL_FLAGS,
    depth: TRAINING_FLAGS.depth,
    epochs: { kind: "int", default: 300, min: 0, help: "epochs to train (in total, when resuming)" },
    batch: TRAINING_FLAGS.batch,
    lr: TRAINING_FLAGS.lr,
    "weight-decay": TRAINING_FLAGS["weight-decay"],
    k: TRAINING_FLAGS.k,
    guesses: { kind: "int", min: 1, max: MAX_GUESSES, value: "K", help: "guesses per step (estimators; default 1)" },
    combine: { kind: "string", choices: COMBINES, help: "how the guesses combine: mean (default) or project (the gradient's projection onto their span)" },
    route: { kind: "string", choices: ["fast", "exact"], help: "wperp route (default fast); wp route (default exact: an SVD per example)" },
    option: OPTION_FLAG,
    loss: LOSS_FLAGS.loss,
    targets: LOSS_FLAGS.targets,
    seed: { kind: "int", default: 0, min: 0, help: "seed of the model, the batches and the guesses" },
    json: { kind: "boolean", help: "one JSON line per epoch, and a final line with weightsHash" },
    out: { kind: "string", value: "dir", help: "folder for checkpoint.json (checkpoint.bin where the state is too large for JSON text) and history.json, written every epoch" },
    resume: { kind: "string", value: "file", help: "continue from a checkpoint.json or checkpoint.bin" },
    init: { kind: "string", value: "file", help: "start from a .safetensors file's weights (export's); its MLP must match the run (--width and --depth default to its)" },
    data: { kind: "string", value: "path", help: "a data folder (binary format with meta.json) or a CSV file; default MNIST-1D" },
    threads: THREADS_FLAG,
  },
  notes: estimatorOptionsHelp,
  async run(flags, _positional, given) {
    await readyFor(flags);
    let config: TrainConfig;
    let resume;
    let init: ReturnType<typeof initModel> | undefined;
    if (typeof flags.init === "string") {
      if (typeof flags.resume === "string") throw new UsageError("--init and --resume do not go together: a resumed run continues from its checkpoint's weights");
      if (flags.model === "cnn") throw new UsageError("--init loads an MLP's weights (a .safetensors file of fwdgrad export); a CNN starts from its seed");
      init = initModel(flags.init);
      for (const [name, value] of [["width", init.width], ["depth", init.depth]] as const) {
        if (!given.has(name)) flags[name] = value;
        else if (flags[name] !== value) throw new UsageError(`--${name} ${flags[name]} contradicts --init ${flags.init} (an MLP of ${name} ${value}: sizes [${init.model.sizes.join(", ")}])`);
      }
    }
    if (typeof flags.resume === "string") {
      const path = flags.resume;
      resume = readCheckpoint("--resume", path);
      // The checkpoint fixes the run: a flag that would change it is refused, not ignored. Its
      // estimator options are in one place (config.options), as the named flags set them.
      const saved = { ...estimatorOptions(resume.config), ...resume.config } as unknown as Record<string, unknown>;
      for (const name of given) {
        if (RESUME_FLAGS.has(name)) continue;
        const recorded = saved[name] === undefined ? "not set" : `${name} ${saved[name]}`;
        const clash = saved[name] === flags[name] ? "is fixed by" : "contradicts";
        const value = Array.isArray(flags[name]) ? (flags[name] as string[]).join(" ") : flags[name];
        throw new UsageError(`--${name} ${value} ${clash} the checkpoint (${recorded}); with --resume only ${[...RESUME_FLAGS].filter((f) => f !== "resume").map((f) => `--${f}`).join(", ")} may be given`);
      }
      config = { ...resume.config, epochs: given.has("epochs") ? (flags.epochs as number) : resume.config.epochs };
    } else {
      requireFlag(flags, trainCommand.flags, "method");
      const width = runWidth(flags, trainCommand.flags);
      checkMethods([flags.method as string]);
      // Options the command line gave, checked strictly by the method's table (`wt` given --k is refused).
      const options = optionsFromFlags(flags);
      const { loss } = lossFromFlags(flags);
      config = {
        method: flags.method as string, width, depth: flags.depth as number, epochs: flags.epochs as number,
        batch: flags.batch as number, lr: flags.lr as number, seed: flags.seed as number,
        ...(flags.model === "cnn" ? { model: "cnn" as const } : {}),
        ...(init?.bias || flags.bias ? { bias: true } : {}),
        ...(flags["weight-decay"] !== undefined ? { weightDecay: flags["weight-decay"] as number } : {}),
        ...(loss ? { loss } : {}),
        ...(Object.keys(options).length ? { options: options as EstimatorOptions } : {}),
      };
    }
    const out = flags.out as string | undefined;
    if (out !== undefined) checkOutFolder("--out", out);
    // A resumed regression run reads its targets as it was trained: the checkpoint's data identity says how many.
    const targets = resume ? resume.data.targets : lossFromFlags(flags).targets;
    const data = loadData(flags.data as string | undefined, targets);
    if (init) {
      const sizes = init.model.sizes, inputs = sizes[0], outputs = sizes[sizes.length - 1];
      const regression = data.targets !== undefined;
      if (inputs !== data.features || outputs !== data.classes) {
        throw new UsageError(`--init ${flags.init}: the model takes ${inputs} inputs and gives ${outputs} outputs (sizes [${sizes.join(", ")}]), the data has ${data.features} features and ${data.classes} ${regression ? "targets" : "classes"}`);
      }
      if (init.outputs !== (regression ? "targets" : "classes")) throw new UsageError(`--init ${flags.init}: a model of ${init.outputs === "targets" ? "regression targets" : "classes"}, the run's data holds ${regression ? "regression targets" : "class labels"}`);
    }
    checkModelSize(data, config);
    checkMethodFits(config, data);
    const trainer = new Trainer(data, config, resume);
    if (init) trainer.startFrom(init.model);
    if (out !== undefined) makeOutFolder("--out", out);
    const tty = !flags.json && Boolean(process.stdout.isTTY);
    const started = performance.now();
    const stepsPerEpoch = Math.ceil(data.train.n / config.batch);
    while (trainer.epoch < config.epochs) {
      const survived = trainer.threadFaults.length;
      const report = trainer.runEpoch();
      for (const fault of trainer.threadFaults.slice(survived)) console.error(`fwdgrad: ${fault}`);
      if (!report) break;
      if (flags.json) console.log(JSON.stringify(report));
      else if (tty) process.stdout.write(`\r${progressLine(report, config.epochs, started, stepsPerEpoch)}`);
      else console.log(progressLine(report, config.epochs, started, stepsPerEpoch));
      if (out) {
        // One checkpoint per folder: the form written replaces the other (W̃⊥'s warm starts grow
        // over the first epoch, so a state may outgrow the text form after it was written).
        const state = trainer.state();
        const text = fitsTextCheckpoint(state);
        if (text) writeDurable(join(out, "checkpoint.json"), serializeCheckpoint(state));
        else writeDurable(join(out, "checkpoint.bin"), encodeCheckpoint(state));
        removeFile(join(out, text ? "checkpoint.bin" : "checkpoint.json"));
        writeDurable(join(out, "history.json"), `${JSON.stringify(trainer.history)}\n`);
      }
    }
    if (tty) process.stdout.write("\n");
    if (trainer.stopped) console.error(`fwdgrad: training stopped early: ${trainer.stopped}`);
    const last = trainer.history[trainer.history.length - 1];
    const final = { ...(last ?? { epoch: trainer.epoch }), method: config.method, width: config.width, seed: config.seed, weightsHash: trainer.weightsHash(), stopped: trainer.stopped };
    if (flags.json) console.log(JSON.stringify(final));
    else if (last && Number.isNaN(last.trainAcc)) console.log(`${config.method}: ${trainer.epoch} epochs, train loss ${last.trainLoss.toFixed(4)}, test loss ${last.testLoss.toFixed(4)}, weights ${final.weightsHash}`);
    else console.log(`${config.method}: ${trainer.epoch} epochs, train ${last ? (last.trainAcc * 100).toFixed(1) : "—"}%, test ${last ? (last.testAcc * 100).toFixed(1) : "—"}%, weights ${final.weightsHash}`);
    return trainer.stopped ? 1 : 0;
  },
};
