// The `fwdgrad` command line: training, data sets and gradient-quality measurements.
// Errors print one line and a usage hint, and exit 2; a training run that stopped early exits 1.
import { existsSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { rng, tensor } from "../index.ts";
import { FwdgradError } from "../engine/errors.ts";
import { COMBINES, createEstimator, isEstimatorId, MAX_GUESSES, METHOD_IDS, type Combine } from "../estimators/index.ts";
import { measureBasisFidelity, measureQuality } from "../estimators/metrics.ts";
import { createMlp, mlpSizes } from "../models/mlp.ts";
import { generateMnist1d } from "../data/mnist1d.ts";
import { encodeCheckpoint, fitsTextCheckpoint, parseCheckpoint, serializeCheckpoint } from "../train/checkpoint.ts";
import { Trainer, type TrainConfig } from "../train/trainer.ts";
import { describeFlags, parseFlags, UsageError, type Command } from "./args.ts";
import { readyFor, THREADS_FLAG } from "./engine.ts";
import { checkMethodFits, checkMethods, checkModelSize, compareCommand, reproduceCommand, TRAINING_FLAGS } from "./experiments.ts";
import { demoCommand } from "./demo.ts";
import { bytesOf, checkOutFolder, loadData, makeOutFolder, writeAtomic } from "./io.ts";

/** One line redrawn in place on a terminal: epoch, loss, accuracy, step time and ETA. */
function progressLine(report: { epoch: number; trainLoss: number; trainAcc: number; testAcc: number; ms: number }, epochs: number, started: number, stepsPerEpoch: number): string {
  const done = report.epoch / epochs;
  const width = 24;
  const bar = "█".repeat(Math.round(done * width)).padEnd(width, "░");
  const elapsed = (performance.now() - started) / 1000;
  const eta = done > 0 ? elapsed / done - elapsed : 0;
  return `${bar} epoch ${report.epoch}/${epochs}  loss ${report.trainLoss.toFixed(4)}  train ${(report.trainAcc * 100).toFixed(1)}%  test ${(report.testAcc * 100).toFixed(1)}%  ${(report.ms / stepsPerEpoch).toFixed(1)} ms/step  ETA ${Math.round(eta)} s`;
}

/** Generated examples at most: 40 features each, kept in memory several times while generating. */
const MAX_SAMPLES = 1_000_000;

/** The flags `train --resume` accepts: everything else is fixed by the checkpoint. */
const RESUME_FLAGS = new Set(["resume", "epochs", "out", "json", "data"]);

/** The commands by name; exported so tests can parse against the real flag specs. */
export const COMMANDS: Record<string, Command> = {
  demo: demoCommand,
  compare: compareCommand,
  reproduce: reproduceCommand,
  train: {
    summary: "train an MLP with an estimator (or backprop) on MNIST-1D or your data",
    usage: "fwdgrad train --method <id|backprop> --width <d> [--depth 3] [--epochs 300] [--batch 512] [--lr 1e-4] [--k 10] [--guesses 1] [--combine mean|project] [--route fast|exact] [--seed 0] [--json] [--out dir] [--resume file] [--data path] [--threads n]",
    flags: {
      method: { kind: "string", help: `gradient method: ${METHOD_IDS.join(", ")}` },
      width: { kind: "int", min: 1, help: "hidden width" },
      ...TRAINING_FLAGS,
      epochs: { kind: "int", default: 300, min: 0, help: "epochs to train (in total, when resuming)" },
      guesses: { kind: "int", min: 1, max: MAX_GUESSES, help: "guesses per step (estimators; default 1)" },
      combine: { kind: "string", choices: COMBINES, help: "how the guesses combine: mean (default) or project (the gradient's projection onto their span)" },
      route: { kind: "string", choices: ["fast", "exact"], help: "wperp route (default fast); wp route (default exact: an SVD per example)" },
      seed: { kind: "int", default: 0, min: 0, help: "seed of the model, the batches and the guesses" },
      json: { kind: "boolean", help: "one JSON line per epoch, and a final line with weightsHash" },
      out: { kind: "string", help: "folder for checkpoint.json (checkpoint.bin where the state is too large for JSON text) and history.json, written every epoch" },
      resume: { kind: "string", help: "continue from a checkpoint.json or checkpoint.bin" },
      data: { kind: "string", help: "a data folder (binary format with meta.json) or a CSV file; default MNIST-1D" },
      threads: THREADS_FLAG,
    },
    async run(flags, _positional, given) {
      await readyFor(flags);
      let config: TrainConfig;
      let resume;
      if (typeof flags.resume === "string") {
        const path = flags.resume;
        if (!existsSync(path)) throw new UsageError(`--resume ${path}: no such file`);
        if (!statSync(path).isFile()) throw new UsageError(`--resume ${path}: not a file (give the checkpoint.json or checkpoint.bin inside an --out folder)`);
        try {
          resume = parseCheckpoint(readFileSync(path));
        } catch (error) {
          if (error instanceof FwdgradError) throw new UsageError(`--resume ${path}: ${error.message}`);
          throw error;
        }
        // The checkpoint fixes the run: a flag that would change it is refused, not ignored.
        const saved = resume.config as unknown as Record<string, unknown>;
        for (const name of given) {
          if (RESUME_FLAGS.has(name)) continue;
          const recorded = saved[name] === undefined ? "not set" : `${name} ${saved[name]}`;
          const clash = saved[name] === flags[name] ? "is fixed by" : "contradicts";
          throw new UsageError(`--${name} ${flags[name]} ${clash} the checkpoint (${recorded}); with --resume only ${[...RESUME_FLAGS].filter((f) => f !== "resume").map((f) => `--${f}`).join(", ")} may be given`);
        }
        config = { ...resume.config, epochs: given.has("epochs") ? (flags.epochs as number) : resume.config.epochs };
      } else {
        if (typeof flags.method !== "string") throw new UsageError("--method <id|backprop> is required");
        if (flags.width === undefined) throw new UsageError("--width <d> is required");
        checkMethods([flags.method]);
        config = {
          method: flags.method, width: flags.width as number, depth: flags.depth as number, epochs: flags.epochs as number,
          batch: flags.batch as number, lr: flags.lr as number, seed: flags.seed as number, k: flags.k as number,
          ...(flags.guesses !== undefined ? { guesses: flags.guesses as number } : {}),
          ...(flags.combine !== undefined ? { combine: flags.combine as Combine } : {}),
          ...(flags.route !== undefined ? { route: flags.route as "fast" | "exact" } : {}),
        };
      }
      const out = flags.out as string | undefined;
      if (out !== undefined) checkOutFolder("--out", out);
      const data = loadData(flags.data as string | undefined);
      checkModelSize(data, config.width, config.depth);
      checkMethodFits(config, data);
      const trainer = new Trainer(data, config, resume);
      if (out !== undefined) makeOutFolder("--out", out);
      const tty = !flags.json && Boolean(process.stdout.isTTY);
      const started = performance.now();
      const stepsPerEpoch = Math.ceil(data.train.n / config.batch);
      while (trainer.epoch < config.epochs) {
        const report = trainer.runEpoch();
        if (!report) break;
        if (flags.json) console.log(JSON.stringify(report));
        else if (tty) process.stdout.write(`\r${progressLine(report, config.epochs, started, stepsPerEpoch)}`);
        else console.log(progressLine(report, config.epochs, started, stepsPerEpoch));
        if (out) {
          // One checkpoint per folder: the form written replaces the other (W̃⊥'s warm starts grow
          // over the first epoch, so a state may outgrow the text form after it was written).
          const state = trainer.state();
          const text = fitsTextCheckpoint(state);
          if (text) writeAtomic(join(out, "checkpoint.json"), serializeCheckpoint(state));
          else writeAtomic(join(out, "checkpoint.bin"), encodeCheckpoint(state));
          rmSync(join(out, text ? "checkpoint.bin" : "checkpoint.json"), { force: true });
          writeAtomic(join(out, "history.json"), `${JSON.stringify(trainer.history)}\n`);
        }
      }
      if (tty) process.stdout.write("\n");
      if (trainer.stopped) console.error(`fwdgrad: training stopped early: ${trainer.stopped}`);
      const last = trainer.history[trainer.history.length - 1];
      const final = { ...(last ?? { epoch: trainer.epoch }), method: config.method, width: config.width, seed: config.seed, weightsHash: trainer.weightsHash(), stopped: trainer.stopped };
      if (flags.json) console.log(JSON.stringify(final));
      else console.log(`${config.method}: ${trainer.epoch} epochs, train ${last ? (last.trainAcc * 100).toFixed(1) : "—"}%, test ${last ? (last.testAcc * 100).toFixed(1) : "—"}%, weights ${final.weightsHash}`);
      return trainer.stopped ? 1 : 0;
    },
  },
  data: {
    summary: "generate a data set: data mnist1d --out <dir>",
    usage: "fwdgrad data mnist1d --out <dir> [--seed 42] [--samples 5000]",
    flags: {
      out: { kind: "string", help: "output folder (created if missing)" },
      seed: { kind: "int", default: 42, min: 0, max: 2 ** 32 - 1, help: "generator seed" },
      samples: { kind: "int", default: 5000, min: 10, max: MAX_SAMPLES, help: "examples in total, a multiple of 10 (train 80 %, test 20 %)" },
    },
    positionals: 1,
    async run(flags, positional) {
      if (positional[0] !== "mnist1d") throw new UsageError(`unknown data set ${JSON.stringify(positional[0] ?? "")}; known: mnist1d`);
      if (typeof flags.out !== "string") throw new UsageError("--out <dir> is required");
      const samples = flags.samples as number;
      if (samples % 10 !== 0) throw new UsageError(`--samples must be a multiple of 10 (one tenth per digit), got ${samples}`);
      const dir = flags.out;
      checkOutFolder("--out", dir);
      const data = generateMnist1d({ seed: flags.seed as number, numSamples: samples });
      makeOutFolder("--out", dir);
      writeAtomic(join(dir, "train-x.f32"), bytesOf(data.train.x));
      writeAtomic(join(dir, "train-y.u8"), bytesOf(data.train.y));
      writeAtomic(join(dir, "test-x.f32"), bytesOf(data.test.x));
      writeAtomic(join(dir, "test-y.u8"), bytesOf(data.test.y));
      const meta = {
        dataset: `MNIST-1D (generated by fwdgrad, seed ${flags.seed})`,
        train: { x: "train-x.f32", y: "train-y.u8", n: data.train.n },
        test: { x: "test-x.f32", y: "test-y.u8", n: data.test.n },
        features: data.features,
        classes: data.classes,
        x_dtype: `float32 little-endian, row-major [n, ${data.features}]`,
        y_dtype: "uint8 [n]",
      };
      writeAtomic(join(dir, "meta.json"), `${JSON.stringify(meta, null, 1)}\n`);
      console.log(`wrote MNIST-1D (${data.train.n} train, ${data.test.n} test) to ${dir}`);
    },
  },
  quality: {
    summary: "gradient quality of an estimator against backprop, per layer",
    usage: "fwdgrad quality --method <id> --width <d> [--depth 3] [--k 10] [--guesses 1] [--combine mean|project] [--draws 20] [--seed 0] [--batch 512] [--route fast|exact] [--json] [--threads n]",
    flags: {
      method: { kind: "string", help: `estimator: ${METHOD_IDS.filter(isEstimatorId).join(", ")}` },
      width: { kind: "int", min: 1, help: "hidden width" },
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
      if (typeof flags.method !== "string") throw new UsageError("--method <id> is required");
      if (flags.width === undefined) throw new UsageError("--width <d> is required");
      const width = flags.width as number, depth = flags.depth as number, batch = flags.batch as number;
      const estimator = createEstimator(flags.method, { k: flags.k as number, route: flags.route as "fast" | "exact", guesses: flags.guesses as number, combine: flags.combine as Combine });
      await readyFor(flags);
      const data = generateMnist1d();
      if (batch > data.train.n) throw new UsageError(`--batch ${batch} is larger than the training set (${data.train.n})`);
      checkModelSize(data, width, depth);
      checkMethodFits({ method: flags.method, width, depth, k: flags.k as number }, data);
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
      const report = { method: flags.method, width, depth, k: flags.k, guesses: flags.guesses, combine: flags.combine, draws: flags.draws, seed: flags.seed, layers };
      if (flags.json) {
        console.log(JSON.stringify(report));
        return;
      }
      const columns = ["cosine", "cosineWeights", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared", "energyRatio", "energyRatioMin", "subspaceAgreement", "subspaceAgreementMin"] as const;
      console.log(`${flags.method}, width ${width}, depth ${depth}, batch ${batch}, ${flags.guesses} guess(es) combined by ${flags.combine}, ${flags.draws} draws, seed ${flags.seed}`);
      console.log(["layer", ...columns].map((c) => c.padStart(Math.max(15, c.length + 2))).join(""));
      for (const l of layers) {
        const cells = columns.map((c) => (l[c] === null ? "—" : (l[c] as number).toPrecision(c in fidelity[0] ? 6 : 4)).padStart(Math.max(15, c.length + 2)));
        console.log([String(l.layer + (l.layer === layers.length - 1 ? " (out)" : "")).padStart(15), ...cells].join(""));
      }
    },
  },
};

function help(): string {
  return [
    "fwdgrad: training neural networks without backpropagation",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`),
    "",
    ...Object.values(COMMANDS).flatMap((c) => [`${c.usage}`, describeFlags(c.flags), ""]),
  ].join("\n");
}

/** One line however the text came: newlines and other control characters (say, in a path) escaped. */
function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

/** Runs one command line; resolves to the exit status: 0 done, 1 a run stopped early or an internal error, 2 bad input. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  // Own keys only: "toString" or "__proto__" are not commands.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes("--help")) {
      console.log(`${command.usage}\n${describeFlags(command.flags)}`);
      return 0;
    }
    const { flags, positional, given } = parseFlags(rest, command.flags);
    const allowed = command.positionals ?? 0;
    if (positional.length > allowed) throw new UsageError(`unexpected argument ${JSON.stringify(positional[allowed])}`);
    return (await command.run(flags, positional, given)) ?? 0;
  } catch (error) {
    if (process.env.FWDGRAD_DEBUG === "1") console.error(error instanceof Error ? error.stack : error);
    if (error instanceof UsageError || error instanceof FwdgradError) {
      console.error(`fwdgrad: ${oneLine(error.message)}`);
      console.error(`usage: ${command ? command.usage : "fwdgrad <command> [flags]; fwdgrad --help lists them"}`);
      return 2;
    }
    // A bug, not a mistake of the caller: one line here, the stack with FWDGRAD_DEBUG=1.
    console.error(`fwdgrad: internal error: ${oneLine(error instanceof Error ? error.message : String(error))}${process.env.FWDGRAD_DEBUG === "1" ? "" : " (FWDGRAD_DEBUG=1 shows the stack)"}`);
    return 1;
  }
}

/** Whether this module is the program being run (node cli/fwdgrad.ts, or the package's bin), not a test importing it. */
function isProgram(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) {
  // A reader that stops early (`fwdgrad train --json | head -3`) closes the pipe; the rest of the
  // output has nowhere to go, which is no error of ours and no reason for a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}
