// Drawn tensors: the values of Rng.drawn are those of rng.normal / rng.rademacher at the same stream
// position, bit for bit, whoever reads them and however often; a product with a drawn operand equals
// the product with the draw stored, in jvp and in its transpose (duality), without storing it;
// combineDraws equals the stored matmul-then-scale; Rademacher values have the moments they should.
import { engine } from "../../engine/backend.ts";
import { combineDraws } from "../../engine/rng.ts";
import { view } from "../../engine/tensor.ts";
import { heapBytes, heapPeakBytes, jvp, mark, matmul, release, resetHeapPeak, rng, scale, sum, tensor, tidy, vjp, type Tensor } from "../../index.ts";
import { assert, assertFwdgradError, assertSameBits, inputs, suite } from "../harness.ts";

const Drawn = suite("drawn tensors");

for (const distribution of ["normal", "rademacher"] as const) {
  Drawn(`${distribution}: drawn values are the stored draw's, and the stream advances alike`, () => {
    for (const shape of [[1], [3, 5], [4, 17], [2, 65, 3], [130]]) {
      const a = rng(7).split(2), b = rng(7).split(2);
      const drawn = a.drawn(shape, distribution);
      const stored = distribution === "normal" ? b.normal(shape) : b.rademacher(shape);
      assert.ok(drawn.deferred?.draw, "deferred with its draw");
      assertSameBits(drawn.toArray(), stored.toArray(), `${distribution} ${shape}`);
      assert.equal(a.state(), b.state(), "both streams moved by the same blocks");
      assertSameBits(a.normal([9]).toArray(), b.normal([9]).toArray(), "the next draws agree");
    }
  });
}

Drawn("a drawn tensor is made in its reader's scope and again after that scope is gone; views and tidy keep it deferred", () => {
  const v = rng(3).drawn([64, 33]);
  const expected = rng(3).normal([64, 33]).toArray();
  const base = heapBytes();
  const m = mark();
  assertSameBits(v.toArray(), expected, "first read");
  assert.ok(heapBytes() > base, "made on the heap while read");
  release(m);
  assert.is(heapBytes(), base, "freed with the reader's scope");
  assertSameBits(v.toArray(), expected, "read again after its scope was released: made again");
  const reshaped = view(v, [33, 64]);
  assert.ok(reshaped.deferred, "a view of a drawn tensor is drawn");
  assertSameBits(reshaped.toArray(), expected, "a view's values");
  const kept = tidy(() => v);
  assert.is(kept, v, "tidy returns it");
  assertSameBits(kept.toArray(), expected, "kept by tidy without a copy");
  assert.ok(String(rng(3).drawn([2])).startsWith("Tensor([2]) ["), "prints its values");
});

/** ⟨a, b⟩ in f64. */
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

Drawn("x·Vᵀ with V drawn (K directions) equals it with V stored, bit for bit, without storing V", () => {
  for (const [m, k, n, K] of [[1, 1, 1, 1], [5, 17, 3, 1], [64, 65, 4, 3], [3, 784, 33, 2]]) {
    for (const distribution of ["normal", "rademacher"] as const) {
      const x = tensor(inputs(m + k + n).uniform(m * k), [m, k]);
      const w = tensor(inputs(n).uniform(n * k), [n, k]);
      const f = (xx: Tensor, ww: Tensor) => matmul(xx, ww, { transB: true });
      const outer = mark();
      // Peak heap of each route, the drawing included: the drawn one lacks the stored draw.
      let before = heapBytes();
      resetHeapPeak();
      const stored = distribution === "normal" ? rng(11).normal([K, n, k]) : rng(11).rademacher([K, n, k]);
      const [, viaStored] = jvp(f, [x, w], [null, stored]);
      const extraStored = heapPeakBytes() - before;
      before = heapBytes();
      resetHeapPeak();
      const drawn = rng(11).drawn([K, n, k], distribution);
      const [, viaDrawn] = jvp(f, [x, w], [null, drawn]);
      const extraDrawn = heapPeakBytes() - before;
      assertSameBits(viaDrawn.toArray(), viaStored.toArray(), `${m}x${k}x${n} K=${K} ${distribution}`);
      // The drawn product's scratch is one row of a panel (1 KiB) more than gemm's, per thread.
      assert.ok(extraDrawn + 4 * K * n * k <= extraStored + 8192, `the draw was not stored: ${extraDrawn} bytes against ${extraStored} with the draw stored`);
      // Duality on the stored route's transpose: ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ with v the drawn tangent.
      if (K === 1) {
        const u = tensor(inputs(m * n).uniform(m * n), [m, n]);
        const [, pullback] = vjp((ww: Tensor) => f(x, ww), [w]);
        const [wBar] = pullback(u);
        const lhs = dot(u.toArray(), viaDrawn.toArray());
        const rhs = dot(wBar.toArray(), drawn.toArray());
        assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (Math.abs(lhs) + 1), `duality ${lhs} vs ${rhs}`);
      }
      release(outer);
    }
  }
});

Drawn("combineDraws: scale·Σ_k c_k·V_k equals matmul then scale over the stored draws, deferred", () => {
  for (const [K, size] of [[1, 1], [1, 1031], [3, 17], [4, 4096]]) {
    const c = inputs(K * size).uniform(K, -2, 2);
    const v = rng(5).drawn([K, size]);
    const combined = combineDraws(v, c, 1 / K);
    assert.ok(combined.deferred, "deferred");
    const stored = scale(matmul(tensor(c, [1, K]), rng(5).normal([K, size])), 1 / K);
    assertSameBits(combined.toArray(), stored.toArray(), `K=${K} size=${size}`);
  }
  assertFwdgradError(() => combineDraws(tensor([1, 2]), new Float32Array(1), 1), /combineDraws: expected a drawn tensor/);
  assertFwdgradError(() => combineDraws(rng(0).drawn([2, 3]), new Float32Array(3), 1), /combineDraws: 3 coefficients for 2 draws/);
  assertFwdgradError(() => rng(0).drawn([2], "cauchy" as never), /rng.drawn: distribution must be "normal" or "rademacher"/);
});

Drawn("rademacher values are ±1 with mean 0 and variance 1, and independent signs", () => {
  const n = 1 << 16;
  const v = rng(42).rademacher([n]).toArray();
  assert.ok(v.every((s) => s === 1 || s === -1), "±1 only");
  const mean = v.reduce((a, s) => a + s, 0) / n;
  // Mean of n independent signs: standard deviation 1/√n; 5 of them is a failure by chance once in ~10^6.
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `mean ${mean}`);
  let lag = 0;
  for (let i = 1; i < n; i++) lag += v[i] * v[i - 1];
  assert.ok(Math.abs(lag / (n - 1)) < 5 / Math.sqrt(n), `lag-1 correlation ${lag / (n - 1)}`);
  // Every bit position of the words is used: signs 32 apart are uncorrelated too.
  let far = 0;
  for (let i = 32; i < n; i++) far += v[i] * v[i - 32];
  assert.ok(Math.abs(far / (n - 32)) < 5 / Math.sqrt(n), `lag-32 correlation ${far / (n - 32)}`);
  assert.is(sum(tensor(v)).toArray()[0], v.reduce((a, s) => a + s, 0), "sum");
  assert.ok(engine().k.philox_sign_f32, "kernel present");
});
Drawn.run();
