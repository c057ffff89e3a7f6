// W̃⊥'s fast route carries two kinds of starting points from step to step (plain arrays: the heap
// is per step): per hidden layer, the top eigenvectors of the shared Gram WᵀW from its last cold
// start, and per data set row, every example's basis from its last visit. Weights move little
// between visits, so an example seen again an epoch later starts from its own subspace.
import { FwdgradError } from "../engine/errors.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { EstimatorState } from "./estimator.ts";

interface GramStart {
  /** [d, columns] */
  shape: number[];
  values: Float32Array;
}

export class WarmStarts {
  private readonly gramStarts = new Map<number, GramStart>();
  private readonly bases = new Map<number, Map<number, Float32Array>>();

  /** k: the basis's columns; oversample: the Gram start's extra columns (at most d in all). */
  constructor(private readonly k: number, private readonly oversample: number) {}

  /** The layer's Gram eigenvectors from its last cold start, if any. */
  gramStart(layer: number): GramStart | undefined {
    return this.gramStarts.get(layer);
  }

  rememberGramStart(layer: number, vectors: Tensor): Float32Array {
    const values = vectors.toArray();
    this.gramStarts.set(layer, { shape: [...vectors.shape], values });
    return values;
  }

  /**
   * Every example's basis from its previous visit, stacked [B, d, k], when all of `rows` were seen
   * before and the layer has a Gram start; else null (a cold start). A column left zero on a visit
   * (fewer active units than k) takes the Gram's eigenvector instead, or it would stay zero for good.
   */
  warmBasis(layer: number, rows: Int32Array | undefined, d: number): Float32Array | null {
    const k = this.k;
    const cache = this.layerBases(layer);
    const shared = this.gramStarts.get(layer);
    if (!rows || !shared) return null;
    const cached: Float32Array[] = [];
    for (const row of rows) {
      const basis = cache.get(row);
      if (!basis) return null;
      if (basis.length !== d * k) {
        throw new FwdgradError(`wperp: the saved bases of hidden layer ${layer} hold ${basis.length} values per example, expected ${d} × ${k} (state from another model)`);
      }
      cached.push(basis);
    }
    const initial = new Float32Array(rows.length * d * k);
    const sharedColumns = shared.shape[1];
    cached.forEach((basis, b) => {
      initial.set(basis, b * d * k);
      for (let col = 0; col < k; col++) {
        let empty = true;
        for (let r = 0; r < d && empty; r++) empty = basis[r * k + col] === 0;
        if (empty) for (let r = 0; r < d; r++) initial[(b * d + r) * k + col] = shared.values[r * sharedColumns + col];
      }
    });
    return initial;
  }

  /** Keeps each example's new basis (`found`: [B, d, k]) under its data set row. */
  rememberBases(layer: number, rows: Int32Array, found: Tensor): void {
    const cache = this.layerBases(layer);
    const values = found.toArray();
    const stride = found.size / rows.length;
    rows.forEach((row, b) => cache.set(row, values.slice(b * stride, (b + 1) * stride)));
  }

  private layerBases(layer: number): Map<number, Float32Array> {
    let cache = this.bases.get(layer);
    if (!cache) this.bases.set(layer, (cache = new Map()));
    return cache;
  }

  /**
   * As named arrays: per layer `warm.<i>` (the Gram's eigenvectors, shape in `warm.<i>.shape`) and
   * `bases.<i>` (every seen example's basis, rows in `rows.<i>`, in the cache's order). A
   * checkpoint at width d holds rows × layers × d × k floats of it, layers being those whose next
   * layer is wider than k (MNIST-1D, depth 3, k 10: 41 MB at width 128, 164 MB at width 512; the
   * checkpoint's JSON, measured, 55 MB and 227 MB).
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
   * Replaces everything with a saved `state()`, after checking all of it against a model of layer
   * sizes `sizes`: only hidden layers whose next layer is wider than k keep starts (narrower ones
   * take the thin route), each of the shapes this model's steps would have made.
   */
  restore(saved: EstimatorState, sizes: readonly number[]): void {
    const k = this.k;
    const fail = (why: string): never => {
      throw new FwdgradError(`wperp: estimator state: ${why}`);
    };
    const widthOf = (key: string, layer: number): number => {
      if (layer > sizes.length - 3 || sizes[layer + 2] <= k) fail(`"${key}" is for layer ${layer}, which keeps no starts in a model of sizes [${sizes.join(", ")}] with k = ${k}`);
      return sizes[layer + 1];
    };
    const gramStarts = new Map<number, GramStart>();
    const bases = new Map<number, Map<number, Float32Array>>();
    for (const key of Object.keys(saved.numbers)) if (!/^(warm\.\d+\.shape|rows\.\d+)$/.test(key)) fail(`unexpected entry "${key}"`);
    for (const [key, values] of Object.entries(saved.arrays)) {
      const match = /^(warm|bases)\.(\d+)$/.exec(key) ?? fail(`unexpected array "${key}"`);
      const layer = Number(match[2]);
      const d = widthOf(key, layer);
      if (match[1] === "warm") {
        const shape = saved.numbers[`${key}.shape`] ?? fail(`"${key}" has no shape`);
        const columns = Math.min(d, k + this.oversample);
        if (shape.length !== 2 || shape[0] !== d || shape[1] !== columns || d * columns !== values.length) {
          fail(`"${key}" has shape [${shape.join(", ")}] and ${values.length} values, expected [${d}, ${columns}]`);
        }
        gramStarts.set(layer, { shape: [d, columns], values: values.slice() });
      } else {
        const rows = saved.numbers[`rows.${layer}`] ?? fail(`"${key}" has no rows`);
        const stride = d * k;
        if (values.length !== rows.length * stride) fail(`"${key}" has ${values.length} values for ${rows.length} rows of ${d} × ${k}`);
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
    this.gramStarts.clear();
    this.bases.clear();
    for (const [layer, start] of gramStarts) this.gramStarts.set(layer, start);
    for (const [layer, cache] of bases) this.bases.set(layer, cache);
  }
}
