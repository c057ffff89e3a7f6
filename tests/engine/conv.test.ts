// Convolutions beyond the primitive table's rows: a batch large enough to lower in chunks gives the
// bits of example-by-example calls (forward, input adjoint) and the f64 sums (weight adjoint); the
// same bits at every thread count; conv1d is conv2d of height 1; and the transpose is PyTorch's
// conv_transpose, checked against a hand-computed case.
import { conv1d, conv1dTranspose, conv2d, grad, mark, release, sum, mul, tensor, reshape, type Tensor } from "../../index.ts";
import { assert, assertSameBits, inputs, suite } from "../harness.ts";

const Conv = suite("convolutions: lowering in chunks, 1-D as 2-D, a worked transpose");

Conv("a batch lowered in chunks equals each example alone (forward, input adjoint) and the f64 sum (weight adjoint)", () => {
  const m = mark();
  // 40 examples of 16×28×28 by 3×3: 40 × 784 × 144 patch floats, over the 2^22 of one chunk.
  const [n, c, h, w, o] = [40, 16, 28, 28, 4];
  const x = tensor(inputs(1).uniform(n * c * h * w), [n, c, h, w]);
  const k = tensor(inputs(2).uniform(o * c * 9), [o, c, 3, 3]);
  const y = conv2d(x, k, { padding: 1 });
  const rows = y.toArray(), per = o * h * w;
  for (const b of [0, 17, 39]) {
    const alone = conv2d(tensor(x.toArray().slice(b * c * h * w, (b + 1) * c * h * w), [1, c, h, w]), k, { padding: 1 });
    assertSameBits(rows.slice(b * per, (b + 1) * per), alone.toArray(), `forward, example ${b}`);
  }
  // The weight gradient of Σ y·u is the weight adjoint of u: compare with f64 sums.
  const u = tensor(inputs(3).uniform(n * per), [n, o, h, w]);
  const gk = grad((kk: Tensor) => sum(mul(conv2d(x, kk, { padding: 1 }), u)))(k) as Tensor;
  const xs = x.toArray(), us = u.toArray(), expected = new Float64Array(o * c * 9), magnitude = new Float64Array(o * c * 9);
  for (let b = 0; b < n; b++) for (let oo = 0; oo < o; oo++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const uv = us[((b * o + oo) * h + i) * w + j];
    for (let cc = 0; cc < c; cc++) for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) {
      const r = i - 1 + p, s = j - 1 + q;
      if (r < 0 || r >= h || s < 0 || s >= w) continue;
      const e = ((oo * c + cc) * 3 + p) * 3 + q, term = uv * xs[((b * c + cc) * h + r) * w + s];
      expected[e] += term;
      magnitude[e] += Math.abs(term);
    }
  }
  // An f32 sum of 31,360 terms: its error is bounded by a few ulps of the sum of their magnitudes.
  gk.toArray().forEach((v, e) => assert.ok(Math.abs(v - expected[e]) <= 1e-6 * magnitude[e], `weight adjoint ${e}: ${v} vs ${expected[e]} (Σ|terms| ${magnitude[e]})`));
  const gx = grad((xx: Tensor) => sum(mul(conv2d(xx, k, { padding: 1 }), u)))(x) as Tensor;
  const one = grad((xx: Tensor) => sum(mul(conv2d(xx, k, { padding: 1 }), tensor(us.slice(39 * per), [1, o, h, w]))))(tensor(xs.slice(39 * c * h * w), [1, c, h, w])) as Tensor;
  assertSameBits(gx.toArray().slice(39 * c * h * w), one.toArray(), "input adjoint, last example");
  release(m);
});

Conv("conv1d is conv2d of an image of height 1", () => {
  const m = mark();
  const x = tensor(inputs(4).uniform(5 * 3 * 40), [5, 3, 40]);
  const k = tensor(inputs(5).uniform(7 * 3 * 5), [7, 3, 5]);
  const options = { stride: 2, padding: 1, dilation: 2 };
  const one = conv1d(x, k, options);
  const two = conv2d(reshape(x, [5, 3, 1, 40]), reshape(k, [7, 3, 1, 5]), { stride: [1, 2], padding: [0, 1], dilation: [1, 2] });
  assert.equal(one.shape, [5, 7, 17]); // ⌊(40 + 2 − 2·4 − 1) / 2⌋ + 1
  assertSameBits(one.toArray(), two.toArray(), "conv1d vs conv2d");
  release(m);
});

Conv("conv1dTranspose of a unit impulse places the kernel at stride steps (a worked case)", () => {
  const m = mark();
  // One channel, kernel [1, 2, 3], stride 2, padding 1, input length 5: outputs at positions 0..2.
  // Output position j reads inputs 2j − 1 + t for taps t = 0, 1, 2, so its transpose adds w[t] there.
  const w = tensor([1, 2, 3], [1, 1, 3]);
  const y = tensor([0, 1, 0], [1, 1, 3]);
  assert.equal(Array.from(conv1dTranspose(y, w, 5, { stride: 2, padding: 1 }).toArray()), [0, 1, 2, 3, 0]);
  const y2 = tensor([1, 0, 10], [1, 1, 3]);
  assert.equal(Array.from(conv1dTranspose(y2, w, 5, { stride: 2, padding: 1 }).toArray()), [2, 3, 0, 10, 20]);
  release(m);
});

Conv.run();
