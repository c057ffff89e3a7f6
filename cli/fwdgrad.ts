// The `fwdgrad` command line: training, data sets and gradient-quality measurements.
// Errors print one line and a usage hint, and exit 2.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ready, rng, tensor } from "../index.ts";
import { FwdgradError } from "../engine/errors.ts";
import { createEstimator, ESTIMATORS } from "../estimators/index.ts";
import { measureQuality } from "../estimators/metrics.ts";
import { createMlp } from "../models/mlp.ts";
import { generateMnist1d } from "../models/mnist1d.ts";
import { parseCheckpoint, serializeCheckpoint, Trainer, type TrainConfig } from "../models/train.ts";
import { describeFlags, parseFlags, UsageError, type Command } from "./args.ts";
import { compareCommand, reproduceCommand } from "./experiments.ts";
import { bytesOf, loadData, writeAtomic } from "./io.ts";


/** One line redrawn in place on a terminal: epoch, loss, accuracy, step time and ETA. */
function progressLine(report: { epoch: number; trainLoss: number; trainAcc: number; testAcc: number; ms: number }, epochs: number, started: number, stepsPerEpoch: number): string {
  const done = report.epoch / epochs;
  const width = 24;
  const bar = "█".repeat(Math.round(done * width)).padEnd(width, "░");
  const elapsed = (performance.now() - started) / 1000;
  const eta = done > 0 ? elapsed / done - elapsed : 0;
  return `${bar} epoch ${report.epoch}/${epochs}  loss ${report.trainLoss.toFixed(4)}  train ${(report.trainAcc * 100).toFixed(1)}%  test ${(report.testAcc * 100).toFixed(1)}%  ${(report.ms / stepsPerEpoch).toFixed(1)} ms/step  ETA ${Math.round(eta)} s`;
}

const COMMANDS: Record<string, Command> = {
  compare: compareCommand,
  reproduce: reproduceCommand,
  train: {
    summary: "train an MLP with an estimator (or backprop) on MNIST-1D or your data",
    usage: "fwdgrad train --method <id|backprop> --width <d> [--depth 3] [--epochs 300] [--batch 512] [--lr 1e-4] [--k 10] [--seed 0] [--json] [--out dir] [--resume file] [--data path]",
    flags: {
      method: { kind: "string", help: `backprop or an estimator: ${Object.keys(ESTIMATORS).join(", ")}` },
      width: { kind: "int", min: 1, help: "hidden width" },
      depth: { kind: "int", default: 3, min: 1, help: "hidden layers" },
      epochs: { kind: "int", default: 300, min: 0, help: "epochs to train (in total, when resuming)" },
      batch: { kind: "int", default: 512, min: 1, help: "batch size" },
      lr: { kind: "number", default: 1e-4, help: "AdamW learning rate" },
      k: { kind: "int", default: 10, min: 1, help: "subspace rank for wperp" },
      seed: { kind: "int", default: 0, min: 0, help: "seed of the model, the batches and the guesses" },
      json: { kind: "boolean", help: "one JSON line per epoch, and a final line with weightsHash" },
      out: { kind: "string", help: "folder for checkpoint.json and history.json, written every epoch" },
      resume: { kind: "string", help: "continue from a checkpoint.json" },
      data: { kind: "string", help: "a data folder (binary format with meta.json) or a CSV file; default MNIST-1D" },
    },
    async run(flags) {
      await ready();
      let config: TrainConfig;
      let resume;
      if (typeof flags.resume === "string") {
        if (!existsSync(flags.resume)) throw new UsageError(`--resume ${flags.resume}: no such file`);
        resume = parseCheckpoint(readFileSync(flags.resume, "utf8"));
        config = { ...resume.config, epochs: flags.epochs as number };
      } else {
        if (typeof flags.method !== "string") throw new UsageError("--method <id|backprop> is required");
        if (flags.width === undefined) throw new UsageError("--width <d> is required");
        if (!((flags.lr as number) > 0)) throw new UsageError(`--lr must be positive, got ${flags.lr}`);
        if (flags.method !== "backprop" && !(flags.method in ESTIMATORS)) {
          throw new UsageError(`unknown method "${flags.method}"; known: backprop, ${Object.keys(ESTIMATORS).join(", ")}`);
        }
        if (String(flags.method).startsWith("wperp") && (flags.k as number) > (flags.width as number)) {
          throw new UsageError(`--k ${flags.k} is larger than --width ${flags.width}`);
        }
        config = {
          method: flags.method, width: flags.width as number, depth: flags.depth as number, epochs: flags.epochs as number,
          batch: flags.batch as number, lr: flags.lr as number, seed: flags.seed as number, k: flags.k as number,
        };
      }
      const data = loadData(flags.data as string | undefined);
      const trainer = new Trainer(data, config, resume);
      const out = flags.out as string | undefined;
      if (out) mkdirSync(out, { recursive: true });
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
          writeAtomic(join(out, "checkpoint.json"), serializeCheckpoint(trainer.state()));
          writeAtomic(join(out, "history.json"), `${JSON.stringify(trainer.history)}\n`);
        }
      }
      if (tty) process.stdout.write("\n");
      if (trainer.stopped) console.error(`fwdgrad: training stopped early: ${trainer.stopped}`);
      const last = trainer.history[trainer.history.length - 1];
      const final = { ...(last ?? { epoch: trainer.epoch }), method: config.method, width: config.width, seed: config.seed, weightsHash: trainer.weightsHash(), stopped: trainer.stopped };
      if (flags.json) console.log(JSON.stringify(final));
      else console.log(`${config.method}: ${trainer.epoch} epochs, train ${last ? (last.trainAcc * 100).toFixed(1) : "—"}%, test ${last ? (last.testAcc * 100).toFixed(1) : "—"}%, weights ${final.weightsHash}`);
      if (trainer.stopped) process.exitCode = 1;
    },
  },
  data: {
    summary: "generate a data set: data mnist1d --out <dir>",
    usage: "fwdgrad data mnist1d --out <dir> [--seed 42] [--samples 5000]",
    flags: {
      out: { kind: "string", help: "output folder (created if missing)" },
      seed: { kind: "int", default: 42, min: 0, help: "generator seed" },
      samples: { kind: "int", default: 5000, min: 10, help: "examples in total (train 80 %, test 20 %)" },
    },
    async run(flags, positional) {
      if (positional[0] !== "mnist1d") throw new UsageError(`unknown data set "${positional[0] ?? ""}"; known: mnist1d`);
      if (typeof flags.out !== "string") throw new UsageError("--out <dir> is required");
      const data = generateMnist1d({ seed: flags.seed as number, numSamples: flags.samples as number });
      const dir = flags.out;
      mkdirSync(dir, { recursive: true });
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
    usage: "fwdgrad quality --method <id> --width <d> [--depth 3] [--k 10] [--draws 20] [--seed 0] [--batch 512] [--json]",
    flags: {
      method: { kind: "string", help: `estimator: ${Object.keys(ESTIMATORS).join(", ")}` },
      width: { kind: "int", min: 1, help: "hidden width" },
      depth: { kind: "int", default: 3, min: 1, help: "hidden layers" },
      k: { kind: "int", default: 10, min: 1, help: "subspace rank for wperp" },
      draws: { kind: "int", default: 20, min: 1, help: "guesses averaged" },
      seed: { kind: "int", default: 0, min: 0, help: "seed of the model and the guesses" },
      batch: { kind: "int", default: 512, min: 1, help: "first examples of the training set used" },
      route: { kind: "string", default: "fast", help: "wperp route: fast or exact" },
      json: { kind: "boolean", help: "print one JSON object" },
    },
    async run(flags) {
      if (typeof flags.method !== "string") throw new UsageError("--method <id> is required");
      if (flags.width === undefined) throw new UsageError("--width <d> is required");
      const width = flags.width as number, depth = flags.depth as number, batch = flags.batch as number;
      const estimator = createEstimator(flags.method, { k: flags.k as number, route: flags.route as "fast" | "exact" });
      if (flags.method === "wperp" && (flags.k as number) > width) throw new UsageError(`--k ${flags.k} is larger than --width ${width}`);
      await ready();
      const data = generateMnist1d();
      if (batch > data.train.n) throw new UsageError(`--batch ${batch} is larger than the training set (${data.train.n})`);
      const model = createMlp([data.features, ...new Array<number>(depth).fill(width), data.classes], { seed: flags.seed as number });
      const x = tensor(data.train.x.subarray(0, batch * data.features), [batch, data.features]);
      const labels = Int32Array.from(data.train.y.subarray(0, batch));
      const layers = measureQuality(model, x, labels, estimator, { draws: flags.draws as number, rng: rng(flags.seed as number).split(1) });
      const report = { method: flags.method, width, depth, k: flags.k, draws: flags.draws, seed: flags.seed, layers };
      if (flags.json) {
        console.log(JSON.stringify(report));
        return;
      }
      const columns = ["cosine", "cosineWeights", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared"] as const;
      console.log(`${flags.method}, width ${width}, depth ${depth}, batch ${batch}, ${flags.draws} draws, seed ${flags.seed}`);
      console.log(["layer", ...columns].map((c) => c.padStart(15)).join(""));
      for (const l of layers) {
        const cells = columns.map((c) => (l[c] === null ? "—" : (l[c] as number).toPrecision(4)).padStart(15));
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

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"`);
    if (rest.includes("--help")) {
      console.log(`${command.usage}\n${describeFlags(command.flags)}`);
      return 0;
    }
    const { flags, positional } = parseFlags(rest, command.flags);
    await command.run(flags, positional);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof FwdgradError) {
      console.error(`fwdgrad: ${error.message}`);
      console.error(`usage: ${command ? command.usage : "fwdgrad <command> [flags]; fwdgrad --help lists them"}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
