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
import { convOutput, type Conv } from "./conv.ts";
import type { Dense } from "./dense.ts";
import { kindOf } from "./index.ts";
import type { Layer } from "./layer.ts";
import { maxPool2dLayer, type MaxPool2d } from "./pool.ts";
import { reluLayer } from "./relu.ts";
import { runModel, sequential, type Linear, type Model } from "./sequential.ts";
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

/** The layer kinds a file of fwdgrad holds: the linear ones with tensors, the others by name (and geometry). */
const FILE_KINDS = ["dense", "relu", "conv1d", "conv2d", "maxPool2d"];

const isLinear = (layer: Layer): layer is Linear => kindOf(layer).map !== undefined;

/** The model's sequence with each linear layer replaced by the one at its rank in `layers` (what runs). */
function running(model: Model): Layer[] {
  let rank = 0;
  return model.sequence.map((layer) => (isLinear(layer) ? model.layers[rank++] : layer));
}

/** What a file records of a convolution's or a pooling layer's geometry (fwdgrad.geometry, by layer index). */
type Geometry = { input: number[]; stride: number[]; padding: number[]; dilation: number[] } | { channels: number; input: number[]; size: number };

function geometryOf(layer: Layer): Geometry | null {
  if (layer.kind === "conv1d" || layer.kind === "conv2d") {
    const c = layer as Conv;
    return { input: [...c.input], stride: [...c.stride], padding: [...c.padding], dilation: [...c.dilation] };
  }
  if (layer.kind === "maxPool2d") {
    const p = layer as MaxPool2d;
    return { channels: p.channels, input: [...p.input], size: p.size };
  }
  return null;
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
  const geometry: Record<string, Geometry> = {};
  layers.forEach((layer, i) => {
    if (!FILE_KINDS.includes(layer.kind)) throw new FwdgradError(`saveWeights: layer ${i} is a ${layer.kind} layer, which safetensors files of fwdgrad do not hold yet`);
    const shape = geometryOf(layer);
    if (shape) geometry[i] = shape;
    if (!isLinear(layer)) return;
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
    ...(Object.keys(geometry).length > 0 ? { "fwdgrad.geometry": JSON.stringify(geometry) } : {}),
    ...options.metadata,
  });
}

/** The layer kinds of a file: fwdgrad's metadata, else torch.nn.Sequential(Linear, ReLU, …, Linear) read from the names. */
function fileLayers(file: SafetensorsFile): string[] {
  const recorded = file.metadata["fwdgrad.layers"];
  if (recorded !== undefined) {
    const kinds = recorded.split(",");
    const unknown = kinds.find((k) => !FILE_KINDS.includes(k));
    if (unknown !== undefined) throw new FwdgradError(`loadWeights: fwdgrad.layers names a layer kind ${JSON.stringify(unknown.slice(0, 40))} this version cannot build (${FILE_KINDS.join(", ")})`);
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

/** fwdgrad.geometry's entry for layer `index` (a convolution or a pooling layer), checked; {} without one. */
function fileGeometry(file: SafetensorsFile, kinds: string[]): Record<string, unknown> {
  const needs = kinds.some((k) => k !== "dense" && k !== "relu");
  const text = file.metadata["fwdgrad.geometry"];
  if (text === undefined) {
    if (needs) throw new FwdgradError(`loadWeights: the file's convolution or pooling layers need fwdgrad.geometry, which it lacks`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FwdgradError(`loadWeights: fwdgrad.geometry is not JSON (${JSON.stringify(text.slice(0, 40))})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new FwdgradError("loadWeights: fwdgrad.geometry must be an object of layer index to geometry");
  return parsed as Record<string, unknown>;
}

/** Integers ≥ `least`, `count` of them, from a file's geometry entry. */
function integers(value: unknown, count: number, least: number, what: string): number[] {
  if (!Array.isArray(value) || value.length !== count || value.some((v) => !Number.isSafeInteger(v) || (v as number) < least)) {
    throw new FwdgradError(`loadWeights: ${what} must be ${count} integer(s) ≥ ${least}, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  return value as number[];
}

/** The file's layers, built from its tensors and geometry after every check against its layer list. */
function fileModelLayers(file: SafetensorsFile, kinds: string[]): Layer[] {
  const geometry = fileGeometry(file, kinds);
  const expected = new Set<string>();
  const layers: Layer[] = [];
  // The dense layers' chaining is checked here (its message names both tensors); across a
  // convolution or a pool, sequential checks it.
  let before: { index: number; out: number; kind: string } | null = null;
  kinds.forEach((kind, index) => {
    if (kind === "relu") {
      layers.push(reluLayer());
      return;
    }
    const shape = geometry[index] as Record<string, unknown> | undefined;
    if (kind === "maxPool2d") {
      if (!shape) throw new FwdgradError(`loadWeights: fwdgrad.geometry has no entry for the maxPool2d layer ${index}`);
      const channels = integers([shape.channels], 1, 1, `layer ${index}'s channels`)[0];
      const [h, w] = integers(shape.input, 2, 1, `layer ${index}'s input`);
      const size = integers([shape.size], 1, 1, `layer ${index}'s size`)[0];
      layers.push(maxPool2dLayer(channels, [h, w], size));
      before = null;
      return;
    }
    const w = file.tensors.get(`${index}.weight`), b = file.tensors.get(`${index}.bias`);
    expected.add(`${index}.weight`).add(`${index}.bias`);
    if (!w) throw new FwdgradError(`loadWeights: the file has no ${index}.weight for its ${kind} layer ${index}`);
    const rank = kind === "dense" ? 2 : kind === "conv1d" ? 3 : 4;
    if (w.shape.length !== rank || w.shape.some((d) => d < 1)) {
      throw new FwdgradError(kind === "dense" ? `loadWeights: ${index}.weight has shape ${fmt(w.shape)}, not [out, in] with both ≥ 1` : `loadWeights: ${index}.weight has shape ${fmt(w.shape)}, not a ${kind} weight [out, in, ${rank === 3 ? "k" : "kh, kw"}] with every size ≥ 1`);
    }
    const out = w.shape[0];
    if (b && (b.shape.length !== 1 || b.shape[0] !== out)) throw new FwdgradError(`loadWeights: ${index}.bias has shape ${fmt(b.shape)}, ${index}.weight ${fmt(w.shape)} needs [${out}]`);
    const bias = b ? tensor(b.data, [out]) : null;
    if (kind === "dense") {
      const inputs = w.shape[1];
      if (before && before.kind === "dense" && before.out !== inputs) throw new FwdgradError(`loadWeights: ${index}.weight takes ${inputs} inputs, but ${before.index}.weight gives ${before.out}`);
      layers.push({ kind: "dense", w: tensor(w.data, [out, inputs]), b: bias } as Dense);
      before = { index, out, kind };
      return;
    }
    if (!shape) throw new FwdgradError(`loadWeights: fwdgrad.geometry has no entry for the ${kind} layer ${index}`);
    const axes = rank - 2;
    const conv: Conv = {
      kind: kind as Conv["kind"], w: tensor(w.data, w.shape), b: bias,
      input: integers(shape.input, axes, 1, `layer ${index}'s input`), stride: integers(shape.stride, axes, 1, `layer ${index}'s stride`),
      padding: integers(shape.padding, axes, 0, `layer ${index}'s padding`), dilation: integers(shape.dilation, axes, 1, `layer ${index}'s dilation`),
    };
    const positions = convOutput(conv);
    if (positions.some((n) => n < 1)) throw new FwdgradError(`loadWeights: layer ${index}'s kernel ${fmt(w.shape.slice(2))} does not fit its input ${fmt(conv.input)} (padding ${fmt(conv.padding)}, dilation ${fmt(conv.dilation)})`);
    layers.push(conv);
    before = { index, out: out * positions.reduce((p, n) => p * n, 1), kind };
  });
  for (const name of file.tensors.keys()) {
    if (!expected.has(name)) throw new FwdgradError(`loadWeights: tensor ${JSON.stringify(name.slice(0, 60))} is not a parameter of the file's model (${kinds.join(",")})`);
  }
  if (!kinds.some((k) => k === "dense" || k.startsWith("conv")) || kinds[kinds.length - 1] !== "dense") throw new FwdgradError(`loadWeights: the file's model (${kinds.join(",")}) must end with a dense layer`);
  return layers;
}

/** The model of a file's layers (sequential's checks, as loadWeights's errors), and its recorded sizes checked. */
function fileModel(file: SafetensorsFile, kinds: string[]): Model {
  let model: Model;
  try {
    model = sequential(fileModelLayers(file, kinds));
  } catch (error) {
    // A layer constructor's or sequential's refusal, named as the loader's.
    if (error instanceof FwdgradError && !error.message.startsWith("loadWeights:")) throw new FwdgradError(`loadWeights: ${error.message.replace(/^(sequential|maxPool2dLayer): /, "")}`);
    throw error;
  }
  const recordedSizes = file.metadata["fwdgrad.sizes"];
  if (recordedSizes !== undefined && recordedSizes !== model.sizes.join(",")) throw new FwdgradError(`loadWeights: fwdgrad.sizes says ${JSON.stringify(recordedSizes.slice(0, 60))}, the tensors' shapes give ${model.sizes.join(",")}`);
  return model;
}

/** A model's architecture as text: every layer's kind, weight shape, bias and geometry. */
function layout(model: Model): string {
  return running(model).map((l) => `${l.kind}${isLinear(l) ? `${fmt(l.w.shape)}${l.b ? "+b" : ""}` : ""}${JSON.stringify(geometryOf(l) ?? "")}`).join(" ");
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
  const scope = mark();
  let built: Model;
  try {
    built = fileModel(file, kinds);
  } catch (error) {
    release(scope);
    throw error;
  }
  if (!into) return built;
  try {
    if (layout(built) !== layout(into)) {
      throw new FwdgradError(`loadWeights: the file's model (${describeModel(built.sizes, built.layers.map((l) => l.b !== null))}) is not the model's (${describeModel(into.sizes, into.layers.map((l) => l.b !== null))})`);
    }
    built.layers.forEach((layer, i) => {
      assign(into.layers[i].w, layer.w.toArray());
      if (layer.b) assign(into.layers[i].b!, layer.b.toArray());
    });
    return into;
  } finally {
    release(scope);
  }
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
