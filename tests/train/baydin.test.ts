// Baydin et al.'s study (train/baydin.ts) at tiny sizes, in every runtime: the test functions in
// engine ops agree with their plain values and gradients; gradient descent lowers them; the forward
// gradient (∇f·v)v averages to the gradient; both MNIST methods train a small model; the cost rows
// hold every step kind; the reports render.
import { grad, jvp } from "../../engine/jvp.ts";
import { rng } from "../../engine/rng.ts";
import { tensor, type Tensor } from "../../engine/tensor.ts";
import { tidy } from "../../engine/arena.ts";
import type { Dataset } from "../../data/dataset.ts";
import { baydinMarkdown, COST_KINDS, costAgainstDepth, depthSvg, functionSvg, heapSvg, lossSvg, measureCost, optimizeFunction, TEST_FUNCTIONS, trainBaydin, trainingCurves } from "../../train/baydin.ts";
import { assert, suite } from "../harness.ts";

const Baydin = suite("baydin");
const NAMES = Object.keys(TEST_FUNCTIONS) as Array<keyof typeof TEST_FUNCTIONS>;

Baydin("the test functions in engine ops match their plain values, and grad matches central differences", () => {
  for (const name of NAMES) {
    const spec = TEST_FUNCTIONS[name];
    for (const [x, y] of [spec.start, [0.5, -0.25], [2, 1]]) tidy(() => {
      const value = spec.f(tensor([x]), tensor([y])).toArray()[0];
      assert.ok(Math.abs(value - spec.value(x, y)) <= 1e-5 * Math.max(1, Math.abs(spec.value(x, y))), `${name} at (${x}, ${y}): ${value} vs ${spec.value(x, y)}`);
      const [gx, gy] = (grad((a: Tensor, b: Tensor) => spec.f(a, b), { argnums: [0, 1] })(tensor([x]), tensor([y])) as Tensor[]).map((t) => t.toArray()[0]);
      const h = 1e-6;
      const fx = (spec.value(x + h, y) - spec.value(x - h, y)) / (2 * h), fy = (spec.value(x, y + h) - spec.value(x, y - h)) / (2 * h);
      assert.ok(Math.abs(gx - fx) <= 1e-3 * Math.max(1, Math.abs(fx)) && Math.abs(gy - fy) <= 1e-3 * Math.max(1, Math.abs(fy)), `${name} ∇ at (${x}, ${y}): (${gx}, ${gy}) vs (${fx}, ${fy})`);
    });
    assert.is(spec.value(...spec.minimum), 0, `${name}'s minimum`);
  }
});

Baydin("gradient descent lowers both functions from their starts; forward gradient descent too, on its seeded tangents", () => {
  for (const name of NAMES) {
    const gd = optimizeFunction(name, "gradient-descent", { iterations: 300 });
    assert.is(gd.path.length, 301);
    assert.ok(gd.loss[300] < 0.2 * gd.loss[0], `${name} GD: ${gd.loss[0]} → ${gd.loss[300]}`);
    for (let i = 1; i < gd.loss.length; i++) assert.ok(gd.loss[i] <= gd.loss[i - 1] + 1e-9, `${name} GD rises at step ${i}`);
    const fg = optimizeFunction(name, "forward-gradient", { iterations: 300, seed: 3 });
    assert.ok(fg.loss[300] < 0.5 * fg.loss[0], `${name} FG: ${fg.loss[0]} → ${fg.loss[300]}`);
    assert.equal(optimizeFunction(name, "forward-gradient", { iterations: 20, seed: 3 }).path, fg.path.slice(0, 21), "the same seed, the same tangents");
    assert.ok(fg.ms.every((t, i) => i === 0 || t >= fg.ms[i - 1]), "cumulative time");
  }
});

Baydin("the forward gradient (∇f·v)v over many Gaussian tangents averages to the gradient", () => {
  const spec = TEST_FUNCTIONS.rosenbrock;
  const [x, y] = [-0.5, 0.8];
  const draws = 4000;
  tidy(() => {
    const [gx, gy] = (grad((a: Tensor, b: Tensor) => spec.f(a, b), { argnums: [0, 1] })(tensor([x]), tensor([y])) as Tensor[]).map((t) => t.toArray()[0]);
    // All draws in one pass: tangents with a leading direction axis.
    const v = rng(11).normal([draws, 2]).toArray();
    const vx = Float32Array.from({ length: draws }, (_, i) => v[2 * i]), vy = Float32Array.from({ length: draws }, (_, i) => v[2 * i + 1]);
    const [, dots] = jvp((a: Tensor, b: Tensor) => spec.f(a, b), [tensor([x]), tensor([y])], [tensor(vx, [draws, 1]), tensor(vy, [draws, 1])]);
    const d = dots.toArray();
    let mx = 0, my = 0;
    for (let i = 0; i < draws; i++) {
      mx += (d[i] * vx[i]) / draws;
      my += (d[i] * vy[i]) / draws;
    }
    // The estimate's std per coordinate is about ‖∇f‖·√2/√draws; allow 4 of them.
    const tolerance = (4 * Math.hypot(gx, gy) * Math.SQRT2) / Math.sqrt(draws);
    assert.ok(Math.abs(mx - gx) < tolerance && Math.abs(my - gy) < tolerance, `mean (${mx}, ${my}) vs ∇f (${gx}, ${gy}), tolerance ${tolerance}`);
    assert.ok(Math.abs(mx - gx) > 0 || Math.abs(my - gy) > 0, "an estimate, not the gradient itself");
  });
});

/** A small separable data set: class c's rows sit around a corner of their own. */
function toyData(): Dataset {
  const features = 6, classes = 3, n = 90;
  const r = rng(5).uniform([n * features]).toArray();
  const make = (rows: number, from: number) => {
    const x = new Float32Array(rows * features), y = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
      y[i] = (from + i) % classes;
      for (let f = 0; f < features; f++) x[i * features + f] = 0.3 * r[((from + i) * features + f) % r.length] + (f % classes === y[i] ? 1 : 0);
    }
    return { x, y, n: rows };
  };
  return { train: make(72, 0), test: make(18, 72), features, classes };
}

Baydin("logistic regression trains with forward gradient and with backprop: same batches, recorded losses, a test accuracy", () => {
  const data = toyData();
  const logs: string[] = [];
  const { runs, perturbs } = trainBaydin(data, "logreg", { iterations: 60, batch: 8, lr: 0.2, decay: 1e-3, seeds: 1 }, { log: (line) => logs.push(line) });
  assert.is(runs.length, 2);
  assert.match(perturbs, /weights/);
  for (const run of runs) {
    assert.is(run.stopped, null);
    assert.is(run.iterations.length, 60, "every step recorded in a short run");
    assert.ok(run.loss.every(Number.isFinite));
    assert.ok(run.loss[0] > 0.9, `${run.method}: first loss ${run.loss[0]} (about ln 3)`);
    const late = run.loss.slice(-10).reduce((s, l) => s + l, 0) / 10;
    assert.ok(late < run.loss[0] * 0.8, `${run.method}: ${run.loss[0]} → ${late}`);
    assert.ok(run.testAcc > 0.6, `${run.method}: test accuracy ${run.testAcc}`);
  }
  assert.is(runs[0].loss[0], runs[1].loss[0], "the same initialisation and first batch");
  assert.ok(logs.length > 0, "progress lines");
  const curves = trainingCurves(runs);
  assert.equal(curves.map((c) => c.color), [1, 0]);
  assert.match(lossSvg("t", curves, "time"), /^<svg/);
});

Baydin("the cost rows hold every step kind at every depth asked, relative to the forward pass, with the heap's peak", () => {
  const rows = costAgainstDepth([1, 2], { width: 16, batch: 8, reps: 2, features: 12, classes: 4 }, { log: () => undefined });
  assert.equal(rows.map((r) => r.depth), [1, 2]);
  assert.equal(rows[1].sizes, [12, 16, 16, 4]);
  for (const row of rows) {
    for (const kind of COST_KINDS) {
      assert.ok(row.ms[kind] > 0, `${kind}: ${row.ms[kind]} ms`);
      assert.ok(row.peakHeapBytes[kind] >= row.baseHeapBytes, `${kind}: the peak includes what was in use`);
    }
    assert.is(row.relative.forward, 1);
    assert.ok(row.peakHeapBytes.backprop > row.baseHeapBytes, "a backprop step allocates");
  }
  const logreg = measureCost([12, 4], 8, 1);
  assert.is(logreg.depth, 0);
  assert.match(depthSvg(rows), /forward gradient \(fwdgrad\)/);
  assert.match(heapSvg(rows), /^<svg/);
});

Baydin("the reports: contours with both trajectories, and the markdown tables of the parts that ran", () => {
  const runs = [optimizeFunction("beale", "gradient-descent", { iterations: 5 }), optimizeFunction("beale", "forward-gradient", { iterations: 5 })];
  const svg = functionSvg("beale", runs);
  assert.match(svg, /gradient-descent \(seed 0\)/);
  assert.match(svg, /forward-gradient \(seed 0\)/);
  assert.ok((svg.match(/<path /g) ?? []).length >= 5, "isolines and paths");
  const md = baydinMarkdown({ functions: runs, settings: { parts: ["functions"] } });
  assert.match(md, /\| beale \| gradient-descent \| 0 \| 5 \| 41\.25 \|/);
  assert.not.match(md, /## Cost against depth/);
});

Baydin.run();
