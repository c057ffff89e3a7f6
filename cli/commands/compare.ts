// `fwdgrad compare`: several methods on identical data, initialisation and batches, with a table,
// results.json and SVG plots (accuracy, and per-layer cosine, overlap and basis fidelity).
import { join } from "node:path";
import { METHOD_IDS } from "../../estimators/index.ts";
import { runOne, type RunResult } from "../../train/studies.ts";
import { lineChart } from "../../plot/svg.ts";
import { requireFlag, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkOutFolder, loadData, makeOutFolder } from "../io.ts";
import { writeDurable } from "../files.ts";
import { checkOptionsTaken, checkRuns, configFrom, estimatorOptionsHelp, MODEL_FLAGS, OPTION_FLAG, parseMethods, reportStopped, runWidth, RUNS_FLAGS, TRAINING_FLAGS, WIDTH_FLAG } from "../runs.ts";

const last = (r: RunResult) => r.history[r.history.length - 1];

export const compareCommand: Command = {
  summary: "train several methods on identical data, init and batches; table, results.json, plots",
  flags: {
    methods: { kind: "string", value: "a,b,c", required: true, help: `comma-separated: ${METHOD_IDS.join(", ")}; an estimator may add :mean or :project and :K guesses (wperp:project:10)` },
    width: WIDTH_FLAG, ...MODEL_FLAGS,
    depth: TRAINING_FLAGS.depth, epochs: RUNS_FLAGS.epochs, batch: TRAINING_FLAGS.batch, lr: TRAINING_FLAGS.lr, "weight-decay": TRAINING_FLAGS["weight-decay"], k: TRAINING_FLAGS.k,
    guesses: RUNS_FLAGS.guesses, combine: RUNS_FLAGS.combine, option: OPTION_FLAG,
    seed: { kind: "int", default: 0, min: 0, help: "seed of the model, batches and guesses (shared by all methods)" },
    "quality-every": { kind: "int", default: 0, min: 0, value: "n", help: "measure per-layer cosine, overlap and basis fidelity every n epochs (0: 10 times per run)" },
    out: RUNS_FLAGS.out, json: RUNS_FLAGS.json,
    threads: THREADS_FLAG,
  },
  notes: estimatorOptionsHelp,
  async run(flags) {
    requireFlag(flags, compareCommand.flags, "methods");
    const width = runWidth(flags, compareCommand.flags);
    const methods = parseMethods(flags.methods as string);
    checkOptionsTaken(methods, flags);
    const out = flags.out as string;
    checkOutFolder("--out", out);
    await readyFor(flags);
    const data = loadData(undefined);
    checkRuns(data, methods.map((m) => configFrom(flags, m, width, flags.seed as number)));
    const epochs = flags.epochs as number;
    const every = (flags["quality-every"] as number) || Math.max(1, Math.floor(epochs / 10));
    const log = (line: string) => (flags.json ? undefined : console.log(line));
    const runs = methods.map((m) => runOne(data, configFrom(flags, m, width, flags.seed as number), every, log, m.label));
    makeOutFolder("--out", out);
    writeDurable(join(out, "results.json"), `${JSON.stringify({ command: "compare", model: flags.model ?? "mlp", width, epochs, runs }, null, 1)}\n`);
    writeDurable(join(out, "accuracy.svg"), lineChart(`Train accuracy, ${flags.model === "cnn" ? `CNN, ${width} channels` : `width ${width}`}`, "epoch", "train accuracy",
      runs.map((r) => ({ name: r.label, points: r.history.map((h) => [h.epoch, h.trainAcc] as [number, number]) }))));
    const written = ["results.json", "accuracy.svg"];
    const withQuality = runs.filter((r) => r.quality.length > 0);
    const plots = [["cosine", "cosine similarity", "cosine"], ["overlap", "overlap with the guess subspace", "overlap"], ["energyRatio", "energy ratio of the guess basis", "fidelity"]] as const;
    for (const [metric, label, file] of plots) {
      const series = withQuality.flatMap((r) => r.quality[0][metric].map((_, layer) => ({
        name: `${r.label} L${layer}`,
        points: r.quality.map((q) => [q.epoch, q[metric][layer] ?? NaN] as [number, number]),
      }))).filter((s) => s.points.some((p) => Number.isFinite(p[1])));
      if (series.length) {
        writeDurable(join(out, `${file}.svg`), lineChart(`Per-layer ${label}`, "epoch", label, series));
        written.push(`${file}.svg`);
      }
    }
    if (flags.json) {
      console.log(JSON.stringify({ model: flags.model ?? "mlp", width, epochs, runs: runs.map((r) => ({ method: r.method, label: r.label, ...last(r), seconds: r.seconds, weightsHash: r.weightsHash, stopped: r.stopped })) }));
      return reportStopped(runs);
    }
    console.log(`\n${flags.model === "cnn" ? `CNN, ${width} channels` : `width ${width}`}, ${epochs} epochs, seed ${flags.seed}`);
    console.log(`${"method".padEnd(32)}${"train".padStart(8)}${"test".padStart(8)}${"time".padStart(10)}`);
    for (const r of runs) {
      const h = last(r);
      console.log(`${r.label.padEnd(32)}${(h ? (h.trainAcc * 100).toFixed(1) + "%" : "—").padStart(8)}${(h ? (h.testAcc * 100).toFixed(1) + "%" : "—").padStart(8)}${(r.seconds.toFixed(1) + " s").padStart(10)}`);
    }
    console.log(`\nwrote ${written.map((f) => join(out, f)).join(", ")}`);
    return reportStopped(runs);
  },
};
