// Engine ops outside forward mode (engine/inplace.ts): stack, assign, assignAt, positiveMask,
// allFinite and the optimiser updates agree with plain loops, refuse bad sizes, and refuse tensors
// that carry tangents instead of dropping them.
import { allFinite, assign, assignAt, jvp, positiveMask, stack, tensor, type Tensor } from "../../index.ts";
import { adamWUpdate, sgdUpdate } from "../../engine/inplace.ts";
import { assert, assertFwdgradError, assertSameBits, inputs, suite } from "../harness.ts";

const InPlace = suite("in-place engine ops");

InPlace("stack, assign and assignAt move values exactly; bad sizes are refused", () => {
  const r = inputs(11);
  for (const shape of [[1], [3], [2, 5], [3, 1, 4]]) {
    const size = shape.reduce((a, b) => a * b, 1);
    const parts = [r.uniform(size), r.uniform(size), r.uniform(size)];
    const stacked = stack(parts.map((p) => tensor(p, shape)));
    assert.equal(stacked.shape, [3, ...shape]);
    const expected = new Float32Array(3 * size);
    parts.forEach((p, i) => expected.set(p, i * size));
    assertSameBits(stacked.toArray(), expected, `stack ${shape}`);
  }
  assertFwdgradError(() => stack([]), /stack: no tensors/);
  assertFwdgradError(() => stack([tensor([1, 2], [2]), tensor([1, 2, 3], [3])]), /stack: tensor 1 has shape \[3\], tensor 0 \[2\]/);
  const dst = tensor(new Float32Array(6), [2, 3]);
  assignAt(dst, tensor([7, 8, 9], [3]), 3);
  assert.equal([...dst.toArray()], [0, 0, 0, 7, 8, 9]);
  assertFwdgradError(() => assignAt(dst, tensor([1, 2], [2]), 5), /assignAt: 2 values at offset 5 do not fit in Tensor\[2, 3\]/);
  assertFwdgradError(() => assignAt(dst, tensor([1], [1]), -1), /assignAt/);
  assign(dst, Float32Array.from([1, 2, 3, 4, 5, 6]));
  assert.equal([...dst.toArray()], [1, 2, 3, 4, 5, 6]);
  assertFwdgradError(() => assign(dst, new Float32Array(5)), /assign: 5 values for Tensor\[2, 3\] \(6 values\)/);
});

InPlace("positiveMask and allFinite", () => {
  const s = tensor([-1, 0, 2, -0, 3e-39, NaN], [2, 3]);
  assert.equal([...positiveMask(s).toArray()], [0, 0, 1, 0, 1, 0]);
  assert.ok(allFinite(tensor([0, -1, 3.4e38], [3])));
  for (const bad of [NaN, Infinity, -Infinity]) assert.not.ok(allFinite(tensor([1, bad, 2], [3])));
});

InPlace("optimiser updates match the textbook formulas in f64, rounded once", () => {
  const r = inputs(12);
  const p0 = r.uniform(17), g = r.uniform(17);
  const m = r.uniform(17, 0, 0.1), v = r.uniform(17, 0, 0.1);
  const c = { beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 1 - 1e-3 * 0.01, stepSize: 1e-3 / (1 - 0.9 ** 3), rootCorrection2: Math.sqrt(1 - 0.999 ** 3) };
  const expected = new Float32Array(17), m2 = m.slice(), v2 = v.slice();
  for (let j = 0; j < 17; j++) {
    m2[j] = c.beta1 * m[j] + (1 - c.beta1) * g[j];
    v2[j] = c.beta2 * v[j] + (1 - c.beta2) * g[j] * g[j];
    expected[j] = p0[j] * c.decay - (c.stepSize * m2[j]) / (Math.sqrt(v2[j]) / c.rootCorrection2 + c.eps);
  }
  const p = tensor(p0, [17]);
  adamWUpdate(p, tensor(g, [17]), m, v, c);
  assertSameBits(p.toArray(), expected, "adamW");
  assertSameBits(m, m2, "m");
  const q = tensor(p0, [17]);
  sgdUpdate(q, tensor(g, [17]), 0.1, 0.01);
  assertSameBits(q.toArray(), Float32Array.from(p0, (x, j) => x - 0.1 * (g[j] + 0.01 * x)), "sgd");
  assertFwdgradError(() => sgdUpdate(q, tensor([1], [1]), 0.1, 0), /sgdUpdate: Tensor\[17\] with a gradient of 1 values/);
  assertFwdgradError(() => adamWUpdate(p, tensor(g, [17]), new Float32Array(3), v, c), /adamWUpdate/);
});

InPlace("tensors carrying tangents are refused, not their tangents dropped", () => {
  const x = tensor([1, -2, 3], [3]);
  const direction = tensor([1, 1, 1], [1, 3]);
  const attempt = (op: (t: Tensor) => unknown) => jvp((t: Tensor) => {
    op(t);
    return t;
  }, [x], [direction]);
  assertFwdgradError(() => attempt((t) => stack([t, t])), /stack: Tensor\[3\] carries tangents/);
  assertFwdgradError(() => attempt((t) => positiveMask(t)), /positiveMask: Tensor\[3\] carries tangents/);
  assertFwdgradError(() => attempt((t) => assign(t, new Float32Array(3))), /assign: Tensor\[3\] carries tangents/);
});

InPlace.run();
