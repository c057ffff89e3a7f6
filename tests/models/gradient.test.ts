// The exact gradient by transposition against two oracles: the hand-written reverse pass the library
// used before reverse mode was derived (kept here, in engine ops, as a test oracle only), and f64
// finite differences. Also: each layer's parameter pullback equals the engine's vjp of the layer,
// and the MNIST-1D CNN's gradient equals f64 finite differences of a CNN written out by hand.
import {
  add, backprop, createMlp, forward, dense, div, exp, matmul, max, mul, positiveMask, relu, rng, reluLayer, scale, sequential, softmaxCrossEntropy,
  sub, sum, tensor, vjp, mark, release, mean, lossFor, conv1dLayer, conv2dLayer, createCnn, linearMatrix, parameters, maxPool2dLayer, nextLinear, runModel, type Linear, type Mlp, type Tensor,
} from "../../index.ts";
import { kindOf } from "../../models/index.ts";
import { assert, assertClose, suite } from "../harness.ts";

const Gradient = suite("models: exact gradient by transposition");

/** The former hand-written backprop for mean softmax cross-entropy through a ReLU MLP (oracle). */
function handBackprop(model: Mlp, x: Tensor, labels: Int32Array) {
  const inputs = [x];
  const pre: Tensor[] = [];
  model.layers.forEach((layer, i) => {
    let s = matmul(inputs[i], layer.w, { transB: true });
    if (layer.b) s = add(s, layer.b);
    pre.push(s);
    if (i < model.layers.length - 1) inputs.push(relu(s));
  });
  const z = pre[pre.length - 1];
  const e = exp(sub(z, max(z, 1, { keepdims: true })));
  const p = div(e, sum(e, 1, { keepdims: true }));
  const [rows, classes] = z.shape;
  const onehot = new Float32Array(rows * classes);
  labels.forEach((label, r) => (onehot[r * classes + label] = 1));
  const g: Tensor[] = new Array(model.layers.length);
  g[g.length - 1] = scale(sub(p, tensor(onehot, [rows, classes])), 1 / rows);
  for (let i = g.length - 1; i > 0; i--) g[i - 1] = mul(matmul(g[i], model.layers[i].w), positiveMask(pre[i - 1]));
  return { g, w: g.map((gi, i) => matmul(gi, inputs[i], { transA: true })), b: g.map((gi, i) => (model.layers[i].b ? sum(gi, 0) : null)) };
}

const relative = (a: Float32Array, b: Float32Array) => {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
};

for (const [label, sizes, bias] of [
  ["the W̃⊥ paper's MLP 40 → 128 × 3 → 10", [40, 128, 128, 128, 10], false],
  ["width 512, with biases", [40, 512, 512, 10], true],
  ["Baydin et al.'s shape 784 → 1024 → 10", [784, 1024, 10], false],
] as const) {
  Gradient(`grad equals the hand-written backprop to 1e-6 relative: ${label}`, () => {
    const m = mark();
    const model = createMlp(sizes, { seed: 3, bias });
    const x = rng(4).normal([64, sizes[0]]);
    const labels = Int32Array.from({ length: 64 }, (_, r) => (r * 7) % sizes[sizes.length - 1]);
    const derived = backprop(model, x, labels);
    const hand = handBackprop(model, x, labels);
    model.layers.forEach((_, i) => {
      const w = relative(derived.grads.w[i].toArray(), hand.w[i].toArray());
      assert.ok(w <= 1e-6, `layer ${i} weights: relative difference ${w}`);
      const a = relative(derived.activationGrads[i].toArray(), hand.g[i].toArray());
      assert.ok(a <= 1e-6, `layer ${i} activation gradients: relative difference ${a}`);
      if (bias) assert.ok(relative(derived.grads.b[i]!.toArray(), hand.b[i]!.toArray()) <= 1e-6, `layer ${i} biases`);
    });
    release(m);
  });
}

Gradient("mean squared error: grad against finite differences", () => {
  const m = mark();
  const model = createMlp([5, 7, 3], { seed: 2, bias: true });
  const x = rng(5).normal([4, 5]);
  const targets = rng(6).normal([4, 3]);
  const mse = lossFor("mse");
  const { grads, loss } = backprop(model, x, targets, mse);
  const w = model.layers[0].w.toArray();
  // The loss with layer 0's weights replaced, by a plain forward pass (no differentiation).
  const lossAt = (values: Float32Array) => {
    const replaced = { ...model, layers: [{ ...model.layers[0], w: tensor(values, [7, 5]) }, model.layers[1]] };
    const z = forward(replaced, x).pre[1];
    return mean(mse.perExample(z, targets)).toArray()[0];
  };
  assert.ok(Math.abs(lossAt(w) - loss) < 1e-6, `loss ${loss} vs ${lossAt(w)}`);
  const g = grads.w[0].toArray();
  // Small steps: a larger one crosses a ReLU kink of some example (at j = 6, h = 1e-2 does).
  for (const j of [0, 6, 17, 34]) {
    const h = 1e-3;
    const plus = w.slice(), minus = w.slice();
    plus[j] += h;
    minus[j] -= h;
    const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
    assert.ok(Math.abs(fd - g[j]) <= 2e-3 * (1 + Math.abs(fd)), `∂L/∂W[${j}]: grad ${g[j]}, finite differences ${fd}`);
  }
  release(m);
});

Gradient("each linear layer kind's parameter pullback equals the engine's vjp of the layer; J, Jᵀ and the matrix agree", () => {
  const m = mark();
  const layers: Array<[string, Linear]> = [
    ["dense", dense(6, 4, rng(7), { bias: true })],
    ["conv1d", conv1dLayer(2, 3, 3, 9, rng(7), { stride: 2, padding: 1 })],
    ["conv2d", conv2dLayer(2, 3, [3, 2], [5, 4], rng(7), { stride: [2, 1], padding: [1, 0], dilation: [1, 2] })],
  ];
  for (const [name, layer] of layers) {
    const kind = kindOf(layer);
    const map = kind.map!;
    const [din, dout] = [map.inputSize(layer), map.outputSize(layer)];
    const x = rng(8).normal([5, din]);
    const g = rng(9).normal([5, dout]);
    const [, pullback] = vjp((w: Tensor, b: Tensor) => kind.apply(layer, x, [w, b]), [layer.w, layer.b!]);
    const [dw, db] = pullback([g]);
    const [pw, pb] = map.paramGradients(layer, x, g);
    assertClose(pw!.toArray(), Float64Array.from(dw.toArray()), `${name} weight`, 1e-6, 1e-6);
    assertClose(pb!.toArray(), Float64Array.from(db.toArray()), `${name} bias`, 1e-6, 1e-6);
    // times / transposeTimes are adjoint: ⟨e, J·y⟩ = ⟨Jᵀ·e, y⟩
    const y = rng(10).normal([3, din]), e = rng(11).normal([3, dout]);
    const left = sum(mul(e, map.times(layer, y))).toArray()[0];
    const right = sum(mul(map.transposeTimes(layer, e), y)).toArray()[0];
    assert.ok(Math.abs(left - right) < 1e-4, `${name}: ⟨e, Jy⟩ = ${left}, ⟨Jᵀe, y⟩ = ${right}`);
    // The dense matrix is the same map: y·Jᵀ = J·y row by row, and the layer is J·x + b.
    const matrix = linearMatrix(layer);
    assert.equal(matrix.shape, [dout, din], `${name}: matrix shape`);
    assertClose(matmul(y, matrix, { transB: true }).toArray(), Float64Array.from(map.times(layer, y).toArray()), `${name}: matrix vs times`, 1e-5, 1e-5);
  }
  release(m);
});

Gradient("the MNIST-1D CNN: ConvBase's sizes and parameter count, and backprop against f64 finite differences", () => {
  const m = mark();
  const cnn = createCnn({ channels: 25, seed: 3 });
  assert.equal(cnn.sizes, [40, 475, 250, 125, 10]);
  assert.is(parameters(cnn).reduce((s, p) => s + p.size, 0), 5210, "ConvBase's 5210 parameters");
  const small = createCnn({ channels: 3, seed: 4 });
  const x = rng(5).normal([6, 40]);
  const labels = [0, 3, 9, 1, 1, 7];
  const { loss, grads } = backprop(small, x, Int32Array.from(labels));
  const params = parameters(small);
  const lossWith = (j: number, k: number, h: number): number => {
    const mm = mark();
    const values = params.map((p, i) => {
      const v = Float64Array.from(p.toArray());
      if (i === j) v[k] += h;
      return v;
    });
    // The CNN in f64, written from its definition: three stride-2, padding-1 convolutions and a head.
    const conv = (input: Float64Array[], w: Float64Array, b: Float64Array, cin: number, cout: number, kernel: number) => {
      const len = input[0].length, out = Math.floor((len + 2 - kernel) / 2) + 1;
      return Array.from({ length: cout }, (_, o) => Float64Array.from({ length: out }, (__, t) => {
        let s = b[o];
        for (let c = 0; c < cin; c++) for (let q = 0; q < kernel; q++) {
          const at = 2 * t - 1 + q;
          if (at >= 0 && at < len) s += w[(o * cin + c) * kernel + q] * input[c][at];
        }
        return Math.max(s, 0);
      }));
    };
    const xs = x.toArray();
    let total = 0;
    for (let r = 0; r < 6; r++) {
      let h = [Float64Array.from(xs.subarray(r * 40, r * 40 + 40))];
      h = conv(h, values[0], values[1], 1, 3, 5);
      h = conv(h, values[2], values[3], 3, 3, 3);
      h = conv(h, values[4], values[5], 3, 3, 3);
      const flatH = h.flatMap((c) => [...c]);
      const z = Array.from({ length: 10 }, (_, o) => values[7][o] + flatH.reduce((s, v, i) => s + v * values[6][o * flatH.length + i], 0));
      const top = Math.max(...z);
      total += top + Math.log(z.reduce((s, v) => s + Math.exp(v - top), 0)) - z[labels[r]];
    }
    release(mm);
    return total / 6;
  };
  assert.ok(Math.abs(lossWith(-1, 0, 0) - loss) < 1e-5, `loss ${loss} vs f64 ${lossWith(-1, 0, 0)}`);
  const flatGrads = small.layers.flatMap((_, i) => [grads.w[i], grads.b[i]!]);
  for (const [j, k] of [[0, 0], [0, 7], [1, 2], [2, 11], [3, 1], [4, 20], [5, 0], [6, 5], [7, 9]]) {
    const h = 1e-4;
    const fd = (lossWith(j, k, h) - lossWith(j, k, -h)) / (2 * h);
    const got = flatGrads[j].toArray()[k];
    assert.ok(Math.abs(fd - got) <= 2e-3 * (1 + Math.abs(fd)), `parameter ${j}[${k}]: grad ${got}, finite differences ${fd}`);
  }
  release(m);
});

Gradient("a pooling layer between convolutions: sizes follow it, backprop matches finite differences, and guesses built from the next layer's map refuse it", () => {
  const m = mark();
  const r = rng(21);
  const model = sequential([
    conv2dLayer(1, 3, [3, 3], [6, 6], r.split(0), { padding: 1, bias: false }), reluLayer(), maxPool2dLayer(3, [6, 6], 2),
    conv2dLayer(3, 2, [3, 3], [3, 3], r.split(1), { padding: 1, bias: false }), reluLayer(), dense(18, 4, r.split(2)),
  ]);
  assert.equal(model.sizes, [36, 108, 18, 4], "the sites' outputs; the pool takes 108 features to 27");
  assert.throws(() => sequential([conv2dLayer(1, 3, [3, 3], [6, 6], r.split(0), { padding: 1 }), reluLayer(), maxPool2dLayer(3, [6, 6], 2), dense(108, 4, r.split(2))]), /linear layer 1 takes 108 features, the layer before gives 27/);
  assert.throws(() => nextLinear(model, 0), /linear layer 0's activation reaches linear layer 1 through a maxPool2d layer/);
  assert.is(nextLinear(model, 1), model.layers[2]);
  const x = rng(22).normal([3, 36]);
  const labels = Int32Array.from([0, 3, 1]);
  const { loss, grads } = backprop(model, x, labels);
  const w = model.layers[0].w, values = w.toArray();
  for (const j of [0, 5, 17, 26]) {
    const at = (h: number) => {
      const mm = mark();
      const shifted = values.slice();
      shifted[j] += h;
      const params = [tensor(shifted, w.shape), ...parameters(model).slice(1)];
      const value = mean(softmaxCrossEntropy(runModel(model, x, params).pre[2], labels)).toArray()[0];
      release(mm);
      return value;
    };
    const fd = (at(1e-3) - at(-1e-3)) / 2e-3;
    assert.ok(Math.abs(fd - grads.w[0].toArray()[j]) <= 5e-3 * (1 + Math.abs(fd)), `∂L/∂w[${j}]: ${grads.w[0].toArray()[j]} vs ${fd} (loss ${loss})`);
  }
  release(m);
});

Gradient("sequential models: layers compose, and a bad sequence is refused before any work", () => {
  const m = mark();
  const r = rng(12);
  const model = sequential([dense(3, 5, r.split(0)), reluLayer(), dense(5, 2, r.split(1))]);
  assert.equal(model.sizes, [3, 5, 2]);
  assert.throws(() => sequential([dense(3, 5, r.split(0)), reluLayer()]), /last layer must be linear/);
  assert.throws(() => sequential([dense(3, 5, r.split(0)), dense(4, 2, r.split(1))]), /takes 4 features, the layer before gives 5/);
  assert.ok(softmaxCrossEntropy(matmul(rng(1).normal([2, 2]), rng(2).normal([2, 2])), [0, 1]).size === 2);
  release(m);
});

Gradient.run();
