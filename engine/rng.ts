// Seeded, splittable random numbers from Philox4x32-10 (Salmon et al., SC 2011). A stream is a key
// (two u32 words) and a 64-bit block counter; each block gives four u32 words. The kernels and their
// TypeScript twins produce the same stream bit for bit in every runtime; the normal transform uses the
// engine's own log/sin/cos, never the host's Math functions, whose last bits differ between engines.
import { engine } from "./backend.ts";
import { FwdgradError } from "./errors.ts";
import { philoxBlock } from "./kernels-ref/random.ts";
import { checkShape, empty, sizeOf, Tensor } from "./tensor.ts";

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

  private draw(kind: "uniform" | "normal", shape: readonly number[]): Tensor {
    checkShape(`rng.${kind}`, shape);
    const n = sizeOf(shape);
    const out = empty(shape);
    const k = engine().k;
    (kind === "uniform" ? k.philox_uniform_f32 : k.philox_normal_f32)(out.ptr, n, this.k0, this.k1, this.c0, this.c1);
    this.advance(Math.ceil(n / 4));
    return out;
  }

  private advance(blocks: number): void {
    const lo = this.c0 + blocks;
    this.c0 = lo % TWO_POW_32;
    this.c1 = (this.c1 + Math.floor(lo / TWO_POW_32)) >>> 0;
  }
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
