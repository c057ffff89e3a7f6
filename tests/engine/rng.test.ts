// The Philox generator: Random123's known answers, pinned streams (the same in every runtime),
// the normal transform against an f64 Box–Muller, moments, splitting and state round trips.
import { engine } from "../../engine/backend.ts";
import { philoxBlock } from "../../engine/kernels-ref/random.ts";
import { Rng, rng } from "../../index.ts";
import { assert, assertFwdgradError, assertClose, suite } from "../harness.ts";

const Random = suite("rng");

// Random123 tests/kat_vectors, "philox4x32 10": counter[4], key[2] -> output[4].
const KAT = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

Random("Philox4x32-10 matches Random123's known answers in both kernel sets", () => {
  const b = engine();
  const { ptr } = b.heap.alloc(16);
  for (const [c, k, expected] of KAT) {
    assert.equal([...philoxBlock(k[0], k[1], c[0], c[1], c[2], c[3])], expected, "TS philox");
    for (const kernels of [b.wasm!, b.ref]) {
      kernels.philox_block_u32(ptr, k[0], k[1], c[0], c[1], c[2], c[3]);
      assert.equal([...b.heap.u32().slice(ptr >>> 2, (ptr >>> 2) + 4)], expected, "kernel philox");
    }
  }
});

Random("fixed seeds give the pinned streams", () => {
  const r = rng(20261125);
  assert.equal([...r.uniform([6]).toArray()], [0.22964084148406982, 0.5774602293968201, 0.5497404932975769, 0.0744052529335022, 0.015280663967132568, 0.683724045753479]);
  assert.equal([...r.normal([2, 3]).toArray()], [0.7293881177902222, 0.621583878993988, -0.8950798511505127, -0.13406850397586823, 0.7513208389282227, -0.04679364711046219]);
  assert.equal([...rng(0).split(3).normal([5]).toArray()], [1.0906280279159546, -0.7083866596221924, -0.5420069098472595, 0.7592663168907166, -0.6356740593910217]);
});

Random("uniforms are the top 24 bits of the Philox words; normals match an f64 Box–Muller", () => {
  const seed = 99;
  const n = 4000;
  const u = rng(seed).uniform([n]).toArray();
  const z = rng(seed).normal([n]).toArray();
  const expectedU = new Float64Array(n);
  const expectedZ = new Float64Array(n);
  for (let b = 0; b < n / 4; b++) {
    const w = philoxBlock(seed, 0, b, 0, 0, 0);
    for (let j = 0; j < 4; j++) expectedU[b * 4 + j] = (w[j] >>> 8) / 2 ** 24;
    for (let pair = 0; pair < 2; pair++) {
      const radius = Math.sqrt(-2 * Math.log(((w[2 * pair] >>> 8) + 1) / 2 ** 24));
      const angle = 2 * Math.PI * ((w[2 * pair + 1] >>> 8) / 2 ** 24);
      expectedZ[b * 4 + 2 * pair] = radius * Math.cos(angle);
      expectedZ[b * 4 + 2 * pair + 1] = radius * Math.sin(angle);
    }
  }
  assert.equal([...u], [...expectedU]);
  assertClose(z, expectedZ, "normals", 2e-6, 2e-6);
});

Random("moments: uniform mean 1/2, variance 1/12; normal mean 0, variance 1, kurtosis 3", () => {
  const n = 200_000;
  const r = rng(7);
  const u = r.uniform([n]).toArray();
  const z = r.normal([n]).toArray();
  const moments = (x: Float32Array) => {
    let m = 0;
    for (const v of x) m += v;
    m /= x.length;
    let v2 = 0, v4 = 0;
    for (const v of x) {
      v2 += (v - m) ** 2;
      v4 += (v - m) ** 4;
    }
    return { mean: m, variance: v2 / x.length, kurtosis: v4 / x.length / (v2 / x.length) ** 2 };
  };
  const mu = moments(u), mz = moments(z);
  assert.ok(Math.abs(mu.mean - 0.5) < 0.003, `uniform mean ${mu.mean}`);
  assert.ok(Math.abs(mu.variance - 1 / 12) < 0.002, `uniform variance ${mu.variance}`);
  assert.ok(u.every((v) => v >= 0 && v < 1), "uniform range");
  assert.ok(Math.abs(mz.mean) < 0.01, `normal mean ${mz.mean}`);
  assert.ok(Math.abs(mz.variance - 1) < 0.015, `normal variance ${mz.variance}`);
  assert.ok(Math.abs(mz.kurtosis - 3) < 0.06, `normal kurtosis ${mz.kurtosis}`);
});

Random("draws consume whole blocks; splits are fixed by index; state round-trips", () => {
  const whole = rng(5).uniform([8]).toArray();
  const r = rng(5);
  const halves = [...r.uniform([4]).toArray(), ...r.uniform([4]).toArray()];
  assert.equal(halves, [...whole]);
  const a = rng(5);
  const childBefore = a.split(2).normal([4]).toArray();
  a.normal([100]);
  assert.equal([...a.split(2).normal([4]).toArray()], [...childBefore], "split does not depend on draws");
  assert.not.equal([...a.split(3).normal([4]).toArray()], [...childBefore], "different indices differ");
  assert.not.equal([...rng(6).uniform([4]).toArray()], [...rng(5).uniform([4]).toArray()], "different seeds differ");
  const saved = a.state();
  const next = a.normal([9]).toArray();
  assert.equal([...Rng.fromState(saved).normal([9]).toArray()], [...next]);
  const big = rng(2 ** 40 + 3);
  assert.equal(big.state().key, [3, 256]);
});

Random("bad seeds and states are rejected", () => {
  for (const seed of [-1, 1.5, NaN, 2 ** 53, "3" as unknown as number]) {
    assertFwdgradError(() => rng(seed), /seed/);
  }
  assertFwdgradError(() => rng(1).split(-2));
  assertFwdgradError(() => rng(1).normal([2, -1]), /\[2, -1\]/);
  assertFwdgradError(() => Rng.fromState({ key: [1, 2], counter: [3] } as never));
});

Random.run();
