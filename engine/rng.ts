// Seeded, splittable random numbers from Philox4x32-10 (Salmon et al., SC 2011). A stream is a key
// (two u32 words) and a 64-bit block counter; each block gives four u32 words. The kernels and their
// TypeScript twins produce the same stream bit for bit in every runtime; the normal transform uses the
// engine's own log/sin/cos, never the host's Math functions, whose last bits differ between engines.
import { engine } from "./backend.ts";
import { FwdgradError } from "./errors.ts";
import { philoxBlock } from "./kernels-ref/random.ts";
import { checkShape, deferred, DIST_CODE, empty, sizeOf, type Draw, Tensor } from "./tensor.ts";

// Counter word 3 of key-derivation blocks; sample blocks keep it 0, so the two never collide.
const SPLIT_TAG = 0x5eed5eed;
const TWO_POW_32 = 2 ** 32;

/** A serialisable stream position, for checkpoints: `Rng.fromState(r.state())` continues where `r` is. */
export interface RngState {
  /** The stream's key, two u32 words. */
  key: [number, number];
  /** The 64-bit block counter as two u32 words, low first. */
  counter: [number, number];
}

/** A Philox4x32-10 stream: a key and a block counter; draws uniform or normal tensors, splits into independent streams. */
export class Rng {
  private readonly k0: number;
  private readonly k1: number;
  private c0: number;
  private c1: number;

  private constructor(k0: number, k1: number, c0 = 0, c1 = 0) {
    this.k0 = k0 >>> 0;
    this.k1 = k1 >>> 0;
    this.c0 = c0 >>> 0;
    this.c1 = c1 >>> 0;
  }

  /** The stream for an integer seed in [0, 2^53). */
  static fromSeed(seed: number): Rng {
    if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
      throw new FwdgradError(`rng: seed must be an integer in [0, 2^53), got ${String(seed)}`);
    }
    return new Rng(seed % TWO_POW_32, Math.floor(seed / TWO_POW_32));
  }

  /**
   * The stream at a saved position (`state()`).
   * @throws {FwdgradError} when `state` is not `{ key: [u32, u32], counter: [u32, u32] }`.
   */
  static fromState(state: RngState): Rng {
    const words = [...(state?.key ?? []), ...(state?.counter ?? [])];
    if (words.length !== 4 || words.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw new FwdgradError("Rng.fromState: expected { key: [u32, u32], counter: [u32, u32] }");
    }
    return new Rng(words[0], words[1], words[2], words[3]);
  }

  /** This stream's position, to continue from with {@link Rng.fromState}. */
  state(): RngState {
    return { key: [this.k0, this.k1], counter: [this.c0, this.c1] };
  }

  /**
   * An independent stream derived from this one's key and `index` alone: the same index always gives
   * the same child, whatever has been drawn, so layers or workers can split without coordinating.
   * @throws {FwdgradError} when `index` is not an integer in [0, 2^53).
   */
  split(index: number): Rng {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new FwdgradError(`Rng.split: index must be an integer in [0, 2^53), got ${String(index)}`);
    }
    const w = philoxBlock(this.k0, this.k1, index % TWO_POW_32, Math.floor(index / TWO_POW_32), 0, SPLIT_TAG);
    return new Rng(w[0], w[1]);
  }

  /**
   * Uniform values in [0, 1) with 24 random bits each, as a new tensor of `shape`; advances the stream.
   * @throws {FwdgradError} when `shape` is not an array of non-negative integers, or the engine is not ready.
   */
  uniform(shape: readonly number[]): Tensor {
    return this.draw("uniform", shape);
  }

  /**
   * Standard normal values (Box–Muller), as a new tensor of `shape`; advances the stream.
   * @throws {FwdgradError} when `shape` is not an array of non-negative integers, or the engine is not ready.
   */
  normal(shape: readonly number[]): Tensor {
    return this.draw("normal", shape);
  }

  /**
   * Rademacher values ±1, each with probability ½ (mean 0, variance 1), as a new tensor of `shape`; advances the stream.
   * @throws {FwdgradError} when `shape` is not an array of non-negative integers, or the engine is not ready.
   */
  rademacher(shape: readonly number[]): Tensor {
    return this.draw("rademacher", shape);
  }

  /**
   * The next draws of `shape` from `distribution` as a deferred tensor: nothing is drawn now. A product
   * with it (matmul with the draw as its transposed right operand) draws its panels as it needs them;
   * any other reader makes the values in its own scope. The same values as `normal` or `rademacher`
   * at this position, bit for bit; advances the stream as they would.
   * @throws {FwdgradError} when `shape` is not an array of non-negative integers, or the distribution is unknown.
   * @example
   * ```ts
   * const v = rng(0).drawn([8, 784, 1024], "rademacher"); // 25 MB of tangents, none stored
   * ```
   */
  drawn(shape: readonly number[], distribution: Draw["distribution"] = "normal"): Tensor {
    checkShape("rng.drawn", shape);
    if (distribution !== "normal" && distribution !== "rademacher") {
      throw new FwdgradError(`rng.drawn: distribution must be "normal" or "rademacher", got ${String(distribution)}`);
    }
    const n = sizeOf(shape);
    const draw: Draw = { distribution, key: [this.k0, this.k1], counter: [this.c0, this.c1] };
    const kernel = distribution === "normal" ? "philox_normal_f32" : "philox_sign_f32";
    const [k0, k1, c0, c1] = [this.k0, this.k1, this.c0, this.c1];
    this.advance(blocksFor(distribution, n));
    return deferred(shape, { draw, fill: (into) => engine().k[kernel](into.ptr, n, k0, k1, c0, c1) });
  }

  private draw(kind: "uniform" | Draw["distribution"], shape: readonly number[]): Tensor {
    checkShape(`rng.${kind}`, shape);
    const n = sizeOf(shape);
    const out = empty(shape);
    const k = engine().k;
    const kernel = kind === "uniform" ? k.philox_uniform_f32 : kind === "normal" ? k.philox_normal_f32 : k.philox_sign_f32;
    kernel(out.ptr, n, this.k0, this.k1, this.c0, this.c1);
    this.advance(blocksFor(kind, n));
    return out;
  }

  private advance(blocks: number): void {
    const lo = this.c0 + blocks;
    this.c0 = lo % TWO_POW_32;
    this.c1 = (this.c1 + Math.floor(lo / TWO_POW_32)) >>> 0;
  }
}

/**
 * scale·Σ_k c[k]·V[k] for a drawn tensor V of shape [K, ...S] (`Rng.drawn`), deferred like V: when
 * read, the kernel draws V again chunk by chunk and combines it, never holding more than a chunk of
 * V. The bits of matmul([1, K]·[K, |S|]) then scale over V drawn and stored. A forward gradient's
 * update Σ_k c_k·V_k, one layer at a time.
 * @throws {FwdgradError} when V is not a drawn tensor of rank ≥ 1 with one coefficient per leading entry.
 */
export function combineDraws(v: Tensor, coefficients: Float32Array, scale: number): Tensor {
  const draw = v.deferred?.draw;
  if (!draw || v.rank < 1) throw new FwdgradError("combineDraws: expected a drawn tensor (Rng.drawn) of rank ≥ 1");
  const [count, ...shape] = v.shape;
  if (coefficients.length !== count) throw new FwdgradError(`combineDraws: ${coefficients.length} coefficients for ${count} draws`);
  const size = sizeOf(shape);
  const c = coefficients.slice();
  return deferred(shape, {
    fill(into) {
      const { heap, k } = engine();
      const start = heap.mark();
      try {
        const coefPtr = heap.alloc(count * 4).ptr;
        heap.f32().set(c, coefPtr >>> 2);
        const work = heap.alloc(k.drawn_combination_scratch_f32() * 4).ptr;
        k.drawn_combination_f32(into.ptr, work, coefPtr, count, size, 0, size, scale, DIST_CODE[draw.distribution], ...draw.key, ...draw.counter);
      } finally {
        heap.release(start);
      }
    },
  });
}

/** Philox blocks that n values take: four uniform or normal values a block, 128 signs. */
function blocksFor(kind: "uniform" | Draw["distribution"], n: number): number {
  return Math.ceil(n / (kind === "rademacher" ? 128 : 4));
}

/**
 * A seeded random stream, identical in every runtime.
 * @throws {FwdgradError} when `seed` is not an integer in [0, 2^53).
 * @example
 * ```ts
 * const r = rng(42);
 * const noise = r.normal([4, 3]);     // the same numbers in Node, Deno, Bun and browsers
 * const perLayer = [0, 1, 2].map((i) => r.split(i));
 * ```
 */
export function rng(seed: number): Rng {
  return Rng.fromSeed(seed);
}
