// The lab page: reads and checks the settings, runs training in a worker, and draws what it reports.
import { createMethod, METHOD_IDS } from "../estimators/index.ts";
import { mlpSizes } from "../nn/mlp.ts";
import { lineChart, type Series } from "../plot/svg.ts";
import type { FromWorker, Settings, ToWorker } from "./protocol.ts";

/** MNIST-1D's shape, which the worker trains on. */
const FEATURES = 40, CLASSES = 10;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker("worker.js", { type: "module" });
const send = (message: ToWorker) => worker.postMessage(message);

const method = $<HTMLSelectElement>("method");
for (const m of METHOD_IDS) method.add(new Option(m, m));
method.value = "wt";
const start = $<HTMLButtonElement>("start"), pause = $<HTMLButtonElement>("pause"), reset = $<HTMLButtonElement>("reset");

let history: Array<{ epoch: number; trainAcc: number; testAcc: number; trainLoss: number; testLoss: number }> = [];
let cosine: Array<{ epoch: number; cosine: (number | null)[] }> = [];
let started = 0;
let running = false;

function readSettings(): Settings | string {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  const s = { method: method.value, width: num("width"), depth: num("depth"), k: num("k"), lr: num("lr"), seed: num("seed"), epochs: num("epochs") } satisfies Settings;
  for (const key of ["width", "depth", "epochs"] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) return `${key} must be a whole number of at least 1 (got ${$<HTMLInputElement>(key).value || "nothing"})`;
  }
  if (!Number.isInteger(s.seed) || s.seed < 0) return `seed must be a whole number ≥ 0`;
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) return `the learning rate must be a positive number`;
  // The method itself judges its options and the model (e.g. k within every hidden width).
  try {
    createMethod(s.method, { k: s.k }).checkModel(mlpSizes(FEATURES, s.width, s.depth, CLASSES));
  } catch (error) {
    return (error as Error).message;
  }
  return s;
}

function draw(): void {
  const acc: Series[] = [
    { name: "train", points: history.map((h) => [h.epoch, h.trainAcc]) },
    { name: "test", points: history.map((h) => [h.epoch, h.testAcc]) },
  ];
  if (history.length) {
    $("accuracy-plot").innerHTML = lineChart("Accuracy", "epoch", "accuracy", acc, [0, 1]);
    $("loss-plot").innerHTML = lineChart("Loss", "epoch", "cross-entropy", [
      { name: "train", points: history.map((h) => [h.epoch, h.trainLoss]) },
      { name: "test", points: history.map((h) => [h.epoch, h.testLoss]) },
    ]);
  }
  if (cosine.length) {
    const layers = cosine[0].cosine.length;
    const series = Array.from({ length: layers }, (_, l) => ({ name: `layer ${l}`, points: cosine.map((c) => [c.epoch, c.cosine[l] ?? NaN] as [number, number]) }));
    $("cosine-plot").innerHTML = lineChart("Cosine similarity to the true gradient", "epoch", "cosine", series.filter((s) => s.points.some((p) => Number.isFinite(p[1]))));
  }
}

function drawExamples(signals: number[][], labels: number[], predicted: number[]): void {
  $("examples").innerHTML = signals.map((signal, i) => {
    const lo = Math.min(...signal), hi = Math.max(...signal);
    const points = signal.map((v, j) => `${(j / (signal.length - 1)) * 140 + 5},${75 - ((v - lo) / (hi - lo || 1)) * 70}`).join(" ");
    const ok = labels[i] === predicted[i];
    return `<figure><svg width="150" height="80"><polyline points="${points}" fill="none" stroke="#1f77b4" stroke-width="1.5"/></svg><figcaption>digit ${labels[i]} → predicted <b style="color:${ok ? "#2a7" : "#c33"}">${predicted[i]}</b></figcaption></figure>`;
  }).join("");
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.type === "ready") {
    const kernels = m.simd
      ? `WebAssembly SIMD kernels ready (${m.kernels})`
      : "WebAssembly SIMD is missing in this browser: training uses the TypeScript kernels, which are slower";
    const isolation = m.sharedMemory ? "cross-origin isolated" : "not cross-origin isolated";
    const threads = `${m.threads} ${m.threads === 1 ? "thread" : "threads"}`;
    $("status").textContent = `${kernels} · ${threads} · ${isolation}${m.threadsNote ? ` (${m.threadsNote})` : ""}.`;
    start.disabled = false;
  } else if (m.type === "epoch") {
    history.push(m.report);
    const seconds = (performance.now() - started) / 1000;
    $("progress").textContent = `epoch ${m.report.epoch}: train ${(m.report.trainAcc * 100).toFixed(1)} %, test ${(m.report.testAcc * 100).toFixed(1)} %, loss ${m.report.trainLoss.toFixed(4)} · ${m.stepMs.toFixed(1)} ms/step · ${(m.steps / seconds).toFixed(1)} steps/s`;
    draw();
  } else if (m.type === "quality") {
    cosine.push({ epoch: m.epoch, cosine: m.cosine });
    draw();
  } else if (m.type === "examples") {
    drawExamples(m.signals, m.labels, m.predicted);
  } else if (m.type === "done") {
    running = false;
    pause.disabled = true;
    $("progress").textContent += ` · ${m.reason}`;
  } else if (m.type === "error") {
    $("error").textContent = m.message;
    running = false;
  }
};

start.onclick = () => {
  const settings = readSettings();
  if (typeof settings === "string") {
    $("error").textContent = settings;
    return;
  }
  $("error").textContent = "";
  history = [];
  cosine = [];
  started = performance.now();
  running = true;
  send({ type: "start", settings });
  pause.disabled = false;
  pause.textContent = "Pause";
  reset.disabled = false;
};

pause.onclick = () => {
  if (!running) return;
  const resuming = pause.textContent === "Resume";
  send({ type: resuming ? "resume" : "pause" });
  pause.textContent = resuming ? "Pause" : "Resume";
};

reset.onclick = () => {
  send({ type: "reset" });
  running = false;
  history = [];
  cosine = [];
  for (const id of ["accuracy-plot", "loss-plot", "cosine-plot", "examples", "progress", "error"]) $(id).textContent = "";
  pause.disabled = true;
};
