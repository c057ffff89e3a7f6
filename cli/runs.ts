// What the training commands share: their flags (one meaning and default each), the settings and
// configurations built from them, the checks that refuse a run before any work (as usage errors),
// and the parsers of --methods and --widths lists.
import { FwdgradError } from "../engine/errors.ts";
import { COMBINES, createMethod, ESTIMATORS, isMethodId, sharedOptions, MAX_GUESSES, METHOD_IDS, parseMethodSpec, type Combine, type MethodSpec } from "../estimators/index.ts";
import { describeDefault, describeRange, type OptionTable } from "../estimators/options.ts";
import { LOSS_IDS, type LossId } from "../models/loss.ts";
import { isDecimalNumber, type Dataset } from "../data/dataset.ts";
import { estimatorOptions, MODEL_KINDS, modelSizes, type TrainConfig } from "../train/trainer.ts";
import { checkWorkingSet } from "../train/memory.ts";
import { configFrom as settingsConfig, type RunResult, type RunSettings } from "../train/studies.ts";
import { requireFlag, UsageError, type FlagSpec, type Flags } from "./args.ts";

/** Hidden layers at most: every layer is a few objects and tensors, and nothing deeper trains here. */
export const MAX_DEPTH = 10_000;

/** The model and optimiser flags every training command takes, with one meaning and default. */
export const TRAINING_FLAGS = {
  depth: { kind: "int", default: 3, min: 1, max: MAX_DEPTH, help: "hidden layers" },
  batch: { kind: "int", default: 512, min: 1, help: "batch size" },
  lr: { kind: "number", default: 1e-4, greaterThan: 0, help: "AdamW learning rate" },
  "weight-decay": { kind: "number", min: 0, value: "λ", help: "AdamW's decoupled weight decay (default 0.01; 0 is Adam)" },
  k: { kind: "int", min: 1, value: "k", help: "subspace rank of wperp and wperp-ns (their tables' default: 10); the same as --option k=…" },
} as const;

/** Any estimator option by name, from its table (estimators/options.ts): `--option tol=0.03`, repeatable. */
export const OPTION_FLAG: FlagSpec = { kind: "pairs", value: "name=value", help: "an estimator option by name, repeatable (the options are listed below)" };

/** The training loss and, for mean squared error, how many of a CSV file's last columns are targets. */
export const LOSS_FLAGS = {
  loss: { kind: "string", choices: LOSS_IDS, help: "cross-entropy against class labels (default), or mse against regression targets (--targets)" },
  targets: { kind: "int", min: 1, value: "n", help: "with --loss mse: the last n columns of the --data CSV file are regression targets" },
} as const;

/**
 * The estimator options the command line gave: --k, --guesses, --combine and --route where given, and
 * every --option pair (a decimal value as a number, anything else as text). Defaults are the tables'.
 */
export function optionsFromFlags(flags: Flags): Record<string, number | string> {
  const options: Record<string, number | string> = {};
  for (const name of ["k", "guesses", "combine", "route"]) if (flags[name] !== undefined) options[name] = flags[name] as number | string;
  for (const pair of (flags.option as readonly string[] | undefined) ?? []) {
    const at = pair.indexOf("=");
    const name = pair.slice(0, at), raw = pair.slice(at + 1);
    if (Object.hasOwn(options, name)) throw new UsageError(`option ${name} is given twice (as --${name} or --option ${name}=…)`);
    options[name] = isDecimalNumber(raw) ? Number(raw) + 0 : raw;
  }
  return options;
}

/** The loss flags as a config's fields, refusing --targets without --loss mse (and the reverse) before any work. */
export function lossFromFlags(flags: Flags): { loss?: LossId; targets?: number } {
  const loss = flags.loss as LossId | undefined, targets = flags.targets as number | undefined;
  if (targets !== undefined && loss !== "mse") throw new UsageError("--targets names regression targets, which only --loss mse trains on");
  if (loss === "mse" && targets === undefined) throw new UsageError("--loss mse needs --targets n: how many of the --data CSV file's last columns are targets");
  return { ...(loss ? { loss } : {}), ...(targets ? { targets } : {}) };
}

/** Every estimator's options, from their tables: what --option (and --k, --guesses, --combine, --route) take. */
export function estimatorOptionsHelp(): string {
  const lines = ["estimator options (--option name=value; defaults from each estimator's table):"];
  for (const [id, factory] of Object.entries(ESTIMATORS)) {
    lines.push(`  ${id}:`);
    for (const [name, spec] of Object.entries(factory.options as OptionTable)) {
      lines.push(`    ${name.padEnd(15)}${spec.doc}; ${describeRange(spec)}, default ${describeDefault(spec)}`);
    }
  }
  lines.push("  backprop: none");
  return lines.join("\n");
}

/** The hidden width of a training command (an MLP's; a CNN's is --channels). */
export const WIDTH_FLAG: FlagSpec = { kind: "int", min: 1, value: "<d>", help: "hidden width of the MLP (required unless --model cnn)" };

/** A CNN's channels where the command line gives none: ConvBase's. */
export const DEFAULT_CHANNELS = 25;

/** The architecture flags of every training command. */
export const MODEL_FLAGS = {
  model: { kind: "string", choices: MODEL_KINDS, help: "architecture: mlp (default), or cnn, the MNIST-1D repository's ConvBase: --depth 1-D convolutions (3) of --channels channels, then a linear head" },
  channels: { kind: "int", min: 1, value: "c", help: `with --model cnn: channels of every convolution (default ${DEFAULT_CHANNELS}, ConvBase's)` },
  bias: { kind: "boolean", help: "biases on every layer (default none, as the W̃⊥ paper trains; ConvBase has them)" },
} as const;

/**
 * The width one run trains: an MLP's --width (required), or a CNN's --channels (default 25).
 * Refuses the flag that belongs to the other architecture.
 */
export function runWidth(flags: Flags, specs: Record<string, FlagSpec>): number {
  if (flags.model === "cnn") {
    if (flags.width !== undefined) throw new UsageError("--width sets an MLP's hidden width; a CNN's width is its --channels");
    return (flags.channels as number | undefined) ?? DEFAULT_CHANNELS;
  }
  if (flags.channels !== undefined) throw new UsageError("--channels sets a CNN's channels: add --model cnn (an MLP's width is --width)");
  requireFlag(flags, specs, "width");
  return flags.width as number;
}

/** The flags of the commands that train several runs (compare, reproduce). */
export const RUNS_FLAGS = {
  epochs: { kind: "int", default: 300, min: 1, help: "epochs per run" },
  guesses: { kind: "int", min: 1, max: MAX_GUESSES, value: "K", help: "guesses per step of every estimator without its own (default 1)" },
  combine: { kind: "string", choices: COMBINES, help: "how guesses combine, for every estimator without its own: mean or project (default mean)" },
  out: { kind: "string", default: "results", help: "folder for results.json and the SVG plots" },
  json: { kind: "boolean", help: "print the results as one JSON object" },
} as const;

/** The settings every run shares, from the training flags (guesses, combine and other options where given). */
export function runSettings(flags: Flags): RunSettings {
  const { k, guesses, combine, ...options } = optionsFromFlags(flags);
  return {
    ...(flags.model === "cnn" ? { model: "cnn" as const } : {}), ...(flags.bias ? { bias: true } : {}),
    ...(flags["weight-decay"] !== undefined ? { weightDecay: flags["weight-decay"] as number } : {}),
    depth: flags.depth as number, epochs: flags.epochs as number, batch: flags.batch as number, lr: flags.lr as number,
    ...(k !== undefined ? { k: k as number } : {}), guesses: guesses as number | undefined, combine: combine as Combine | undefined,
    ...(Object.keys(options).length ? { options } : {}),
  };
}

/** A run's configuration from the flags and a --methods entry (train/studies.ts's configFrom). */
export function configFrom(flags: Flags, spec: MethodSpec, width: number, seed: number): TrainConfig {
  return settingsConfig(runSettings(flags), spec, width, seed);
}

/** Refuses an option (given once for several methods) that none of them takes, before any work. */
export function checkOptionsTaken(specs: readonly MethodSpec[], flags: Flags): void {
  try {
    sharedOptions(specs.map((spec) => spec.method), optionsFromFlags(flags));
  } catch (error) {
    if (error instanceof FwdgradError) throw new UsageError(error.message);
    throw error;
  }
}

/** Checks every name is a gradient method of the registry. */
export function checkMethods(list: string[]): void {
  for (const m of list) if (!isMethodId(m)) throw new UsageError(`unknown method ${JSON.stringify(m)}; known: ${METHOD_IDS.join(", ")}`);
}

/**
 * Asks the method whether it suits the model (e.g. k within every hidden width) and, given a batch,
 * whether the run's memory (train/memory.ts) fits the engine's heap, before any work.
 */
export function checkMethodFits(config: Pick<TrainConfig, "method" | "model" | "width" | "depth" | "k" | "guesses" | "route" | "options"> & { batch?: number }, data: Pick<Dataset, "features" | "classes"> & Partial<Pick<Dataset, "train" | "test">>): void {
  try {
    createMethod(config.method, estimatorOptions(config as TrainConfig)).checkModel(modelSizes(config, data));
    if (config.batch !== undefined) checkWorkingSet(config as TrainConfig, data);
  } catch (error) {
    if (error instanceof FwdgradError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Weights, gradients and AdamW's two moments are four f32 copies of the parameters in the engine's
 * 4 GiB heap, so more than 2^28 parameters cannot train.
 */
const MAX_PARAMETERS = 2 ** 28;

/** Refuses a model too large for the engine's heap before any of it is allocated. */
export function checkModelSize(data: Pick<Dataset, "features" | "classes">, config: Pick<TrainConfig, "model" | "width" | "depth">): void {
  const { width, depth } = config;
  const cnn = config.model === "cnn";
  // A CNN: the first convolution's 5·c weights, then c·c·3 each, then the head; an MLP: its matrices.
  const parameters = cnn
    ? 5 * width + (depth - 1) * 3 * width * width + modelSizes(config, data)[depth] * data.classes
    : data.features * width + (depth - 1) * width * width + width * data.classes;
  if (parameters > MAX_PARAMETERS) {
    throw new UsageError(`${cnn ? "channels" : "width"} ${width} and depth ${depth} make ${parameters.toExponential(2)} parameters; at most 2^28 fit the engine's 4 GiB heap with the optimiser's state`);
  }
}

/** A --methods entry (parseMethodSpec), its faults as usage errors. */
export function methodSpec(text: string): MethodSpec {
  try {
    return parseMethodSpec(text);
  } catch (error) {
    if (error instanceof FwdgradError) throw new UsageError(error.message);
    throw error;
  }
}

/** Checks a --methods list: entries separated by commas, none empty, none twice, all known. */
export function parseMethods(text: string): MethodSpec[] {
  const methods = text.split(",").map((m) => m.trim());
  if (methods.some((m) => m === "")) throw new UsageError(`--methods ${JSON.stringify(text)}: empty method name; give names separated by commas`);
  const twice = methods.find((m, i) => methods.indexOf(m) !== i);
  if (twice !== undefined) throw new UsageError(`--methods names ${JSON.stringify(twice)} twice`);
  return methods.map(methodSpec);
}

/** What would stop a run as it starts, checked for every run before the first one trains. */
export function checkRuns(data: Dataset, configs: TrainConfig[]): void {
  for (const c of configs) {
    checkMethodFits(c, data);
    checkModelSize(data, c);
    if (c.batch > data.train.n) throw new UsageError(`--batch ${c.batch} is larger than the training set (${data.train.n} rows)`);
  }
}

/** Says which runs stopped early (a non-finite loss) and resolves the exit status: 1 if any did. */
export function reportStopped(runs: Pick<RunResult, "label" | "width" | "seed" | "stopped">[]): number {
  const stopped = runs.filter((r) => r.stopped !== null);
  for (const r of stopped) console.error(`fwdgrad: ${r.label} (width ${r.width}, seed ${r.seed}) stopped early: ${r.stopped}`);
  return stopped.length > 0 ? 1 : 0;
}

/** Widths of a --widths list: distinct positive integers separated by commas. */
export function parseWidths(text: string): number[] {
  const widths = text.split(",").map((w) => w.trim());
  const bad = widths.find((w) => !/^\d+$/.test(w) || Number(w) < 1 || Number(w) > 65536);
  if (bad !== undefined) throw new UsageError(`--widths ${JSON.stringify(text)}: ${JSON.stringify(bad)} is not a width (an integer from 1 to 65536)`);
  const twice = widths.find((w, i) => widths.indexOf(w) !== i);
  if (twice !== undefined) throw new UsageError(`--widths names ${twice} twice`);
  return widths.map(Number);
}
