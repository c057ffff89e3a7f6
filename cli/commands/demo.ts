// `fwdgrad demo` (what `npm start` runs): in a few minutes, why W̃⊥ exists. First, how well each
// estimator's gradient lines up with the true one as the network widens (after a short backprop
// warm-up, off the random initialisation where every guess is equally blind); then the same
// estimators training side by side on identical data, initialisation and batches. Plots and a JSON
// record go to --out, and a few sentences read the measured numbers back.
import { join } from "node:path";
import { mark, release } from "../../engine/arena.ts";
import { rng } from "../../engine/rng.ts";
import { tensor } from "../../engine/tensor.ts";
import { createEstimator, isEstimatorId, parseMethodSpec } from "../../estimators/index.ts";
import { hiddenLayerMean, measureQuality } from "../../estimators/metrics.ts";
import { Trainer } from "../../train/trainer.ts";
import { lineChart } from "../../plot/svg.ts";
import { runOne, type RunResult } from "../../train/studies.ts";
import { UsageError, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkOutFolder, loadData, makeOutFolder, sourceCommit } from "../io.ts";
import { writeDurable } from "../files.ts";
import { parseWidths } from "../runs.ts";

/** How each method entry is drawn: its name, its colour (one per guess space), dashed for ten guesses projected. */
const STYLE: Record<string, { name: string; color: number; dashed?: boolean }> = {
  "activation-perturbation": { name: "random guess", color: 0 },
  wt: { name: "Wᵀ guess", color: 1 },
  wperp: { name: "W̃⊥ guess", color: 2 },
  "wt:project:10": { name: "Wᵀ, 10 guesses projected", color: 1, dashed: true },
  "wperp:project:10": { name: "W̃⊥, 10 guesses projected", color: 2, dashed: true },
};
/** The estimators whose alignment is measured, in the order they are drawn. */
const ALIGNED = ["activation-perturbation", "wt", "wperp", "wperp:project:10"];
/** The training comparison: one guess per step, and ten with the gradient projected onto their span; backprop for reference. */
const TRAINED = ["wt", "wperp", "wt:project:10", "wperp:project:10", "backprop"];

interface Alignment {
  width: number;
  /** Per estimator label, the hidden layers' mean cosine with the true gradient. */
  cosine: Record<string, number>;
  warmupAccuracy: number;
}

export const demoCommand: Command = {
  summary: "in under three minutes: why W̃⊥ exists (gradient alignment against width, then training side by side), with plots",
  flags: {
    widths: { kind: "string", default: "64,128,256,512,1024", help: "widths of the alignment measurement" },
    warmup: { kind: "int", default: 10, min: 0, max: 1000, help: "backprop epochs before measuring alignment" },
    draws: { kind: "int", default: 4, min: 1, max: 1000, help: "guesses drawn per alignment measurement" },
    rows: { kind: "int", default: 256, min: 1, max: 4000, help: "training examples the alignment is measured on" },
    width: { kind: "int", default: 256, min: 10, max: 4096, help: "width of the training comparison" },
    epochs: { kind: "int", default: 25, min: 1, max: 10_000, help: "epochs of the training comparison" },
    lr: { kind: "number", default: 1e-3, greaterThan: 0, help: "AdamW learning rate of the warm-up and the comparison" },
    seed: { kind: "int", default: 0, min: 0, help: "seed of the models, batches and guesses" },
    out: { kind: "string", default: "results", help: "folder for demo.json, alignment.svg and accuracy.svg" },
    json: { kind: "boolean", help: "print the record as one JSON object instead of the tables" },
    threads: THREADS_FLAG,
  },
  async run(flags) {
    const widths = parseWidths(String(flags.widths));
    if (widths.some((w) => w < 10 || w > 4096)) throw new UsageError(`--widths ${JSON.stringify(flags.widths)}: give widths from 10 to 4096 (wperp's k = 10 must fit), separated by commas`);
    const out = flags.out as string;
    checkOutFolder("--out", out);
    await readyFor(flags);
    const data = loadData(undefined);
    const seed = flags.seed as number, lr = flags.lr as number;
    const log = (line: string) => (flags.json ? undefined : console.log(line));
    const started = performance.now();
    sourceCommit();

    log(`1. How well does each guess line up with the true gradient as the network widens? (after ${flags.warmup} epochs of backprop)`);
    const alignment: Alignment[] = [];
    for (const width of widths) {
      const scope = mark();
      const warm = new Trainer(data, { method: "backprop", width, depth: 3, epochs: flags.warmup as number, batch: 512, lr, seed });
      while (warm.epoch < (flags.warmup as number) && warm.runEpoch());
      const rows = flags.rows as number;
      const x = tensor(data.train.x.subarray(0, rows * data.features), [rows, data.features]);
      const labels = Int32Array.from(data.train.y.subarray(0, rows));
      const cosine: Record<string, number> = {};
      for (const label of ALIGNED) {
        const { method, guesses, combine } = parseMethodSpec(label);
        if (!isEstimatorId(method)) throw new Error(`demo: ${label} is not an estimator`);
        const estimator = createEstimator(method, { guesses, combine });
        cosine[label] = hiddenLayerMean(measureQuality(warm.model, x, labels, estimator, { draws: flags.draws as number, rng: rng(seed).split(1) }).map((l) => l.cosine)) ?? NaN;
      }
      const last = warm.history[warm.history.length - 1];
      alignment.push({ width, cosine, warmupAccuracy: last?.trainAcc ?? NaN });
      release(scope);
      log(`   width ${String(width).padStart(5)}: ${ALIGNED.map((l) => `${l} ${cosine[l].toFixed(3)}`).join(", ")}`);
    }

    log(`\n2. Training side by side: width ${flags.width}, ${flags.epochs} epochs, same data, initialisation and batches`);
    const runs: RunResult[] = TRAINED.map((label) => {
      const { method, guesses, combine } = parseMethodSpec(label);
      const config = { method, width: flags.width as number, depth: 3, epochs: flags.epochs as number, batch: 512, lr, seed, ...(guesses ? { guesses, combine } : {}) };
      return runOne(data, config, 0, log, label);
    });
    const totalSeconds = (performance.now() - started) / 1000;

    makeOutFolder("--out", out);
    const record = {
      command: "demo", commit: sourceCommit(), settings: { widths, warmup: flags.warmup, draws: flags.draws, rows: flags.rows, width: flags.width, epochs: flags.epochs, lr, seed },
      alignment, training: runs.map((r) => ({ method: r.label, seconds: r.seconds, weightsHash: r.weightsHash, history: r.history })), seconds: totalSeconds,
    };
    writeDurable(join(out, "demo.json"), `${JSON.stringify(record, null, 1)}\n`);
    writeDurable(join(out, "alignment.svg"), lineChart(`Alignment with the true gradient after ${flags.warmup} epochs of backprop`, "width", "cosine with the true gradient (hidden layers)",
      ALIGNED.map((label) => ({ ...STYLE[label], points: alignment.map((a) => [a.width, a.cosine[label]] as [number, number]) })), undefined, { logX: true }));
    // Backprop's curve would squeeze the estimators' into the bottom of the plot; the text gives it.
    const estimated = runs.filter((r) => isEstimatorId(r.method));
    writeDurable(join(out, "accuracy.svg"), lineChart(`Train accuracy without backprop, width ${flags.width}`, "epoch", "train accuracy",
      estimated.map((r) => ({ ...STYLE[r.label], points: r.history.map((h) => [h.epoch, h.trainAcc] as [number, number]) }))));
    if (flags.json) {
      console.log(JSON.stringify(record));
      return 0;
    }
    const first = alignment[0], lastWidth = alignment[alignment.length - 1];
    const ratio = (a: Alignment, x: string, y: string) => a.cosine[x] / a.cosine[y];
    const final = (label: string) => runs.find((r) => r.label === label)!.history.at(-1)?.trainAcc ?? NaN;
    const percent = (label: string) => `${(final(label) * 100).toFixed(1)}%`;
    const seconds = (label: string) => `${runs.find((r) => r.label === label)!.seconds.toFixed(0)} s`;
    const change = (from: number, to: number) => (to < from ? "fell" : "rose");
    const random = (a: Alignment) => a.cosine["activation-perturbation"];
    console.log(`\nWhat this shows (numbers measured just now; cosine 1 would be the true gradient's direction):`);
    console.log(`- A forward-mode pass measures the loss's slope along one guessed direction, so an estimate is only as good as its guess's`);
    console.log(`  alignment with the true gradient. A random guess's cosine ${change(random(first), random(lastWidth))} from ${random(first).toFixed(3)} at width ${first.width} to ${random(lastWidth).toFixed(3)} at width ${lastWidth.width}:`);
    console.log(`  in a wide layer a random direction is nearly orthogonal to any given one.`);
    console.log(`- W̃⊥ guesses only in the k = 10 directions per example that the next layer passes on most strongly. Its cosine over`);
    console.log(`  the Wᵀ guess's ${change(ratio(first, "wperp", "wt"), ratio(lastWidth, "wperp", "wt"))} from ${ratio(first, "wperp", "wt").toFixed(2)}× at width ${first.width} to ${ratio(lastWidth, "wperp", "wt").toFixed(2)}× at width ${lastWidth.width}, and over the random guess's from ${ratio(first, "wperp", "activation-perturbation").toFixed(1)}× to ${ratio(lastWidth, "wperp", "activation-perturbation").toFixed(1)}×.`);
    console.log(`  Ten W̃⊥ guesses with the gradient projected onto their span reach ${lastWidth.cosine["wperp:project:10"].toFixed(3)} at width ${lastWidth.width} (one guess: ${lastWidth.cosine.wperp.toFixed(3)}).`);
    console.log(`- Training at width ${flags.width} for ${flags.epochs} epochs (${join(out, "accuracy.svg")}), train accuracy with one guess per step:`);
    console.log(`  W̃⊥ ${percent("wperp")} (${seconds("wperp")}), Wᵀ ${percent("wt")} (${seconds("wt")}); with ten guesses projected: W̃⊥ ${percent("wperp:project:10")} (${seconds("wperp:project:10")}),`);
    console.log(`  Wᵀ ${percent("wt:project:10")} (${seconds("wt:project:10")}). Backprop, which needs the backward pass, reaches ${percent("backprop")}.`);
    console.log(`\nwrote ${["demo.json", "alignment.svg", "accuracy.svg"].map((f) => join(out, f)).join(", ")} in ${totalSeconds.toFixed(0)} s`);
    return 0;
  },
};
