// numpy's legacy global generator (np.random.seed / RandomState), reproduced for the data sets whose
// published versions were drawn from it: MT19937 (Matsumoto & Nishimura 1998, init_genrand seeding),
// 53-bit uniforms (genrand_res53), polar Box–Muller normals with numpy's cached second value, and
// masked rejection sampling for integers. f64 throughout; log from engine/math64.ts, not the host.
import { log64 } from "../engine/math64.ts";

const N = 624;
const M = 397;

export class NumpyRandom {
  private readonly mt = new Uint32Array(N);
  private index = N;
  private cachedGauss: number | null = null;

  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 · prev + i, mod 2^32, without losing bits in f64.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** genrand_int32: the next tempered 32-bit word. */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let i = 0; i < N; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
        mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits (genrand_res53). */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal by the polar method; every second call returns the cached partner. */
  gauss(): number {
    if (this.cachedGauss !== null) {
      const g = this.cachedGauss;
      this.cachedGauss = null;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.uniform() - 1;
      x2 = 2 * this.uniform() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * log64(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  /** An integer in [0, max] by masked rejection (numpy's rk_interval). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** np.random.permutation(n): Fisher–Yates from the last index down. */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
