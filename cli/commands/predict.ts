// `fwdgrad predict`: a trained model's predictions for the rows of a CSV file or a data folder's
// test split, one CSV row per input (the predicted label, then the class probabilities; a
// regression model's outputs), to --out (written durably) or standard output. Rows that carry
// labels (CSV: one column more than the model's inputs, the label last) get their accuracy on
// standard error.
import { statSync } from "node:fs";
import { FwdgradError } from "../../engine/errors.ts";
import { parseCsvSplit } from "../../data/dataset.ts";
import { predict } from "../../models/weights.ts";
import { requireFlag, UsageError, type Command } from "../args.ts";
import { readyFor, THREADS_FLAG } from "../engine.ts";
import { writeDurable } from "../files.ts";
import { checkOutFile, loadData, readInputFile } from "../io.ts";
import { readModel } from "../weights.ts";

/** An f32 as the shortest decimal that reads back to it (9 significant digits always do). */
function f32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let digits = 1; digits < 9; digits++) {
    const text = v.toPrecision(digits);
    if (Math.fround(Number(text)) === v) return String(Number(text));
  }
  return String(Number(v.toPrecision(9)));
}

/** Rows to predict and, where the data carries them, their labels (classes) or targets (regression). */
interface Rows {
  x: Float32Array;
  n: number;
  labels?: ArrayLike<number>;
  targets?: Float32Array;
  what: string;
}

/** A CSV file's rows: inputs only, or inputs then the label (targets for a regression model). */
function csvRows(path: string, inputs: number, outputs: number, regression: boolean): Rows {
  const text = new TextDecoder().decode(readInputFile("--data", path, "give a CSV file or a data folder"));
  const parse = (targets: number) => {
    try {
      return parseCsvSplit(path, text, undefined, targets).split;
    } catch (error) {
      if (error instanceof FwdgradError) throw new UsageError(error.message);
      throw error;
    }
  };
  // Read first as features and one last column, to learn the width.
  const one = parse(1);
  const width = one.x.length / one.n + 1;
  const { n } = one;
  if (width === inputs) {
    // No labels: the last column is the model's last input.
    const x = new Float32Array(n * inputs);
    for (let r = 0; r < n; r++) {
      x.set(one.x.subarray(r * (inputs - 1), (r + 1) * (inputs - 1)), r * inputs);
      x[r * inputs + inputs - 1] = one.t![r];
    }
    return { x, n, what: `${n} rows` };
  }
  if (!regression && width === inputs + 1) {
    const labels = one.t!;
    const bad = labels.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= outputs);
    if (bad >= 0) throw new UsageError(`${path}: data row ${bad + 1}: label ${labels[bad]} is not a class of the model (an integer in [0, ${outputs}))`);
    return { x: one.x, n, labels, what: `${n} labelled rows` };
  }
  if (regression && width === inputs + outputs) {
    const split = parse(outputs);
    return { x: split.x, n, targets: split.t!, what: `${n} rows with targets` };
  }
  const extra = regression ? `${inputs + outputs} with its ${outputs} target${outputs === 1 ? "" : "s"} last` : `${inputs + 1} with the label last`;
  throw new UsageError(`--data ${path}: rows of ${width} columns; the model takes ${inputs} inputs (give ${inputs} columns, or ${extra})`);
}

export const predictCommand: Command = {
  summary: "predict with a trained model (checkpoint or .safetensors): one CSV row per input",
  flags: {
    checkpoint: { kind: "string", value: "file", required: true, help: "a checkpoint.json, checkpoint.bin or .safetensors file" },
    data: { kind: "string", value: "path", required: true, help: "a CSV file (inputs, or inputs then the label) or a data folder (its test split)" },
    out: { kind: "string", value: "file", help: "the CSV file to write (replaced whole); default standard output" },
    threads: THREADS_FLAG,
  },
  notes: () =>
    [
      "Each output row: the predicted label, then the probability of each class (the softmax of the logits);",
      "for a regression model, its outputs. A header row names the columns (label,p0,p1,… or y0,y1,…).",
      "A CSV row with one column more than the model's inputs has its last column read as the label, and",
      "the accuracy goes to standard error (a regression model: the mean squared error of rows with targets).",
      "A data folder (meta.json) gives its test split, whose labels are always known: the train split was",
      "trained on. Rows are written in the input's order.",
    ].join("\n"),
  async run(flags) {
    requireFlag(flags, predictCommand.flags, "checkpoint");
    requireFlag(flags, predictCommand.flags, "data");
    const out = flags.out as string | undefined;
    if (out !== undefined) checkOutFile("--out", out);
    await readyFor(flags);
    const { model, outputs } = readModel("--checkpoint", flags.checkpoint as string);
    const inputs = model.sizes[0], columns = model.sizes[model.sizes.length - 1];
    const regression = outputs === "targets";
    const path = flags.data as string;
    let rows: Rows;
    if (path.toLowerCase().endsWith(".csv") || !isFolder(path)) {
      rows = csvRows(path, inputs, columns, regression);
    } else {
      const data = loadData(path);
      if (data.features !== inputs) throw new UsageError(`--data ${path}: ${data.features} features per row; the model takes ${inputs} inputs`);
      if (regression) throw new UsageError(`--data ${path}: a data folder holds class labels, and the model is a regression model`);
      if (data.classes > columns) throw new UsageError(`--data ${path}: ${data.classes} classes; the model has ${columns}`);
      rows = { x: data.test.x, n: data.test.n, labels: data.test.y, what: `${data.test.n} rows of the test split` };
    }
    const { labels, probabilities } = predict(model, rows.x, { outputs });
    const lines: string[] = [regression ? Array.from({ length: columns }, (_, c) => `y${c}`).join(",") : ["label", ...Array.from({ length: columns }, (_, c) => `p${c}`)].join(",")];
    const chunks: Uint8Array[] = [];
    const encoder = new TextEncoder();
    const flush = () => {
      const text = `${lines.join("\n")}\n`;
      lines.length = 0;
      if (out !== undefined) chunks.push(encoder.encode(text));
      else process.stdout.write(text);
    };
    for (let r = 0; r < rows.n; r++) {
      const values = Array.from(probabilities.subarray(r * columns, (r + 1) * columns), f32Text);
      lines.push(regression ? values.join(",") : `${labels[r]},${values.join(",")}`);
      if (lines.length >= 1000) flush();
    }
    flush();
    if (out !== undefined) writeDurable(out, chunks);
    if (rows.labels) {
      let correct = 0;
      for (let r = 0; r < rows.n; r++) if (labels[r] === rows.labels[r]) correct++;
      console.error(`fwdgrad: accuracy ${((100 * correct) / rows.n).toFixed(2)}% (${correct} of ${rows.what})`);
    } else if (rows.targets) {
      let sum = 0;
      for (let i = 0; i < rows.targets.length; i++) sum += (probabilities[i] - rows.targets[i]) ** 2;
      console.error(`fwdgrad: mean squared error ${(sum / rows.targets.length).toPrecision(6)} (${rows.what})`);
    } else if (out !== undefined) {
      console.error(`fwdgrad: ${rows.what} predicted`);
    }
  },
};

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
