// The estimators on convolutional layers. A conv layer's map, as the estimators take it, against a
// dense Jacobian written from the convolution's definition in f64; its Gram operator by products
// against the formed Gram; W̃⊥'s guess covariance on a conv
// layer (exact and fast routes) against the top-k projector of each example's M·JᵀJ·M built from
// that Jacobian; Wᵀ's covariance applied by a convolution and its transpose; and the unbiased
// estimators (weight perturbation of conv weights, activation perturbation) averaging to the true
// gradient of the CNN at the rate their variance predicts.
import { backprop, createCnn, createEstimator, estimateStep, linearMatrix, mark, prepareStep, release, rng, type EstimatorId } from "../../index.ts";
import type { Conv } from "../../models/conv.ts";
import { mul, reshape } from "../../engine/ops.ts";
import { gramOperator } from "../../estimators/wperp/gram.ts";
import { maskedTopK } from "../../estimators/wperp/subspace.ts";
import { denseTop } from "../oracles.ts";
import { assert, suite } from "../harness.ts";

const ConvEstimators = suite("estimators on convolutional layers");

// conv 1→3 (kernel 5), conv 3→3 (kernel 3), both stride 2, padding 1, on signals of 24: sizes [24, 33, 18, 3].
const cnn = () => createCnn({ length: 24, channels: 3, convs: 2, classes: 3, bias: false, seed: 5 });
const BATCH = 8;
const x = () => rng(6).normal([BATCH, 24]);
const LABELS = Int32Array.from([0, 2, 1, 1, 0, 2, 2, 0]);

/** Conv layer `layer`'s Jacobian [out, in] in f64, from the definition: output (o, t) reads input (c, stride·t − padding + q). */
function denseConvJacobian(layer: Conv): { j: Float64Array; rows: number; cols: number } {
  const [out, channels, kernel] = layer.w.shape;
  const w = layer.w.toArray(), length = layer.input[0];
  const positions = Math.floor((length + 2 * layer.padding[0] - kernel) / layer.stride[0]) + 1;
  const rows = out * positions, cols = channels * length;
  const j = new Float64Array(rows * cols);
  for (let o = 0; o < out; o++) for (let t = 0; t < positions; t++) for (let c = 0; c < channels; c++) for (let q = 0; q < kernel; q++) {
    const s = layer.stride[0] * t - layer.padding[0] + q;
    if (s >= 0 && s < length) j[(o * positions + t) * cols + c * length + s] += w[(o * channels + c) * kernel + q];
  }
  return { j, rows, cols };
}

ConvEstimators("a conv layer's matrix is its dense Jacobian from the definition", () => {
  const m = mark();
  const model = cnn();
  const layer = model.layers[1] as Conv;
  const { j, rows, cols } = denseConvJacobian(layer);
  const got = linearMatrix(layer);
  assert.equal(got.shape, [rows, cols]);
  got.toArray().forEach((v, i) => assert.ok(Math.abs(v - j[i]) <= 1e-7 * (1 + Math.abs(j[i])), `entry ${i}: ${v} vs ${j[i]}`));
  release(m);
});

ConvEstimators("W̃⊥ on a conv layer: V_kV_kᵀ equals the top-k projector of M·JᵀJ·M from the dense f64 Jacobian (exact and fast routes)", () => {
  const m = mark();
  const model = cnn();
  const input = prepareStep(model, x(), LABELS, rng(7));
  const { j, rows, cols: d } = denseConvJacobian(model.layers[1] as Conv);
  const masks = input.masks[0].toArray();
  const k = 4;
  for (const route of ["exact", "fast"] as const) {
    const basis = createEstimator("wperp", { k, route }).covariance(input, 0)!.basis()!.toArray();
    let worst = 0;
    for (let b = 0; b < BATCH; b++) {
      // G = M·JᵀJ·M in f64, its top-k eigenvectors, and the projector they span.
      const g = new Float64Array(d * d);
      for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += j[r * d + p] * j[r * d + q];
        g[p * d + q] = masks[b * d + p] * s * masks[b * d + q];
      }
      const top = denseTop(g, d);
      assert.ok(top.values[k - 1] - top.values[k] > 1e-3 * top.values[0], `example ${b}: a gap after σ_${k}² (${top.values.slice(0, k + 1).join(", ")})`);
      for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) {
        let expected = 0, got = 0;
        for (let e = 0; e < k; e++) {
          const v = top.vector(e);
          expected += v[p] * v[q];
          got += basis[(b * d + p) * k + e] * basis[(b * d + q) * k + e];
        }
        worst = Math.max(worst, Math.abs(got - expected));
      }
    }
    assert.ok(worst <= 1e-4, `${route}: largest covariance difference ${worst}`);
  }
  release(m);
});

ConvEstimators("a conv layer's Gram operator: products by J and Jᵀ equal the formed Gram's, and LOBPCG finds one subspace with either", () => {
  const m = mark();
  const model = cnn();
  const layer = model.layers[1];
  const input = prepareStep(model, x(), LABELS, rng(7));
  const masks = input.masks[0];
  const [formed, products] = [gramOperator(layer), gramOperator(layer, 0)];
  const d = formed.size;
  assert.is(products.size, d);
  const rows = mul(rng(9).normal([BATCH, 5, d]), reshape(masks, [BATCH, 1, d]));
  const [a, b] = [formed.masked(rows, masks).toArray(), products.masked(rows, masks).toArray()];
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * (1 + Math.abs(v)), `masked product ${i}: ${v} vs ${b[i]}`));
  const start = rng(10).normal([BATCH, 6, d]);
  const found = [formed, products].map((g) => maskedTopK(g, masks, start, { k: 4, tol: 1e-4, maxIter: 200 }).vectors.toArray());
  // Projectors V·Vᵀ agree (the vectors' signs may differ).
  for (let e = 0; e < BATCH; e++) for (let p = 0; p < d; p += 7) for (let q = 0; q < d; q += 5) {
    const projector = (v: Float32Array) => Array.from({ length: 4 }, (_, c) => v[(e * d + p) * 4 + c] * v[(e * d + q) * 4 + c]).reduce((s, t) => s + t, 0);
    assert.ok(Math.abs(projector(found[0]) - projector(found[1])) <= 1e-3, `example ${e} (${p}, ${q})`);
  }
  release(m);
});

ConvEstimators("Wᵀ on a conv layer: its covariance applies M·JᵀJ·M by a convolution and its transpose", () => {
  const m = mark();
  const model = cnn();
  const input = prepareStep(model, x(), LABELS, rng(7));
  const { j, rows, cols: d } = denseConvJacobian(model.layers[1] as Conv);
  const masks = input.masks[0].toArray();
  const g = rng(8).normal([BATCH, d]);
  const got = createEstimator("wt").covariance(input, 0)!.times(g).toArray();
  const gv = g.toArray();
  for (let b = 0; b < BATCH; b++) {
    const jm = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let q = 0; q < d; q++) jm[r] += j[r * d + q] * masks[b * d + q] * gv[b * d + q];
    for (let p = 0; p < d; p++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += j[r * d + p] * jm[r];
      const expected = masks[b * d + p] * s;
      assert.ok(Math.abs(got[b * d + p] - expected) <= 1e-5 * (1 + Math.abs(expected)), `example ${b}, entry ${p}: ${got[b * d + p]} vs ${expected}`);
    }
  }
  release(m);
});

ConvEstimators("unbiased estimators on the CNN average to its true gradient at the predicted rate", () => {
  const m = mark();
  const model = cnn();
  const inputs = x();
  const truth = backprop(model, inputs, LABELS).grads.w.map((t) => t.toArray());
  for (const id of ["forward-gradient", "activation-perturbation"] as EstimatorId[]) {
    const draws = 300;
    const estimator = createEstimator(id, { guesses: 16 });
    const sums = truth.map((t) => new Float64Array(t.length)), squares = truth.map((t) => new Float64Array(t.length));
    for (let d = 0; d < draws; d++) {
      const scope = mark();
      estimateStep(estimator, prepareStep(model, inputs, LABELS, rng(100).split(d))).grads.w.forEach((g, i) => g.toArray().forEach((v, e) => {
        sums[i][e] += v / draws;
        squares[i][e] += (v * v) / draws;
      }));
      release(scope);
    }
    truth.forEach((g, i) => {
      const variance = sums[i].reduce((s, mu, e) => s + squares[i][e] - mu * mu, 0);
      const error = sums[i].reduce((s, v, e) => s + (v - g[e]) ** 2, 0);
      // Unbiased: E‖mean − g‖² = Σ Var / draws.
      const ratio = error / (variance / draws);
      assert.ok(ratio > 0.4 && ratio < 2.2, `${id} layer ${i}: squared error / predicted = ${ratio}`);
    });
  }
  release(m);
});

ConvEstimators.run();
