// The layer registry: one record per kind. Adding a kind is its file here plus one line below.
import { CONV } from "./conv.ts";
import { DENSE } from "./dense.ts";
import type { Layer, LayerKind } from "./layer.ts";
import { MAX_POOL_2D } from "./pool.ts";
import { RELU } from "./relu.ts";

/** What each kind of layer does, by the `kind` its layers carry. */
export const LAYER_KINDS = {
  dense: DENSE,
  conv1d: CONV,
  conv2d: CONV,
  relu: RELU,
  maxPool2d: MAX_POOL_2D,
} satisfies Record<string, LayerKind<never>>;

/** The name of a layer kind: a key of {@link LAYER_KINDS} (`"dense"`, `"conv1d"`, `"conv2d"`, `"relu"` or `"maxPool2d"`). */
export type LayerKindName = keyof typeof LAYER_KINDS;

/** The record of `layer`'s kind (a FwdgradError-free lookup: models are built by this package's constructors). */
export function kindOf<L extends Layer>(layer: L): LayerKind<L> {
  return (LAYER_KINDS as Record<string, LayerKind<never>>)[layer.kind] as unknown as LayerKind<L>;
}
