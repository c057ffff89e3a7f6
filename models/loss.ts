// Losses, written in engine ops so that jvp and vjp differentiate them like any model: each gives
// the per-example loss [B] of the model's outputs z [B, out] against a batch's targets.
import { FwdgradError, fmt } from "../engine/errors.ts";
import { mean, mul, softmaxCrossEntropy, sub } from "../engine/ops.ts";
import { Tensor } from "../engine/tensor.ts";

/** Class labels (integers in [0, classes)), or regression targets [B, out]. */
export type Targets = Int32Array | Tensor;

/**
 * A loss: the per-example loss of a model's outputs against targets, written in engine ops so that
 * every mode of differentiation sees it. The built-in ones are in {@link LOSSES}.
 */
export interface Loss {
  /** Its id in {@link LOSSES}. */
  readonly id: LossId;
  /** Whether the targets are class labels (else a tensor of the outputs' shape). */
  readonly labels: boolean;
  /** The per-example losses [B] of outputs z [B, out]. */
  perExample(z: Tensor, targets: Targets): Tensor;
}

/** Softmax cross-entropy against class labels, any number of classes (the engine's fused primitive). */
const crossEntropy: Loss = {
  id: "cross-entropy",
  labels: true,
  perExample: (z, targets) => {
    if (!(targets instanceof Int32Array)) throw new FwdgradError("cross-entropy: targets must be class labels (an Int32Array)");
    return softmaxCrossEntropy(z, targets);
  },
};

/** Mean squared error per example, mean over the outputs: Σ_j (z_j − t_j)² / out (PyTorch's MSELoss per row). */
const meanSquaredError: Loss = {
  id: "mse",
  labels: false,
  perExample: (z, targets) => {
    if (!(targets instanceof Tensor) || targets.rank !== 2 || targets.shape[0] !== z.shape[0] || targets.shape[1] !== z.shape[1]) {
      throw new FwdgradError(`mse: targets must be a tensor of the outputs' shape ${fmt(z.shape)}, got ${targets instanceof Tensor ? fmt(targets.shape) : "class labels"}`);
    }
    const error = sub(z, targets);
    return mean(mul(error, error), 1);
  },
};

/** The losses by id: what `train --loss` and the trainer take. */
export const LOSSES = { "cross-entropy": crossEntropy, mse: meanSquaredError } satisfies Record<string, Loss>;
/** The id of a built-in loss: softmax cross-entropy against class labels, or mean squared error. */
export type LossId = "cross-entropy" | "mse";
/** The loss ids, in the order menus list them. */
export const LOSS_IDS: readonly LossId[] = Object.freeze(["cross-entropy", "mse"]);

/**
 * The loss with this id.
 * @throws {FwdgradError} when `id` is not a key of {@link LOSSES} (the message names the known ones).
 * @example
 * ```ts
 * const z = tensor([2, 0, 0, 1], [2, 2]);
 * lossFor("cross-entropy").perExample(z, new Int32Array([0, 1])); // [2]
 * ```
 */
export function lossFor(id: string): Loss {
  if (!Object.hasOwn(LOSSES, id)) throw new FwdgradError(`unknown loss ${JSON.stringify(String(id))}; known: ${LOSS_IDS.join(", ")}`);
  return LOSSES[id as LossId];
}
