// Weights in and out as safetensors files, named as PyTorch names a torch.nn.Sequential's state
// dict, and prediction. Layer i of the model's sequence (activations counted, as nn.Sequential
// counts its modules) stores its weight as "i.weight" [out, in] and its bias as "i.bias" [out]:
// fwdgrad's dense layers keep W [out, in] as torch.nn.Linear does, so nothing is transposed, and
//   model = torch.nn.Sequential(nn.Linear(40, 128, bias=False), nn.ReLU(), nn.Linear(128, 10, bias=False))
//   model.load_state_dict(safetensors.torch.load_file("model.safetensors"))
// loads a file of createMlp([40, 128, 10]). The header's __metadata__ records the architecture
// (fwdgrad.layers, fwdgrad.sizes, fwdgrad.bias), what the outputs are (fwdgrad.outputs), the
// fwdgrad version and format "pt" (which the transformers library looks for).
import { mark, release } from "../engine/arena.ts";
import { FwdgradError, fmt } from "../engine/errors.ts";
import { assign } from "../engine/inplace.ts";
import { encodeSafetensors, parseSafetensors, type SafetensorsFile } from "./safetensors.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import type { Dense } from "./dense.ts";
import type { Layer } from "./layer.ts";
import { reluLayer } from "./relu.ts";
import { runModel, sequential, type Model } from "./sequential.ts";
import { argmaxRows } from "./mlp.ts";

/** The version written as fwdgrad.version (package.json's; tests/cli/weights.test.ts checks they agree). */
export const FWDGRAD_VERSION = "0.1.0";

/** What a model's outputs are: logits of classes (prediction takes their softmax) or regression targets. */
export type ModelOutputs = "classes" | "targets";

/** Options of {@link saveWeights}: what the outputs are, and extra metadata. */
export interface SaveWeightsOptions {
  /** What the outputs are (default "classes"), written as fwdgrad.outputs for `fwdgrad predict`. */
  outputs?: ModelOutputs;
  /** More __metadata__ entries (string values), written after fwdgrad's own. */
  metadata?: Record<string, string>;
}

const isDense = (layer: Layer): layer is Dense => layer.kind === "dense";

/** The model's sequence with each linear layer replaced by the one at its rank in `layers` (what runs). */
function running(model: Model): Layer[] {
  let rank = 0;
  return model.sequence.map((layer) => (isDense(layer) ? model.layers[rank++] : layer));
}

/** One line of the architecture: sizes and bias. */
function describeModel(sizes: readonly number[], bias: boolean[]): string {
  const b = bias.every((x) => x) ? "with biases" : bias.some((x) => x) ? `biases on layers ${bias.flatMap((x, i) => (x ? [i] : [])).join(", ")}` : "no biases";
  return `${fmt(sizes)}, ${b}`;
}

/**
 * The model's weights as a safetensors file: "i.weight" [out, in] and "i.bias" [out] for each dense
 * layer at index i of its sequence (torch.nn.Sequential's names and layouts), f32, with the
 * architecture in __metadata__ so `loadWeights` can rebuild it. The values are written bit for bit.
 * Throws a FwdgradError for a layer kind the format has no name for (only dense and relu exist today).
 * @example
 * ```ts
 * const model = createMlp([40, 128, 10], { seed: 1 });
 * const bytes = saveWeights(model); // write it to model.safetensors
 * ```
 */
export function saveWeights(model: Model, options: SaveWeightsOptions = {}): Uint8Array {
  const layers = running(model);
  const tensors: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  layers.forEach((layer, i) => {
    if (layer.kind === "relu") return;
    if (!isDense(layer)) throw new FwdgradError(`saveWeights: layer ${i} is a ${layer.kind} layer, which safetensors files of fwdgrad do not hold yet`);
    tensors.push({ name: `${i}.weight`, shape: [...layer.w.shape], data: layer.w.toArray() });
    if (layer.b) tensors.push({ name: `${i}.bias`, shape: [...layer.b.shape], data: layer.b.toArray() });
  });
  const outputs = options.outputs ?? "classes";
  if (outputs !== "classes" && outputs !== "targets") throw new FwdgradError(`saveWeights: outputs must be "classes" or "targets", got ${JSON.stringify(outputs)}`);
  const bias = model.layers.map((l) => l.b !== null);
  return encodeSafetensors(tensors, {
    format: "pt",
    "fwdgrad.version": FWDGRAD_VERSION,
    "fwdgrad.layers": layers.map((l) => l.kind).join(","),
    "fwdgrad.sizes": model.sizes.join(","),
    "fwdgrad.bias": bias.every((x) => x) ? "true" : bias.some((x) => x) ? bias.join(",") : "false",
    "fwdgrad.outputs": outputs,
    ...options.metadata,
  });
}

/** The layer kinds of a file: fwdgrad's metadata, else torch.nn.Sequential(Linear, ReLU, …, Linear) read from the names. */
function fileLayers(file: SafetensorsFile): string[] {
  const recorded = file.metadata["fwdgrad.layers"];
  if (recorded !== undefined) {
    const kinds = recorded.split(",");
    const unknown = kinds.find((k) => k !== "dense" && k !== "relu");
    if (unknown !== undefined) throw new FwdgradError(`loadWeights: fwdgrad.layers names a layer kind ${JSON.stringify(unknown.slice(0, 40))} this version cannot build (dense, relu)`);
    return kinds;
  }
  const indices = new Set<number>();
  for (const name of file.tensors.keys()) {
    const match = /^(0|[1-9]\d{0,5})\.(weight|bias)$/.exec(name);
    if (!match) throw new FwdgradError(`loadWeights: tensor ${JSON.stringify(name.slice(0, 60))} is not named as a torch.nn.Sequential's Linear parameter ("0.weight", "2.bias", …), and the file has no fwdgrad.layers`);
    indices.add(Number(match[1]));
  }
  const sorted = [...indices].sort((a, b) => a - b);
  if (sorted.length === 0) throw new FwdgradError("loadWeights: the file holds no tensors");
  sorted.forEach((index, j) => {
    if (index !== 2 * j) throw new FwdgradError(`loadWeights: Linear layers at ${sorted.join(", ")}; without fwdgrad.layers a file must be a torch.nn.Sequential of Linear and ReLU in turn (Linear at 0, 2, 4, …)`);
  });
  return Array.from({ length: 2 * sorted.length - 1 }, (_, i) => (i % 2 === 0 ? "dense" : "relu"));
}

/** The file's dense layers (weights [out, in] and biases as f32 arrays) after every check against its layer list. */
function fileDense(file: SafetensorsFile, kinds: string[]) {
  const expected = new Set<string>();
  const dense: Array<{ index: number; out: number; in: number; w: Float32Array; b: Float32Array | null }> = [];
  kinds.forEach((kind, index) => {
    if (kind !== "dense") return;
    const w = file.tensors.get(`${index}.weight`), b = file.tensors.get(`${index}.bias`);
    expected.add(`${index}.weight`).add(`${index}.bias`);
    if (!w) throw new FwdgradError(`loadWeights: the file has no ${index}.weight for its dense layer ${index}`);
    if (w.shape.length !== 2 || w.shape[0] < 1 || w.shape[1] < 1) throw new FwdgradError(`loadWeights: ${index}.weight has shape ${fmt(w.shape)}, not [out, in] with both ≥ 1`);
    const [out, inputs] = w.shape;
    if (b && (b.shape.length !== 1 || b.shape[0] !== out)) throw new FwdgradError(`loadWeights: ${index}.bias has shape ${fmt(b.shape)}, ${index}.weight ${fmt(w.shape)} needs [${out}]`);
    const before = dense[dense.length - 1];
    if (before && before.out !== inputs) throw new FwdgradError(`loadWeights: ${index}.weight takes ${inputs} inputs, but ${before.index}.weight gives ${before.out}`);
    dense.push({ index, out, in: inputs, w: w.data, b: b ? b.data : null });
  });
  for (const name of file.tensors.keys()) {
    if (!expected.has(name)) throw new FwdgradError(`loadWeights: tensor ${JSON.stringify(name.slice(0, 60))} is not a parameter of the file's model (${kinds.join(",")})`);
  }
  if (dense.length === 0 || kinds[kinds.length - 1] !== "dense") throw new FwdgradError(`loadWeights: the file's model (${kinds.join(",")}) must end with a dense layer`);
  const sizes = [dense[0].in, ...dense.map((d) => d.out)];
  const recordedSizes = file.metadata["fwdgrad.sizes"];
  if (recordedSizes !== undefined && recordedSizes !== sizes.join(",")) throw new FwdgradError(`loadWeights: fwdgrad.sizes says ${JSON.stringify(recordedSizes.slice(0, 60))}, the tensors' shapes give ${sizes.join(",")}`);
  return { dense, sizes };
}

/**
 * A model from a safetensors file (its bytes, or `parseSafetensors`'s result): built as its
 * __metadata__ describes (fwdgrad.layers), or, for a file without fwdgrad's metadata, as the
 * torch.nn.Sequential of Linear layers at 0, 2, 4, … with ReLU between that its names describe.
 * With `into`, the values are written into that model's own tensors instead (its architecture must
 * be the file's, sizes and biases) and it is returned. Values are read bit for bit (F32; F64, F16
 * and BF16 are converted). Throws a one-line FwdgradError for a damaged file (see
 * `parseSafetensors`), a tensor of the wrong name or shape, or a model that is not the file's.
 * @example
 * ```ts
 * const model = loadWeights(bytes);            // a new model
 * loadWeights(bytes, createMlp([40, 128, 10])); // into an existing one
 * ```
 */
export function loadWeights(source: Uint8Array | SafetensorsFile, into?: Model): Model {
  const file = source instanceof Uint8Array ? parseSafetensors(source) : source;
  const kinds = fileLayers(file);
  const { dense, sizes } = fileDense(file, kinds);
  if (into) {
    const mine = running(into);
    const bias = into.layers.map((l) => l.b !== null);
    const same = mine.length === kinds.length && mine.every((l, i) => l.kind === kinds[i]) && into.sizes.join(",") === sizes.join(",") && dense.every((d, i) => (d.b !== null) === bias[i]);
    if (!same) {
      throw new FwdgradError(`loadWeights: the file's model (${describeModel(sizes, dense.map((d) => d.b !== null))}) is not the model's (${describeModel(into.sizes, bias)})`);
    }
    dense.forEach((d, i) => {
      assign(into.layers[i].w, d.w);
      if (d.b) assign(into.layers[i].b!, d.b);
    });
    return into;
  }
  let rank = 0;
  const layers = kinds.map((kind): Layer => {
    if (kind === "relu") return reluLayer();
    const d = dense[rank++];
    return { kind: "dense", w: tensor(d.w, [d.out, d.in]), b: d.b ? tensor(d.b, [d.out]) : null } as Dense;
  });
  return sequential(layers);
}

/** What a file's fwdgrad.outputs says the model's outputs are ("classes" when it says nothing). */
export function weightsOutputs(file: SafetensorsFile): ModelOutputs {
  const outputs = file.metadata["fwdgrad.outputs"] ?? "classes";
  if (outputs !== "classes" && outputs !== "targets") throw new FwdgradError(`loadWeights: fwdgrad.outputs must be "classes" or "targets", got ${JSON.stringify(outputs.slice(0, 40))}`);
  return outputs;
}

/** What `predict` returns for n rows. */
export interface Prediction {
  /** Each row's predicted class (the first of equal largest logits); empty for a regression model. */
  labels: Int32Array;
  /** [n, columns] row-major: the softmax of the logits, or a regression model's outputs. */
  probabilities: Float32Array;
  /** The model's outputs per row. */
  columns: number;
}

/**
 * The model's predictions for the rows of x ([n, features] as a tensor, or n·features values row
 * by row): each row's class and the softmax of its logits (computed in f64, rounded to f32), or,
 * with `outputs: "targets"`, a regression model's outputs as they are (labels then empty). Runs in
 * chunks of 1000 rows, freeing each chunk's engine memory. Throws a FwdgradError when x does not
 * have the model's features.
 * @example
 * ```ts
 * const rows = new Float32Array(2 * model.sizes[0]); // two examples, row-major
 * const { labels, probabilities } = predict(model, rows);
 * ```
 */
export function predict(model: Model, x: Tensor | Float32Array, options: { outputs?: ModelOutputs } = {}): Prediction {
  const features = model.sizes[0], columns = model.sizes[model.sizes.length - 1];
  let values: Float32Array;
  if (x instanceof Float32Array) {
    if (x.length % features !== 0) throw new FwdgradError(`predict: ${x.length} values are not whole rows of the model's ${features} features`);
    values = x;
  } else {
    if (x.rank !== 2 || x.shape[1] !== features) throw new FwdgradError(`predict: input must be [rows, ${features}], got ${fmt(x.shape)}`);
    values = x.toArray();
  }
  const n = values.length / features;
  const regression = options.outputs === "targets";
  const probabilities = new Float32Array(n * columns);
  const labels = new Int32Array(regression ? 0 : n);
  const chunk = 1000;
  for (let from = 0; from < n; from += chunk) {
    const rows = Math.min(chunk, n - from);
    const scope = mark();
    try {
      const pre = runModel(model, tensor(values.subarray(from * features, (from + rows) * features), [rows, features])).pre;
      probabilities.set(pre[pre.length - 1].toArray(), from * columns);
    } finally {
      release(scope);
    }
  }
  if (regression) return { labels, probabilities, columns };
  labels.set(argmaxRows(probabilities, columns));
  // Softmax in place, shifted by each row's largest logit (the predicted class's).
  const e = new Float64Array(columns);
  for (let r = 0; r < n; r++) {
    const row = probabilities.subarray(r * columns, (r + 1) * columns);
    const top = row[labels[r]];
    let total = 0;
    for (let c = 0; c < columns; c++) total += e[c] = Math.exp(row[c] - top);
    for (let c = 0; c < columns; c++) row[c] = e[c] / total;
  }
  return { labels, probabilities, columns };
}
