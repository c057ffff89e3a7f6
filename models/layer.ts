// The layer interface: a layer is data (its kind and parameters); what a kind does lives in one
// record per kind (models/index.ts registers them), written once in engine ops, so the engine's jvp,
// linearize and vjp differentiate every model the layers compose. A kind that is a linear map of its
// input (dense; convolutions next) exposes that map J and its transpose on a batch, which is all the
// Wᵀ and W̃⊥ guesses need of the layer after a site.
import type { Tensor } from "../engine/tensor.ts";

/** A layer as data: its kind's name, and for parameterised kinds their tensors. */
export interface Layer {
  /** The kind's name, a key of {@link LAYER_KINDS}. */
  readonly kind: string;
}

/** The map J of a layer linear in its input, per example, on a batch of rows. */
export interface LinearMapRules<L extends Layer> {
  /** Per-example input features (the rows of `times` and the output of `transposeTimes`). */
  inputSize(layer: L): number;
  /** Per-example output features. */
  outputSize(layer: L): number;
  /** J·y for each row of y [n, in]: [n, out] (no bias). */
  times(layer: L, y: Tensor): Tensor;
  /** Jᵀ·e for each row of e [n, out]: [n, in]. */
  transposeTimes(layer: L, e: Tensor): Tensor;
  /**
   * J as a dense matrix [out, in] (a dense layer's weight itself; a convolution's, built from its
   * products): what the estimators that factor J per example (W̃⊥'s exact route, W̃P, the basis
   * fidelity) and W̃⊥'s masked Gram products take.
   */
  matrix(layer: L): Tensor;
  /**
   * JᵀJ [in, in], where the kind forms it more cheaply than it applies J and Jᵀ (dense): W̃⊥'s solvers
   * take products with it; without it they apply J and Jᵀ (estimators/wperp/gram.ts).
   */
  gram?(layer: L): Tensor;
  /**
   * The parameter gradients from per-example output gradients g [B, out] and the layer's inputs x:
   * Σ_b over the batch of the layer's vjp, in `params` order (null for an absent bias). Paper P's
   * step 5 for an estimated g; tests check it equals the engine's vjp of `apply`.
   */
  paramGradients(layer: L, x: Tensor, g: Tensor): (Tensor | null)[];
}

/** What one kind of layer does. */
export interface LayerKind<L extends Layer = Layer> {
  /** The layer's trainable parameters, in the order `apply` takes them. */
  params(layer: L): Tensor[];
  /** The layer on a batch x, with its parameters given (jvp and vjp pass views carrying tangents). */
  apply(layer: L, x: Tensor, params: readonly Tensor[]): Tensor;
  /** Present for kinds linear in their input. */
  map?: LinearMapRules<L>;
  /** Present for elementwise activations whose derivative is a 0/1 mask: that mask at pre-activation s. */
  mask?(s: Tensor): Tensor;
  /** Present for parameterless kinds that change the features per example (pooling): from and to. */
  resize?(layer: L): { from: number; to: number };
}
