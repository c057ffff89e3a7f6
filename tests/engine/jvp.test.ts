// jvp: several directions at once equal the same directions one at a time; full Jacobians of a small
// MLP from forward-mode columns equal f64 finite differences; the contract's edge cases.
import { add, jvp, matmul, mean, mul, relu, softmaxCrossEntropy, sum, tensor, zeros, type Tensor } from "../../index.ts";
import { assert, assertFwdgradError, assertClose, assertSameBits, inputs, suite } from "../harness.ts";

const Jvp = suite("jvp");

// A two-layer MLP: x [4, 3] -> relu(x·W1 + b1) [4, 5] -> ·W2 [4, 2].
const X = inputs(1).uniform(12, -1, 1);
const mlp = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor) => matmul(relu(add(matmul(x, w1), b1)), w2);

function mlp64(x: Float64Array, w1: Float64Array, b1: Float64Array, w2: Float64Array): Float64Array {
  const out = new Float64Array(8);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 5; h++) {
      let z = b1[h];
      for (let i = 0; i < 3; i++) z += x[r * 3 + i] * w1[i * 5 + h];
      const a = Math.max(z, 0);
      for (let o = 0; o < 2; o++) out[r * 2 + o] += a * w2[h * 2 + o];
    }
  }
  return out;
}

const params = () => {
  const r = inputs(2);
  return { w1: r.uniform(15), b1: r.uniform(5, -0.1, 0.1), w2: r.uniform(10) };
};

function identityRows(n: number, offset: number, total: number): Float32Array {
  const out = new Float32Array(total * n);
  for (let c = 0; c < n; c++) out[(offset + c) * n + c] = 1;
  return out;
}

Jvp("several directions equal the same directions one at a time, bit for bit", () => {
  const { w1, b1, w2 } = params();
  const primals = [tensor(X, [4, 3]), tensor(w1, [3, 5]), tensor(b1, [5]), tensor(w2, [5, 2])];
  const D = 6;
  const r = inputs(3);
  const dirs = primals.map((p) => r.uniform(D * p.size));
  const loss = (x: Tensor, a: Tensor, b: Tensor, c: Tensor) => mean(softmaxCrossEntropy(mlp(x, a, b, c), [0, 1, 1, 0]));
  const [, many] = jvp(loss, primals, primals.map((p, i) => tensor(dirs[i], [D, ...p.shape])));
  const stacked = many.toArray();
  for (let d = 0; d < D; d++) {
    const one = primals.map((p, i) => tensor(dirs[i].slice(d * p.size, (d + 1) * p.size), p.shape));
    const [, single] = jvp(loss, primals, one);
    assertSameBits(single.toArray(), stacked.slice(d, d + 1), `direction ${d}`);
  }
});

Jvp("the full Jacobian of an MLP from forward-mode columns equals f64 finite differences", () => {
  const { w1, b1, w2 } = params();
  const n = 15 + 5 + 10;
  const primals = [tensor(X, [4, 3]), tensor(w1, [3, 5]), tensor(b1, [5]), tensor(w2, [5, 2])];
  // One direction per parameter: the identity, split across the three parameter tensors.
  const tangents = [null, tensor(identityRows(15, 0, n), [n, 3, 5]), tensor(identityRows(5, 15, n), [n, 5]), tensor(identityRows(10, 20, n), [n, 5, 2])];
  const [out, jac] = jvp(mlp, primals, tangents);
  assert.equal(jac.shape, [n, 4, 2]);
  const p64 = [Float64Array.from(w1), Float64Array.from(b1), Float64Array.from(w2)];
  const x64 = Float64Array.from(X);
  assertClose(out.toArray(), mlp64(x64, p64[0], p64[1], p64[2]), "outputs", 1e-5, 1e-6);
  const columns = jac.toArray();
  const h = 1e-6;
  let col = 0;
  for (let t = 0; t < 3; t++) {
    for (let j = 0; j < p64[t].length; j++, col++) {
      const shifted = (s: number) => {
        const ps = p64.map((p) => p.slice());
        ps[t][j] += s;
        return mlp64(x64, ps[0], ps[1], ps[2]);
      };
      const plus = shifted(h), minus = shifted(-h);
      const fd = plus.map((v, i) => (v - minus[i]) / (2 * h));
      assertClose(columns.slice(col * 8, col * 8 + 8), fd, `Jacobian column ${col}`, 1e-4, 1e-5);
    }
  }
});

Jvp("a single direction keeps the primal's shape; structure of outputs is preserved", () => {
  const x = tensor([1, 2, 3]);
  const [y, dy] = jvp((v) => sum(mul(v, v)), [x], [tensor([1, 0, 0])]);
  assert.equal([...y.toArray()], [14]);
  assert.equal([...dy.toArray()], [2]);
  const [outs, douts] = jvp((v) => [mul(v, 3), v], [x], [tensor([1, 1, 1])]);
  assert.is(outs.length, 2);
  assert.equal([...douts[0].toArray()], [3, 3, 3]);
  assert.equal([...douts[1].toArray()], [1, 1, 1]);
});

Jvp("outputs that do not depend on the inputs get zero tangents; closed-over tensors are constants", () => {
  const c = tensor([5, 6]);
  const x = tensor([1, 2]);
  const [, dy] = jvp((v) => mul(c, c), [x], [tensor([1, 1])]);
  assert.equal([...dy.toArray()], [0, 0]);
  const [, dz] = jvp((v) => mul(v, c), [x], [tensor([[1, 0], [0, 1]].flat(), [2, 2])]);
  assert.equal(dz.shape, [2, 2]);
  assert.equal([...dz.toArray()], [5, 0, 0, 6]);
  const [, dnull] = jvp((v) => mul(v, v), [x], [null]);
  assert.equal([...dnull.toArray()], [0, 0]);
});

Jvp("bad calls are rejected with a FwdgradError", () => {
  const x = tensor([1, 2, 3]);
  assertFwdgradError(() => jvp((v) => v, [x], []), /same length/);
  assertFwdgradError(() => jvp((v) => v, [x], [tensor([1, 2])]), /\[2\].*expected \[3\]/);
  assertFwdgradError(() => jvp((a, b) => add(a, b), [x, x], [zeros([2, 3]), zeros([3])]), /inconsistent/);
  assertFwdgradError(() => jvp(() => 3 as unknown as Tensor, [x], [null]), /must return a Tensor/);
  assertFwdgradError(() => jvp((v) => jvp((w) => w, [v], [null])[0], [x], [x]), /nested jvp/);
});

Jvp.run();
