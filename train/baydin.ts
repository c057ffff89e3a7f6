// Baydin, Pearlmutter, Syme, Wood & Torr (2022), "Gradients without Backpropagation" (arXiv
// 2202.08587), reproduced: forward gradient descent against gradient descent on the Beale and
// Rosenbrock functions; forward gradient against backprop on logistic regression and an MLP on real
// MNIST digits (loss against iterations and against wall time); and the cost of a step against depth
// (time and the engine heap's peak, relative to the forward pass). Library code: the data come in as
// a Dataset, progress goes out through `log`, and the results come back as values, SVG and markdown
// text for the caller (the CLI's `fwdgrad reproduce baydin`) to write.
import { heapBytes, heapPeakBytes, mark, release, resetHeapPeak, tidy } from "../engine/arena.ts";
import { FwdgradError } from "../engine/errors.ts";
import { grad, jvp } from "../engine/jvp.ts";
import { add, mean, mul, scale, sub, sum } from "../engine/ops.ts";
import { rng, type Rng } from "../engine/rng.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { createEstimator, createMethod, estimateStep, stepInput, type EstimatorOptions, type GradientMethod } from "../estimators/index.ts";
import { fisherYates, gatherTableRows, type Dataset } from "../data/dataset.ts";
import { backprop } from "../models/gradient.ts";
import { lossFor } from "../models/loss.ts";
import { argmaxRows, createMlp, forward, forwardOutput, mlpSizes, type Mlp } from "../models/mlp.ts";
import { conv2dLayer } from "../models/conv.ts";
import { dense } from "../models/dense.ts";
import { maxPool2dLayer } from "../models/pool.ts";
import { reluLayer } from "../models/relu.ts";
import { sequential, type Model } from "../models/sequential.ts";
import { contourChart, lineChart, type Series } from "../plot/svg.ts";
import { sgd } from "./optim.ts";

/**
 * The paper's figures this study sets beside its own. Runtime costs are per step relative to the
 * function's own evaluation (a forward pass), PyTorch on a GPU. Sources and what could and could not
 * be checked: docs/results.md, "Baydin et al. reproduced (issue 26)".
 */
export const BAYDIN_PAPER = {
  /** Table 1 (the issue's ranges): forward gradient 2.3–2.6 forward passes a step, backprop 4.0–4.4. */
  costRange: { forwardGradient: [2.3, 2.6], backprop: [4.0, 4.4] },
  /** Means over the paper's MNIST experiments, as a reader's summary of the paper quotes them: R_f = 2.46, R_b = 4.17. */
  costMean: { forwardGradient: 2.46, backprop: 4.17 },
  /** Its depth figure (width 1024, depths 1 to 100, per the issue): forward gradient 2.5 → 4.2, backprop 4.5–5. */
  depth: { forwardGradient: [2.5, 4.2], backprop: [4.5, 5] },
} as const;

/** Progress lines and the clock: `now` in milliseconds (performance.now in every runtime). */
export interface BaydinContext {
  log: (line: string) => void;
  now?: () => number;
}

// ---- Part 1: test functions -------------------------------------------------------------------

/** A two-variable test function, in engine ops (for jvp and grad) and in plain numbers (for contours). */
export interface TestFunction {
  /** f(x, y) on [1]-shaped tensors, a scalar. */
  f(x: Tensor, y: Tensor): Tensor;
  /** The same f on numbers, in f64. */
  value(x: number, y: number): number;
  /** Where both methods start. */
  start: [number, number];
  /** Gradient descent's and forward gradient descent's learning rate. */
  lr: number;
  iterations: number;
  /** The global minimum. */
  minimum: [number, number];
  /** The plotted window: [x0, x1, y0, y1]. */
  window: [number, number, number, number];
}

const square = (t: Tensor) => mul(t, t);

/**
 * Beale's and Rosenbrock's functions with the starting points, learning rates and iteration
 * counts this study uses (docs/results.md says which are the paper's and which are ours).
 */
export const TEST_FUNCTIONS: Record<"beale" | "rosenbrock", TestFunction> = {
  // (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)², minimum 0 at (3, 0.5).
  beale: {
    f: (x, y) => {
      const xy = mul(x, y), xy2 = mul(xy, y), xy3 = mul(xy2, y);
      return sum(add(add(square(add(sub(1.5, x), xy)), square(add(sub(2.25, x), xy2))), square(add(sub(2.625, x), xy3))));
    },
    value: (x, y) => (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y ** 3) ** 2,
    start: [1, 1.5], lr: 0.01, iterations: 1000, minimum: [3, 0.5], window: [-0.5, 4, -1.5, 2],
  },
  // (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1).
  rosenbrock: {
    f: (x, y) => sum(add(square(sub(1, x)), scale(square(sub(y, mul(x, x))), 100))),
    value: (x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    start: [-1.2, 1], lr: 5e-4, iterations: 5000, minimum: [1, 1], window: [-2, 2, -1, 3],
  },
};

/** One optimisation of a test function: the path (start first), f along it, and the cumulative wall time. */
export interface FunctionRun {
  function: string;
  method: "forward-gradient" | "gradient-descent";
  seed: number;
  path: Array<[number, number]>;
  loss: number[];
  ms: number[];
}

/**
 * Minimises a test function from its start: gradient descent with the engine's `grad`, or forward
 * gradient descent, θ ← θ − lr·(∇f·v)v with one Gaussian tangent v ~ N(0, I) a step drawn from
 * `rng(seed).split(step)`, the directional derivative ∇f·v from the engine's `jvp`.
 * @throws {FwdgradError} when `iterations` is not a positive integer.
 */
export function optimizeFunction(name: keyof typeof TEST_FUNCTIONS, method: FunctionRun["method"], options: { iterations?: number; lr?: number; seed?: number; now?: () => number } = {}): FunctionRun {
  const spec = TEST_FUNCTIONS[name];
  const iterations = options.iterations ?? spec.iterations, lr = options.lr ?? spec.lr, seed = options.seed ?? 0;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new FwdgradError(`optimizeFunction: iterations must be a positive integer, got ${iterations}`);
  const now = options.now ?? (() => performance.now());
  const stream = rng(seed);
  let [x, y] = spec.start;
  const run: FunctionRun = { function: name, method, seed, path: [[x, y]], loss: [spec.value(x, y)], ms: [0] };
  const gradient = grad((a, b) => spec.f(a, b), { argnums: [0, 1] });
  let elapsed = 0;
  for (let step = 0; step < iterations; step++) {
    const started = now();
    [x, y] = tidy(() => {
      const px = tensor([x]), py = tensor([y]);
      let gx: number, gy: number;
      if (method === "gradient-descent") {
        const [tx, ty] = gradient(px, py) as Tensor[];
        gx = tx.toArray()[0];
        gy = ty.toArray()[0];
      } else {
        const v = stream.split(step).normal([2]).toArray();
        const [, dot] = jvp((a, b) => spec.f(a, b), [px, py], [tensor([v[0]]), tensor([v[1]])]);
        const d = dot.toArray()[0];
        gx = d * v[0];
        gy = d * v[1];
      }
      return [x - lr * gx, y - lr * gy];
    });
    elapsed += now() - started;
    run.path.push([x, y]);
    run.loss.push(spec.value(x, y));
    run.ms.push(elapsed);
  }
  return run;
}

// ---- Part 2: logistic regression and the MLP on MNIST ----------------------------------------

/**
 * The paper's CNN for 28×28 digits: four 3×3 convolutions of 64 channels (padding 1) with ReLU, a
 * 2×2 max pool after the second and the fourth, then linear 3136 → 1024 with ReLU and 1024 → 10. The
 * architecture as the orobix/fwdgrad reimplementation gives it, which says it uses the paper's model;
 * no biases here (weight perturbation estimates weights only, as for the MLP).
 */
function baydinCnn(features: number, classes: number, seed: number): Model {
  const side = Math.sqrt(features);
  if (!Number.isInteger(side) || side % 4 !== 0) throw new FwdgradError(`baydin: the CNN takes square images whose side is a multiple of 4 (MNIST's 28×28); the data has ${features} features`);
  const r = rng(seed);
  const conv = (i: number, channels: number, at: number) => conv2dLayer(channels, 64, [3, 3], [at, at], r.split(i), { padding: 1, bias: false });
  const half = side / 2, quarter = side / 4;
  return sequential([
    conv(0, 1, side), reluLayer(), conv(1, 64, side), reluLayer(), maxPool2dLayer(64, [side, side], 2),
    conv(2, 64, half), reluLayer(), conv(3, 64, half), reluLayer(), maxPool2dLayer(64, [half, half], 2),
    dense(64 * quarter * quarter, 1024, r.split(4)), reluLayer(), dense(1024, classes, r.split(5)),
  ]);
}

/** The models of the paper's MNIST experiments: how each is built for data of `features` and `classes`, and its name in plots. */
export const BAYDIN_MODELS = {
  /** Multinomial logistic regression: one dense layer 784 → 10, no bias (softmax cross-entropy). */
  logreg: { title: "Logistic regression", build: (features: number, classes: number, seed: number): Model => createMlp([features, classes], { seed, bias: false }) },
  /** The multi-layer NN: 784 → 1024 → 1024 → 10 with ReLU, no biases. */
  mlp: { title: "MLP 784-1024-1024-10", build: (features: number, classes: number, seed: number): Model => createMlp([features, 1024, 1024, classes], { seed, bias: false }) },
  /** The CNN: 4 convolutions of 64 channels, 2 max pools, 3136 → 1024 → 10, no biases (`baydinCnn`). */
  cnn: { title: "CNN (4 × conv 3×3, 64 channels; 1024-wide head)", build: baydinCnn },
} as const;
export type BaydinModel = keyof typeof BAYDIN_MODELS;

/** Settings of the MNIST parts: SGD with lr_i = lr·e^(−i·decay) at step i, as the paper's schedule. */
export interface BaydinTrainingSettings {
  iterations: number;
  batch: number;
  lr: number;
  decay: number;
  seeds: number;
}

/** One training run: the minibatch loss at every recorded step, the wall time to it, and the final test accuracy. */
export interface TrainingRun {
  model: BaydinModel;
  method: "forward-gradient" | "backprop";
  seed: number;
  /** The step each point was taken after (0: before the first step, the loss of the first batch). */
  iterations: number[];
  loss: number[];
  /** Cumulative wall milliseconds of the steps (minibatch assembly, gradient, update). */
  ms: number[];
  testAcc: number;
  testLoss: number;
  seconds: number;
  stopped: string | null;
}

/** The forward-gradient options of the paper: Gaussian tangents on every layer's weights, the output layer's included. */
export function baydinForwardGradientOptions(): { options: EstimatorOptions; perturbs: string } {
  return { options: { output: "weights", tangents: "normal" }, perturbs: "every layer's weights, Gaussian tangents (as the paper)" };
}

/** The minibatch of `rows` (data set rows) as an input tensor and labels. */
function batchOf(data: Dataset, rows: Int32Array): { x: Tensor; labels: Int32Array } {
  return { x: tensor(gatherTableRows(data.train.x, data.features, rows), [rows.length, data.features]), labels: Int32Array.from(rows, (row) => data.train.y[row]) };
}

/** Step i's rows: epochs of a Fisher–Yates order drawn from the seed, the same for every method. */
function batchRows(data: Dataset, seed: number, batch: number): (step: number) => Int32Array {
  const n = data.train.n, perEpoch = Math.floor(n / batch);
  const orders = new Map<number, Int32Array>();
  const orderOf = (epoch: number) => {
    let order = orders.get(epoch);
    if (order) return order;
    order = fisherYates(tidy(() => rng(seed).split(1000 + epoch).uniform([n]).toArray()), n);
    orders.clear();
    orders.set(epoch, order);
    return order;
  };
  return (step) => {
    const epoch = Math.floor(step / perEpoch), at = (step % perEpoch) * batch;
    return orderOf(epoch).slice(at, at + batch);
  };
}

/** Mean loss and accuracy on the test split, in chunks. */
function evaluate(model: Mlp, data: Dataset): { loss: number; acc: number } {
  const loss = lossFor("cross-entropy"), f = data.features, n = data.test.n;
  let total = 0, correct = 0;
  for (let from = 0; from < n; from += 1000) tidy(() => {
    const rows = Math.min(1000, n - from);
    const x = tensor(data.test.x.subarray(from * f, (from + rows) * f), [rows, f]);
    const labels = Int32Array.from(data.test.y.subarray(from, from + rows));
    const pre = forward(model, x).pre;
    const z = pre[pre.length - 1];
    total += sum(loss.perExample(z, labels)).toArray()[0];
    argmaxRows(z.toArray(), data.classes).forEach((p, r) => (correct += p === labels[r] ? 1 : 0));
  });
  return { loss: total / n, acc: correct / n };
}

/**
 * Trains `model` on `data` with forward gradient and with backprop, `settings.seeds` seeds each:
 * same initialisation and batches per seed, SGD with the paper's exponentially decaying learning
 * rate. Records the minibatch loss at about 500 steps of each run (every step for short runs).
 * @throws {FwdgradError} when the batch is larger than the training split, or the data set has not 784 features and 10 classes' shape the model needs (any features and classes are taken).
 */
export function trainBaydin(data: Dataset, model: BaydinModel, settings: BaydinTrainingSettings, context: BaydinContext): { runs: TrainingRun[]; perturbs: string } {
  const { iterations, batch, lr, decay, seeds } = settings;
  if (batch > data.train.n) throw new FwdgradError(`baydin: batch ${batch} is larger than the training split (${data.train.n} rows)`);
  const now = context.now ?? (() => performance.now());
  const fg = baydinForwardGradientOptions();
  const every = Math.max(1, Math.floor(iterations / 500));
  const runs: TrainingRun[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const rowsAt = batchRows(data, seed, batch);
    for (const { method, options } of [{ method: "forward-gradient", options: fg.options }, { method: "backprop", options: {} }] as const) {
      const scope = mark();
      const net = BAYDIN_MODELS[model].build(data.features, data.classes, seed);
      const weights = net.layers.map((l) => l.w);
      const gradient: GradientMethod = createMethod(method, options);
      const run: TrainingRun = { model, method, seed, iterations: [], loss: [], ms: [], testAcc: NaN, testLoss: NaN, seconds: 0, stopped: null };
      let elapsed = 0;
      const started = now();
      for (let step = 0; step < iterations; step++) {
        const t0 = now();
        const loss = tidy(() => {
          const { x, labels } = batchOf(data, rowsAt(step));
          const { loss, grads } = gradient.step(net, x, labels, rng(seed).split(step));
          if (Number.isFinite(loss)) sgd({ lr: lr * Math.exp(-step * decay) }).step(weights, grads.w);
          return loss;
        });
        elapsed += now() - t0;
        if (!Number.isFinite(loss)) {
          run.stopped = `non-finite loss at step ${step}`;
          break;
        }
        if (step % every === 0 || step === iterations - 1) {
          run.iterations.push(step);
          run.loss.push(loss);
          run.ms.push(elapsed);
        }
        if ((step + 1) % Math.max(1, Math.floor(iterations / 5)) === 0) context.log(`  ${model} ${method} seed ${seed}: step ${step + 1}/${iterations}, loss ${loss.toFixed(4)}, ${(elapsed / 1000).toFixed(1)} s`);
      }
      const test = evaluate(net, data);
      run.testAcc = test.acc;
      run.testLoss = test.loss;
      run.seconds = (now() - started) / 1000;
      runs.push(run);
      release(scope);
    }
  }
  return { runs, perturbs: fg.perturbs };
}

// ---- Part 3: the cost of a step against depth --------------------------------------------------

/** The step kinds timed, each against the forward pass. */
export const COST_KINDS = ["forward", "forward-gradient", "activation-perturbation", "backprop"] as const;
export type CostKind = (typeof COST_KINDS)[number];

/** One model's costs: per kind, the median milliseconds a step and the engine heap's peak (bytes in use at most, the parameters included). */
export interface CostRow {
  sizes: number[];
  depth: number;
  ms: Record<CostKind, number>;
  /** Each kind's median time over the forward pass's. */
  relative: Record<CostKind, number>;
  peakHeapBytes: Record<CostKind, number>;
  /** Bytes in use before a step: parameters and the batch. */
  baseHeapBytes: number;
}

/**
 * Times one step of each kind on the MLP of layer sizes `net` (or the model `net` builds from a seed) at `batch` random rows (median of `reps`
 * rounds after one warm-up round, each round one step of every kind in turn) and records the engine
 * heap's peak during one step: the forward pass with its
 * loss; a forward-gradient step, an activation-perturbation step and a backprop step, each with its
 * SGD update at learning rate 0, so the update's cost counts and every repetition times the same weights.
 */
export function measureCost(net: readonly number[] | ((seed: number) => Model), batch: number, reps: number, seed = 0, now: () => number = () => performance.now()): CostRow {
  const scope = mark();
  try {
    const model = typeof net === "function" ? net(seed) : createMlp(net, { seed, bias: false });
    const sizes = model.sizes;
    const weights = model.layers.map((l) => l.w);
    const r = rng(seed);
    const x = r.split(1).normal([batch, sizes[0]]);
    const labels = Int32Array.from({ length: batch }, (_, i) => i % sizes[sizes.length - 1]);
    const loss = lossFor("cross-entropy");
    const fg = createEstimator("forward-gradient", baydinForwardGradientOptions().options);
    const ap = createEstimator("activation-perturbation");
    // lr 0: the update runs (its cost counts) but leaves the weights as they are, so every repetition times the same step.
    const update = sgd({ lr: 0 });
    const steps: Record<CostKind, (rep: Rng) => void> = {
      forward: () => void mean(loss.perExample(forwardOutput(model, x), labels)).toArray(),
      "forward-gradient": (rep) => update.step(weights, estimateStep(fg, stepInput(model, x, labels, rep)).grads.w),
      "activation-perturbation": (rep) => update.step(weights, estimateStep(ap, stepInput(model, x, labels, rep)).grads.w),
      backprop: () => update.step(weights, backprop(model, x, labels).grads.w),
    };
    const base = heapBytes();
    const row: CostRow = { sizes: [...sizes], depth: sizes.length - 2, ms: {} as CostRow["ms"], relative: {} as CostRow["relative"], peakHeapBytes: {} as CostRow["peakHeapBytes"], baseHeapBytes: base };
    const times = Object.fromEntries(COST_KINDS.map((kind) => [kind, [] as number[]])) as Record<CostKind, number[]>;
    // Round by round, one step of each kind (the first round untimed, its peak heap recorded), so
    // that the machine's drift hits every kind alike.
    for (let rep = -1; rep < reps; rep++) {
      for (const kind of COST_KINDS) {
        const s = mark();
        if (rep === -1) resetHeapPeak();
        const t0 = now();
        steps[kind](r.split(100 + rep + 1));
        const t = now() - t0;
        if (rep === -1) row.peakHeapBytes[kind] = heapPeakBytes();
        release(s);
        if (rep >= 0) times[kind].push(t);
      }
    }
    for (const kind of COST_KINDS) {
      const sorted = times[kind].sort((a, b) => a - b);
      row.ms[kind] = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }
    for (const kind of COST_KINDS) row.relative[kind] = row.ms[kind] / row.ms.forward;
    return row;
  } finally {
    release(scope);
  }
}

/** The depth study: `measureCost` at width `width` for each depth, input 784 and 10 classes (MNIST's shape). */
export function costAgainstDepth(depths: readonly number[], options: { width?: number; batch?: number; reps?: number; features?: number; classes?: number }, context: BaydinContext): CostRow[] {
  const { width = 1024, batch = 64, reps = 5, features = 784, classes = 10 } = options;
  return depths.map((depth) => {
    const row = measureCost(mlpSizes(features, width, depth, classes), batch, reps, 0, context.now);
    context.log(`  depth ${depth}: forward ${row.ms.forward.toFixed(1)} ms; forward gradient ${row.relative["forward-gradient"].toFixed(2)}×, activation perturbation ${row.relative["activation-perturbation"].toFixed(2)}×, backprop ${row.relative.backprop.toFixed(2)}× (peak heap ${mib(row.peakHeapBytes["forward-gradient"])} / ${mib(row.peakHeapBytes["activation-perturbation"])} / ${mib(row.peakHeapBytes.backprop)} MiB)`);
    return row;
  });
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

// ---- Reports -----------------------------------------------------------------------------------

const KIND_LABEL: Record<CostKind, string> = { forward: "forward pass", "forward-gradient": "forward gradient", "activation-perturbation": "activation perturbation", backprop: "backprop" };

/** The trajectories of both methods over the function's contours (log-spaced levels). */
export function functionSvg(name: keyof typeof TEST_FUNCTIONS, runs: FunctionRun[]): string {
  const spec = TEST_FUNCTIONS[name];
  const [x0, x1, y0, y1] = spec.window;
  return contourChart(`${name[0].toUpperCase()}${name.slice(1)}: trajectories from (${spec.start.join(", ")}), lr ${spec.lr}`, { x0, x1, y0, y1, f: spec.value, levels: logLevels(spec, 12) },
    runs.filter((r) => r.function === name).map((r) => ({ name: `${r.method} (seed ${r.seed})`, points: thin(r.path, 800), color: r.method === "gradient-descent" ? 0 : 1 + r.seed })),
    { marker: spec.minimum });
}

/** At most about `most` of the points, evenly spaced, the first and last always kept (a plot needs no more). */
function thin<T>(points: T[], most: number): T[] {
  if (points.length <= most) return points;
  const every = Math.ceil(points.length / most);
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
}

function logLevels(spec: TestFunction, count: number): number[] {
  const [x0, x1, y0, y1] = spec.window;
  let hi = 0;
  for (let i = 0; i <= 20; i++) for (let j = 0; j <= 20; j++) hi = Math.max(hi, spec.value(x0 + ((x1 - x0) * i) / 20, y0 + ((y1 - y0) * j) / 20));
  const lo = 1e-3;
  return Array.from({ length: count }, (_, k) => lo * (hi / lo) ** (k / (count - 1)));
}

/** log10 of the loss against iterations, or against wall seconds, one series per run. */
export function lossSvg(title: string, runs: Array<{ name: string; iterations: number[]; loss: number[]; ms: number[]; dashed?: boolean; color?: number }>, against: "iterations" | "time"): string {
  const series: Series[] = runs.map((r) => ({
    name: r.name, dashed: r.dashed, color: r.color,
    points: thin(r.loss.map((l, i) => [against === "iterations" ? r.iterations[i] : r.ms[i] / 1000, Math.log10(Math.max(l, 1e-12))] as [number, number]), 600),
  }));
  return lineChart(title, against === "iterations" ? "iterations" : "wall time (s)", "log10 loss", series);
}

/** The training runs as `lossSvg` curves: backprop in the first colour, forward gradient in the second, seeds after the first dashed. */
export function trainingCurves(runs: TrainingRun[]): Parameters<typeof lossSvg>[1] {
  const order: readonly string[] = ["backprop", "forward-gradient"];
  return runs.map((r) => ({ name: `${r.method} (seed ${r.seed})`, iterations: r.iterations, loss: r.loss, ms: r.ms, color: order.indexOf(r.method), dashed: r.seed > 0 }));
}

/** Time per step against depth, relative to the forward pass (log depth axis). */
export function depthSvg(rows: CostRow[]): string {
  const kinds = COST_KINDS.filter((k) => k !== "forward");
  return lineChart("Cost of a step against depth, relative to the forward pass (width 1024, batch 64)", "hidden layers", "time / forward pass",
    [
      ...kinds.map((k, i) => ({ name: `${KIND_LABEL[k]} (fwdgrad)`, points: rows.map((r) => [r.depth, r.relative[k]] as [number, number]), color: i })),
      { name: "forward gradient (paper, ends)", points: endsAt(rows, BAYDIN_PAPER.depth.forwardGradient), dashed: true, color: 0 },
      { name: "backprop (paper, range)", points: endsAt(rows, BAYDIN_PAPER.depth.backprop), dashed: true, color: 2 },
    ], undefined, { logX: true });
}

/** The engine heap's peak during a step against depth. */
export function heapSvg(rows: CostRow[]): string {
  return lineChart("Engine heap's peak during a step (MiB, parameters included)", "hidden layers", "MiB",
    COST_KINDS.map((k, i) => ({ name: KIND_LABEL[k], points: rows.map((r) => [r.depth, r.peakHeapBytes[k] / 2 ** 20] as [number, number]), color: i === 0 ? 4 : i - 1 })), undefined, { logX: true });
}

/** A paper figure's two values drawn at the first and last measured depth (it reports ends, not points). */
function endsAt(rows: CostRow[], [first, last]: readonly number[]): Array<[number, number]> {
  if (rows.length === 0) return [];
  return rows.length === 1 ? [[rows[0].depth, first]] : [[rows[0].depth, first], [rows[rows.length - 1].depth, last]];
}

/** The markdown tables of whatever parts ran. */
export function baydinMarkdown(report: { functions?: FunctionRun[]; training?: Record<string, { runs: TrainingRun[]; cost: CostRow; perturbs: string }>; depth?: CostRow[]; settings: Record<string, unknown> }): string {
  const lines = ["# Baydin et al. (2022), \"Gradients without Backpropagation\", reproduced", "", `Settings: \`${JSON.stringify(report.settings)}\``, ""];
  if (report.functions) {
    lines.push("## Test functions", "", "| function | method | seed | iterations | f at the start | f at the end | end point | ms |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of report.functions) {
      const end = r.path[r.path.length - 1];
      lines.push(`| ${r.function} | ${r.method} | ${r.seed} | ${r.path.length - 1} | ${r.loss[0].toPrecision(4)} | ${r.loss[r.loss.length - 1].toPrecision(4)} | (${end[0].toFixed(3)}, ${end[1].toFixed(3)}) | ${r.ms[r.ms.length - 1].toFixed(0)} |`);
    }
    lines.push("");
  }
  if (report.training) {
    lines.push("## MNIST: forward gradient against backprop", "", "| model | method | seed | steps | first loss | last loss | test loss | test accuracy | wall s (steps) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const [, part] of Object.entries(report.training)) {
      for (const r of part.runs) lines.push(`| ${r.model} | ${r.method} | ${r.seed} | ${r.iterations[r.iterations.length - 1] + 1}${r.stopped ? ` (${r.stopped})` : ""} | ${r.loss[0].toFixed(4)} | ${r.loss[r.loss.length - 1].toFixed(4)} | ${r.testLoss.toFixed(4)} | ${r.testAcc.toFixed(4)} | ${(r.ms[r.ms.length - 1] / 1000).toFixed(1)} |`);
    }
    lines.push("", "Forward gradient perturbs: " + Object.values(report.training)[0].perturbs + ".", "");
    lines.push("## Cost of a step relative to a forward pass (batch 64), beside the paper's Table 1", "", "| model | forward ms | forward gradient | activation perturbation | backprop | backprop / forward gradient | paper: forward gradient | paper: backprop |", "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const [name, part] of Object.entries(report.training)) {
      const c = part.cost;
      lines.push(`| ${name} ${c.sizes.join("→")} | ${c.ms.forward.toFixed(2)} | ${c.relative["forward-gradient"].toFixed(2)} | ${c.relative["activation-perturbation"].toFixed(2)} | ${c.relative.backprop.toFixed(2)} | ${(c.ms.backprop / c.ms["forward-gradient"]).toFixed(2)} | ${BAYDIN_PAPER.costRange.forwardGradient.join("–")} | ${BAYDIN_PAPER.costRange.backprop.join("–")} |`);
    }
    lines.push("");
  }
  if (report.depth) {
    lines.push("## Cost against depth (width 1024, batch 64), relative to the forward pass; peak engine heap in MiB", "", "| depth | forward ms | forward gradient | activation perturbation | backprop | heap: forward | heap: forward gradient | heap: activation perturbation | heap: backprop |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of report.depth) {
      lines.push(`| ${r.depth} | ${r.ms.forward.toFixed(1)} | ${r.relative["forward-gradient"].toFixed(2)} | ${r.relative["activation-perturbation"].toFixed(2)} | ${r.relative.backprop.toFixed(2)} | ${mib(r.peakHeapBytes.forward)} | ${mib(r.peakHeapBytes["forward-gradient"])} | ${mib(r.peakHeapBytes["activation-perturbation"])} | ${mib(r.peakHeapBytes.backprop)} |`);
    }
    lines.push("", `Paper (depth 1 → 100): forward gradient ${BAYDIN_PAPER.depth.forwardGradient.join(" → ")}, backprop ${BAYDIN_PAPER.depth.backprop.join("–")}.`, "");
  }
  return `${lines.join("\n")}\n`;
}
