// W̃⊥'s starting points, carried from step to step (plain arrays: the heap is per step): per hidden
// layer, the top eigenvectors of the shared Gram WᵀW (refined from the last ones whenever a start
// row vanishes under its mask and needs a stand-in), and per data set row, every example's LOBPCG
// block from its last visit. Weights move little between visits, so an
// example seen again an epoch later starts from its own subspace. The per-row blocks are bounded by
// a byte budget: rows past it are not kept and start from the Gram's eigenvectors on every visit.
import { eigh } from "../../engine/linalg/decompositions.ts";
import { FwdgradError } from "../../engine/errors.ts";
import { tensor, type Tensor } from "../../engine/tensor.ts";
import type { EstimatorState } from "../estimator.ts";

/** Kept per-row blocks' default byte budget. */
export const DEFAULT_WARM_START_BYTES = 256 * 2 ** 20;

/** Extra Ritz vectors kept beside the k by default. */
export const DEFAULT_OVERSAMPLE = 2;

/**
 * The starts hidden layer `layer` of a model of layer sizes `sizes` keeps: blocks of w =
 * min(d, k + oversample) rows of its d units, if its next layer is wider than k (narrower ones take
 * the thin route and keep none); null otherwise.
 */
function keptBlock(sizes: readonly number[], layer: number, k: number, oversample: number): { d: number; w: number } | null {
  if (layer > sizes.length - 3 || sizes[layer + 2] <= k) return null;
  const d = sizes[layer + 1];
  return { d, w: Math.min(d, k + oversample) };
}

/** The bytes that keep the blocks of all `rows` examples of a model of layer sizes `sizes`: rows × w × d × 4 per layer that keeps them. */
export function warmStartBytesFor(sizes: readonly number[], rows: number, k: number, oversample = DEFAULT_OVERSAMPLE): number {
  let bytes = 0;
  for (let layer = 0; layer + 2 < sizes.length; layer++) {
    const block = keptBlock(sizes, layer, k, oversample);
    if (block) bytes += rows * block.w * block.d * 4;
  }
  return bytes;
}

interface GramStart {
  /** [d, columns] */
  shape: number[];
  values: Float32Array;
}

export class WarmStarts {
  private readonly gramStarts = new Map<number, GramStart>();
  private readonly bases = new Map<number, Map<number, Float32Array>>();
  private bytes = 0;

  /**
   * k: the basis's columns; oversample: the extra rows of each block (w = min(d, k + oversample));
   * budget: bytes of per-row blocks kept, over all layers; id: the estimator its errors name.
   */
  constructor(private readonly k: number, private readonly oversample: number, private readonly budget: number, private readonly id = "wperp") {
    if (!(budget >= 0) || !Number.isFinite(budget)) throw new FwdgradError(`${id}: warmStartBytes must be a finite number ≥ 0, got ${String(budget)}`);
  }

  /**
   * The top `width` eigenvectors of `gram` as rows [width, d], refined from the layer's previous
   * ones (which is why they are state: a resumed run must start from the same).
   */
  gramStart(layer: number, gram: Tensor, width: number): Float32Array {
    const d = gram.shape[0];
    const previous = this.gramStarts.get(layer);
    const top = eigh(gram, { k: width, tol: 1e-4, warmStart: previous ? tensor(previous.values, previous.shape) : undefined });
    const columns = top.vectors.toArray();
    this.gramStarts.set(layer, { shape: [d, width], values: columns });
    const rows = new Float32Array(width * d);
    for (let r = 0; r < d; r++) for (let c = 0; c < width; c++) rows[c * d + r] = columns[r * width + c];
    return rows;
  }

  /**
   * Each example's start [B, w, d] (`stride` = w·d values each): its block from its last visit if
   * kept; `cold` lists the examples without one (their rows are left zero).
   */
  startRows(layer: number, rows: Int32Array | undefined, batch: number, stride: number): { rows: Float32Array; cold: number[] } {
    const cache = this.layerBases(layer);
    const start = new Float32Array(batch * stride);
    const cold: number[] = [];
    for (let b = 0; b < batch; b++) {
      const kept = rows ? cache.get(rows[b]) : undefined;
      if (!kept) {
        cold.push(b);
        continue;
      }
      if (kept.length !== stride) {
        throw new FwdgradError(`${this.id}: the saved block of row ${rows![b]} in hidden layer ${layer} holds ${kept.length} values, expected ${stride} (state from another model)`);
      }
      start.set(kept, b * stride);
    }
    return { rows: start, cold };
  }

  /** Keeps each example's new block (`block`: [B, w, d]) under its data set row, within the budget. */
  remember(layer: number, rows: Int32Array, block: Float32Array): void {
    const cache = this.layerBases(layer);
    const stride = block.length / rows.length;
    rows.forEach((row, b) => {
      const values = block.slice(b * stride, (b + 1) * stride);
      if (cache.has(row)) cache.set(row, values);
      else if (this.bytes + 4 * stride <= this.budget) {
        cache.set(row, values);
        this.bytes += 4 * stride;
      }
    });
  }

  private layerBases(layer: number): Map<number, Float32Array> {
    let cache = this.bases.get(layer);
    if (!cache) this.bases.set(layer, (cache = new Map()));
    return cache;
  }

  /**
   * As named arrays: per layer `warm.<i>` (the Gram's eigenvectors, shape in `warm.<i>.shape`) and
   * `bases.<i>` (every kept example's block, rows in `rows.<i>`, in the cache's order). Kept blocks
   * cost rows × layers × w × d × 4 bytes, layers being those whose next layer is wider than k
   * (MNIST-1D's 4000 rows, depth 3, k 10, w 12: 49 MB at width 128, 197 MB at 512, 786 MB at 2048),
   * at most the budget; base64 in the checkpoint's JSON adds a third.
   */
  state(): EstimatorState {
    const numbers: Record<string, number[]> = {};
    const arrays: Record<string, Float32Array> = {};
    for (const [layer, start] of this.gramStarts) {
      numbers[`warm.${layer}.shape`] = [...start.shape];
      arrays[`warm.${layer}`] = start.values.slice();
    }
    for (const [layer, cache] of this.bases) {
      const stride = cache.size === 0 ? 0 : cache.values().next().value!.length;
      const joined = new Float32Array(cache.size * stride);
      let at = 0;
      for (const values of cache.values()) joined.set(values, (at++) * stride);
      numbers[`rows.${layer}`] = [...cache.keys()];
      arrays[`bases.${layer}`] = joined;
    }
    return { numbers, arrays };
  }

  /**
   * A point to come back to, without copying a block: starts and blocks are replaced on update,
   * never written in place, so keeping the maps' entries is enough.
   */
  statePoint(): () => void {
    const gramStarts = new Map(this.gramStarts);
    const bases = [...this.bases].map(([layer, cache]) => [layer, new Map(cache)] as const);
    const bytes = this.bytes;
    return () => {
      this.gramStarts.clear();
      this.bases.clear();
      for (const [layer, start] of gramStarts) this.gramStarts.set(layer, start);
      for (const [layer, cache] of bases) this.bases.set(layer, new Map(cache));
      this.bytes = bytes;
    };
  }

  /**
   * Replaces everything with a saved `state()`, after checking all of it against a model of layer
   * sizes `sizes`: only hidden layers whose next layer is wider than k keep starts (narrower ones
   * take the thin route), each of the shapes this model's steps would have made.
   */
  restore(saved: EstimatorState, sizes: readonly number[]): void {
    const k = this.k;
    const fail = (why: string): never => {
      throw new FwdgradError(`${this.id}: estimator state: ${why}`);
    };
    const blockOf = (key: string, layer: number) =>
      keptBlock(sizes, layer, k, this.oversample) ?? fail(`"${key}" is for layer ${layer}, which keeps no starts in a model of sizes [${sizes.join(", ")}] with k = ${k}`);
    const gramStarts = new Map<number, GramStart>();
    const bases = new Map<number, Map<number, Float32Array>>();
    for (const key of Object.keys(saved.numbers)) if (!/^(warm\.\d+\.shape|rows\.\d+)$/.test(key)) fail(`unexpected entry "${key}"`);
    for (const [key, values] of Object.entries(saved.arrays)) {
      const match = /^(warm|bases)\.(\d+)$/.exec(key) ?? fail(`unexpected array "${key}"`);
      const layer = Number(match[2]);
      const { d, w } = blockOf(key, layer);
      if (match[1] === "warm") {
        const shape = saved.numbers[`${key}.shape`] ?? fail(`"${key}" has no shape`);
        if (shape.length !== 2 || shape[0] !== d || shape[1] !== w || d * w !== values.length) {
          fail(`"${key}" has shape [${shape.join(", ")}] and ${values.length} values, expected [${d}, ${w}]`);
        }
        gramStarts.set(layer, { shape: [d, w], values: values.slice() });
      } else {
        const rows = saved.numbers[`rows.${layer}`] ?? fail(`"${key}" has no rows`);
        const stride = d * w;
        if (values.length !== rows.length * stride) fail(`"${key}" has ${values.length} values for ${rows.length} rows of ${w} × ${d}`);
        const cache = new Map<number, Float32Array>();
        rows.forEach((row, r) => {
          if (!Number.isSafeInteger(row) || row < 0 || cache.has(row)) fail(`"rows.${layer}" holds ${row}, not a new row index`);
          cache.set(row, values.slice(r * stride, (r + 1) * stride));
        });
        bases.set(layer, cache);
      }
    }
    for (const key of Object.keys(saved.numbers)) {
      const array = key.startsWith("rows.") ? `bases.${key.slice(5)}` : key.slice(0, -".shape".length);
      if (!(array in saved.arrays)) fail(`"${key}" has no array "${array}"`);
    }
    let bytes = 0;
    for (const cache of bases.values()) for (const values of cache.values()) bytes += 4 * values.length;
    if (bytes > this.budget) fail(`its blocks take ${bytes} bytes, more than warmStartBytes = ${this.budget}`);
    this.bytes = bytes;
    this.gramStarts.clear();
    this.bases.clear();
    for (const [layer, start] of gramStarts) this.gramStarts.set(layer, start);
    for (const [layer, cache] of bases) this.bases.set(layer, cache);
  }
}
