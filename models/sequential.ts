// Models composed from layers: `sequential([...])` runs its layers in order. The layers linear in
// their input (dense) are the model's sites: forward keeps each one's input x_i and output s_i (the
// pre-activation), and a hook may replace s_i, which is how an estimator injects its guesses into the
// one forward-mode pass (engine `inject`). Parameters can be given apart from the layers, so jvp and
// vjp can pass their tangent-carrying views of them.
import { FwdgradError, fmt } from "../engine/errors.ts";
import { stopGradient } from "../engine/jvp.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { Conv } from "./conv.ts";
import type { Dense } from "./dense.ts";
import { kindOf, LAYER_KINDS } from "./index.ts";
import type { Layer } from "./layer.ts";

/** A layer linear in its input: the sites of a model (dense, conv1d, conv2d). */
export type Linear = Dense | Conv;

/**
 * A model as data: its layers in order and the sizes between them. Built by {@link sequential} or
 * {@link createMlp}; run by {@link forward}, {@link runModel} and the estimators.
 */
export interface Model {
  /** Features at the input and after each linear layer. */
  sizes: readonly number[];
  /** The linear layers in order (the sites where estimators guess), with their parameters. */
  layers: Linear[];
  /**
   * Every layer in order, activations included. A linear layer here stands for the one at the same
   * rank in `layers` (so a model with `layers` replaced runs the replacements).
   */
  sequence: readonly Layer[];
}

/** What a forward pass keeps: the input of every linear layer and its output. */
export interface ForwardTrace {
  /** inputs[i] = x_i, the input of linear layer i (inputs[0] is the batch itself when layer 0 comes first). */
  inputs: Tensor[];
  /** pre[i] = s_i, linear layer i's output (before its activation); the last one is the model's output. */
  pre: Tensor[];
}

/** Called at each linear layer's output s_i with its input x_i; returns what the model passes on. */
export type SiteHook = (layer: number, s: Tensor, x: Tensor) => Tensor;

const isLinear = (layer: Layer): layer is Linear => kindOf(layer).map !== undefined;

/**
 * A model running `layers` in order; each must be one of the registered kinds (models/index.ts), the
 * first linear layer's input size sets the model's, and the last layer must be linear (the output).
 * @throws {FwdgradError} when `layers` is empty, holds a layer of an unknown kind, the sizes of consecutive linear layers do not chain, or the last layer is not linear.
 * @example
 * ```ts
 * const r = rng(0);
 * const model = sequential([dense(40, 64, r.split(0)), reluLayer(), dense(64, 10, r.split(1))]);
 * ```
 */
export function sequential(layers: readonly Layer[]): Model {
  if (!Array.isArray(layers) || layers.length === 0) throw new FwdgradError("sequential: give at least one layer");
  layers.forEach((layer, i) => {
    if (!layer || typeof layer !== "object" || !Object.hasOwn(LAYER_KINDS, layer.kind)) {
      throw new FwdgradError(`sequential: layer ${i} is not a layer of a known kind (${Object.keys(LAYER_KINDS).join(", ")})`);
    }
  });
  const linear = layers.filter(isLinear);
  if (!isLinear(layers[layers.length - 1])) throw new FwdgradError("sequential: the last layer must be linear in its input (the model's output)");
  const sizes = [kindOf(linear[0]).map!.inputSize(linear[0])];
  // The features each layer receives, followed through the layers that resize them (pooling).
  let features = sizes[0];
  let rank = 0;
  layers.forEach((layer, i) => {
    const kind = kindOf(layer);
    if (kind.map) {
      if (kind.map.inputSize(layer) !== features) {
        throw new FwdgradError(`sequential: linear layer ${rank} takes ${kind.map.inputSize(layer)} features, the layer before gives ${features}`);
      }
      features = kind.map.outputSize(layer);
      sizes.push(features);
      rank++;
    } else if (kind.resize) {
      const { from, to } = kind.resize(layer);
      if (from !== features) throw new FwdgradError(`sequential: layer ${i} (${layer.kind}) takes ${from} features, the layer before gives ${features}`);
      features = to;
    }
  });
  return { sizes, layers: linear, sequence: layers.slice() };
}

/**
 * The model's parameters, flat, in order: each linear layer's (weight, then bias if any).
 * @example
 * ```ts
 * parameters(createMlp([4, 8, 3], { bias: true })).length; // 4: w₀, b₀, w₁, b₁
 * ```
 */
export function parameters(model: Model): Tensor[] {
  return model.layers.flatMap((layer) => kindOf(layer).params(layer));
}

/**
 * The map J of linear layer `layer` as a dense matrix [out, in]: a dense layer's weight, a
 * convolution's matrix built from its products. The estimators that factor J per example take it.
 * @example
 * ```ts
 * linearMatrix(dense(4, 3, rng(0))).shape; // [3, 4]
 * ```
 */
export function linearMatrix(layer: Linear): Tensor {
  return kindOf(layer).map!.matrix(layer);
}

/** The shape [out, in] of linear layer `layer`'s map J, without forming it (`linearMatrix` forms it). */
export function linearShape(layer: Linear): [out: number, inputs: number] {
  const map = kindOf(layer).map!;
  return [map.outputSize(layer), map.inputSize(layer)];
}

/** Runs `fn` in a memory scope of the caller's (e.g. the arena's `tidy`), keeping what it returns. */
export type LayerScope = <R>(fn: () => R) => R;

/**
 * Runs the model on x with parameters `params` (as `parameters(model)` lists them; default the
 * model's own), calling `atSite` at every linear layer's output. Each linear layer and the layers up
 * to the next run inside `scope` when given, so a caller can free what a layer leaves behind.
 * Returns the trace of every site.
 * @throws {FwdgradError} when `x` is not [batch, sizes[0]], or `params` do not match the model's.
 */
export function runModel(model: Model, x: Tensor, params: readonly Tensor[] = parameters(model), atSite?: SiteHook, scope?: LayerScope): ForwardTrace {
  if (x.rank !== 2 || x.shape[1] !== model.sizes[0]) {
    throw new FwdgradError(`forward: input must be [batch, ${model.sizes[0]}], got ${fmt(x.shape)}`);
  }
  const trace: ForwardTrace = { inputs: [], pre: [] };
  // Groups: a linear layer and the parameterless layers after it (any before the first stand alone).
  const groups: Layer[][] = [];
  for (const entry of model.sequence) {
    if (isLinear(entry) || groups.length === 0) groups.push([entry]);
    else groups[groups.length - 1].push(entry);
  }
  let at = 0;
  let site = 0;
  let h = x;
  const run = (group: Layer[]) => {
    let out = h;
    let pre: Tensor | null = null;
    for (const entry of group) {
      if (!isLinear(entry)) {
        out = kindOf(entry).apply(entry, out, []);
        continue;
      }
      const layer = model.layers[site];
      const kind = kindOf(layer);
      const count = kind.params(layer).length;
      let s = kind.apply(layer, out, params.slice(at, at + count));
      if (atSite) s = atSite(site, s, out);
      pre = s;
      out = s;
    }
    // Under a scope only the output keeps its tangent: a site's partial tangents die with its layer.
    return { out, pre: scope && pre && pre !== out ? stopGradient(pre) : pre };
  };
  for (const group of groups) {
    const linear = isLinear(group[0]);
    const { out, pre } = scope ? scope(() => run(group)) : run(group);
    if (linear) {
      trace.inputs.push(h);
      trace.pre.push(pre!);
      at += kindOf(model.layers[site]).params(model.layers[site]).length;
      site++;
    }
    h = out;
  }
  return trace;
}

/**
 * The linear layer after hidden site `site`, whose map J the guesses built from it (Wᵀ, W̃⊥, W̃P,
 * W̃⊥-NS) take: the path from the site's output to it must be J·M, its activation's mask and then J.
 * @throws {FwdgradError} when any layer but the activation stands between them (a pooling layer).
 */
export function nextLinear(model: Model, site: number): Linear {
  let seen = -1;
  for (let i = 0; i < model.sequence.length; i++) {
    if (!isLinear(model.sequence[i]) || ++seen !== site) continue;
    const between = [];
    for (let j = i + 1; j < model.sequence.length && !isLinear(model.sequence[j]); j++) between.push(model.sequence[j]);
    const other = between.find((layer, n) => n > 0 || !kindOf(layer).mask);
    if (other) throw new FwdgradError(`model: linear layer ${site}'s activation reaches linear layer ${site + 1} through a ${other.kind} layer, so the path is not J·M: guesses built from the next layer's map need the activation alone between them`);
    break;
  }
  return model.layers[site + 1];
}

/** The layer that follows linear layer `site` when it is an activation with a 0/1 derivative mask. */
export function activationAfter(model: Model, site: number): Layer | null {
  let seen = -1;
  for (let i = 0; i < model.sequence.length; i++) {
    if (isLinear(model.sequence[i]) && ++seen === site) {
      const next = model.sequence[i + 1];
      return next && kindOf(next).mask ? next : null;
    }
  }
  return null;
}

/**
 * The derivative mask of the activation after linear layer `site` at its pre-activation s.
 * @throws {FwdgradError} when linear layer `site` is not followed by an activation with a 0/1 derivative mask (relu).
 */
export function siteMask(model: Model, site: number, s: Tensor): Tensor {
  const activation = activationAfter(model, site);
  if (!activation) throw new FwdgradError(`model: linear layer ${site} is not followed by an activation with a derivative mask (relu)`);
  return kindOf(activation).mask!(s);
}
