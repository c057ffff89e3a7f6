// The lab page: reads and checks the settings, trains one method or several side by side (same data,
// initialisation and batches, one epoch of each in turn) in a worker, and draws what it reports. The
// data are MNIST-1D or a CSV file the user opens (or drops on the page), parsed in the worker as the
// CLI parses `--data`.
import { COMBINES, createMethod, ESTIMATORS, isEstimatorId, METHOD_IDS, parseMethodSpec, sharedOptions, type Combine } from "../estimators/index.ts";
import { describeDefault, describeRange, type OptionSpec } from "../estimators/options.ts";
import { checkCsvSize, MAX_COMPARED, MNIST1D_NAME } from "../train/worker.ts";
import { hiddenLayerMean } from "../estimators/metrics.ts";
import { modelSizes, type ModelKind } from "../train/trainer.ts";
import { lineChart, type Series } from "../plot/svg.ts";
import type { FromWorker, Settings, ToWorker } from "./protocol.ts";

/** The data set the worker trains on, as its last `dataset` event described it (MNIST-1D until then). */
let dataset = { name: MNIST1D_NAME, train: 4000, test: 1000, features: 40, classes: 10 };
/** A CSV file is being read and parsed in the worker. */
let loading = false;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker("worker.js", { type: "module" });
const send = (message: ToWorker) => worker.postMessage(message);

const methods = $<HTMLInputElement>("methods");
const addMethod = $<HTMLSelectElement>("add-method");
// Quick picks: every method, and the estimators with K = 10 guesses averaged and projected.
const picks = [...METHOD_IDS, ...METHOD_IDS.filter(isEstimatorId).flatMap((m) => [`${m}:mean:10`, `${m}:project:10`])];
for (const m of picks) addMethod.add(new Option(m, m));
addMethod.onchange = () => {
  const entries = methods.value.split(",").map((m) => m.trim()).filter(Boolean);
  if (addMethod.value && !entries.includes(addMethod.value)) methods.value = [...entries, addMethod.value].join(",");
  addMethod.value = "";
};
const combine = $<HTMLSelectElement>("combine");
for (const c of COMBINES) combine.add(new Option(c, c));
// The model menu: a CNN's width is its channel count (ConvBase's 25), an MLP's its hidden units.
const modelMenu = $<HTMLSelectElement>("model");
modelMenu.onchange = () => {
  const cnn = modelMenu.value === "cnn";
  $("width-label").textContent = cnn ? "channels" : "width";
  $<HTMLInputElement>("width").value = cnn ? "25" : "64";
};

// One field per estimator option beyond K and the combination, generated from the estimators' tables
// (estimators/options.ts): its doc, range and default in the tooltip; empty takes the default.
const optionSpecs = new Map<string, { spec: OptionSpec; takers: string[] }>();
for (const [id, factory] of Object.entries(ESTIMATORS)) {
  for (const [name, spec] of Object.entries(factory.options as Record<string, OptionSpec>)) {
    if (name === "guesses" || name === "combine") continue;
    const known = optionSpecs.get(name);
    if (known) known.takers.push(id);
    else optionSpecs.set(name, { spec, takers: [id] });
  }
}
for (const [name, { spec, takers }] of optionSpecs) {
  const label = document.createElement("label");
  label.title = `${spec.doc}: ${describeRange(spec)}, default ${describeDefault(spec)} (${takers.join(", ")})`;
  let field: HTMLInputElement | HTMLSelectElement;
  if (spec.kind === "choice") {
    field = document.createElement("select");
    field.add(new Option("default", ""));
    for (const c of spec.choices!) field.add(new Option(c, c));
  } else {
    field = Object.assign(document.createElement("input"), { type: "number", step: "any", placeholder: describeDefault(spec) });
  }
  field.id = `option-${name}`;
  label.append(`${name} (${takers.join(", ")}) `, field);
  $("options").append(label);
}

/** The options filled in on the page, by name (numbers parsed; a field left empty is absent). */
function readOptions(): Record<string, number | string> | string {
  const options: Record<string, number | string> = {};
  for (const [name, { spec }] of optionSpecs) {
    const raw = $<HTMLInputElement | HTMLSelectElement>(`option-${name}`).value.trim();
    if (raw === "") continue;
    const value = spec.kind === "choice" ? raw : Number(raw);
    if (typeof value === "number" && !Number.isFinite(value)) return `${name} must be ${describeRange(spec)}, got ${raw}`;
    options[name] = value;
  }
  return options;
}
const start = $<HTMLButtonElement>("start"), pause = $<HTMLButtonElement>("pause"), reset = $<HTMLButtonElement>("reset");

interface RunView {
  label: string;
  history: Array<{ epoch: number; trainAcc: number; testAcc: number; trainLoss: number; testLoss: number }>;
  cosine: Array<{ epoch: number; cosine: (number | null)[] }>;
  progress: string;
  done: boolean;
}
let runs: RunView[] = [];
let started = 0;
let running = false;

function readSettings(): { settings: Settings; methods: string[] } | string {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  const batchText = $<HTMLInputElement>("batch").value.trim();
  const entries = methods.value.split(",").map((m) => m.trim());
  if (entries.some((m) => m === "")) return "methods: give one or more method entries separated by commas (e.g. wt,wperp:project:10,backprop)";
  const twice = entries.find((m, i) => entries.indexOf(m) !== i);
  if (twice !== undefined) return `methods: ${twice} is listed twice`;
  if (entries.length > MAX_COMPARED) return `methods: at most ${MAX_COMPARED} side by side, got ${entries.length}`;
  const options = readOptions();
  if (typeof options === "string") return options;
  const model = $<HTMLSelectElement>("model").value as ModelKind;
  const s = {
    method: entries[0].split(":")[0], ...(model === "cnn" ? { model } : {}), width: num("width"), depth: num("depth"), guesses: num("guesses"), combine: combine.value as Combine,
    lr: num("lr"), seed: num("seed"), epochs: num("epochs"), options,
    ...(batchText === "" ? {} : { batch: Number(batchText) }),
  } satisfies Settings;
  for (const key of ["width", "depth", "epochs", "guesses"] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) return `${key} must be a whole number of at least 1 (got ${$<HTMLInputElement>(key).value || "nothing"})`;
  }
  if (!Number.isInteger(s.seed) || s.seed < 0) return `seed must be a whole number ≥ 0`;
  if (s.batch !== undefined && !(Number.isInteger(s.batch) && s.batch >= 1 && s.batch <= dataset.train)) {
    return `batch must be a whole number from 1 to the ${dataset.train} training rows of ${dataset.name} (got ${batchText}); empty takes 512, or all of them when fewer`;
  }
  if (!(s.lr > 0) || !Number.isFinite(s.lr)) return `the learning rate must be a positive number`;
  // Each method judges its options and the model (e.g. k within every hidden width).
  try {
    const specs = entries.map(parseMethodSpec);
    const optionsFor = sharedOptions(specs.map((spec) => spec.method), options);
    for (const spec of specs) {
      const common = isEstimatorId(spec.method) ? { guesses: spec.guesses ?? s.guesses, combine: spec.combine ?? s.combine } : {};
      createMethod(spec.method, { ...optionsFor(spec.method), ...common }).checkModel(modelSizes(s, dataset));
    }
  } catch (error) {
    return (error as Error).message;
  }
  return { settings: s, methods: entries };
}

function draw(): void {
  const shown = runs.filter((r) => r.history.length);
  if (shown.length) {
    const single = runs.length === 1;
    // Several runs: one colour per run, test dashed.
    const acc: Series[] = shown.flatMap((r, i) => [
      { name: single ? "train" : `${r.label} train`, color: single ? 0 : i, points: r.history.map((h) => [h.epoch, h.trainAcc] as [number, number]) },
      { name: single ? "test" : `${r.label} test`, color: single ? 1 : i, dashed: !single, points: r.history.map((h) => [h.epoch, h.testAcc] as [number, number]) },
    ]);
    $("accuracy-plot").innerHTML = lineChart("Accuracy", "epoch", "accuracy", acc, [0, 1]);
    $("loss-plot").innerHTML = lineChart("Training loss", "epoch", "cross-entropy", shown.map((r) => ({ name: single ? "train" : r.label, points: r.history.map((h) => [h.epoch, h.trainLoss] as [number, number]) })));
  }
  const measured = runs.filter((r) => r.cosine.length);
  if (measured.length === 1 && runs.length === 1) {
    const cosine = measured[0].cosine;
    const series = cosine[0].cosine.map((_, l) => ({ name: `layer ${l}`, points: cosine.map((c) => [c.epoch, c.cosine[l] ?? NaN] as [number, number]) }));
    $("cosine-plot").innerHTML = lineChart("Cosine similarity to the true gradient", "epoch", "cosine", series.filter((s) => s.points.some((p) => Number.isFinite(p[1]))));
  } else if (measured.length) {
    const series = measured.map((r) => ({ name: r.label, points: r.cosine.map((c) => [c.epoch, hiddenLayerMean(c.cosine) ?? NaN] as [number, number]) }));
    $("cosine-plot").innerHTML = lineChart("Cosine to the true gradient (hidden layers' mean)", "epoch", "cosine", series.filter((s) => s.points.some((p) => Number.isFinite(p[1]))));
  }
  $("progress").innerHTML = runs.map((r) => `<div>${escapeHtml(r.progress)}</div>`).join("");
}

const escapeHtml = (text: string) => text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));

function drawExamples(signals: number[][], labels: number[], predicted: number[]): void {
  $("examples").innerHTML = signals.map((signal, i) => {
    const lo = Math.min(...signal), hi = Math.max(...signal);
    const points = signal.map((v, j) => `${(signal.length > 1 ? j / (signal.length - 1) : 0.5) * 140 + 5},${75 - ((v - lo) / (hi - lo || 1)) * 70}`).join(" ");
    const ok = labels[i] === predicted[i];
    return `<figure><svg width="150" height="80"><polyline points="${points}" fill="none" stroke="#1f77b4" stroke-width="1.5"/></svg><figcaption>${dataset.name === MNIST1D_NAME ? "digit" : "class"} ${labels[i]} → predicted <b style="color:${ok ? "#2a7" : "#c33"}">${predicted[i]}</b></figcaption></figure>`;
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
    csvFile.disabled = false;
  } else if (m.type === "dataset") {
    // The worker stopped any run to swap the data.
    dataset = { name: m.name, train: m.train, test: m.test, features: m.features, classes: m.classes };
    if (loading) clearRuns();
    loading = false;
    start.disabled = false;
    useMnist.disabled = m.name === MNIST1D_NAME;
    if (m.name === MNIST1D_NAME) csvFile.value = "";
    showDataset();
  } else if (m.type === "epoch") {
    const run = runs[m.run];
    if (!run) return;
    run.history.push(m.report);
    const seconds = (performance.now() - started) / 1000;
    run.progress = `${m.label}: epoch ${m.report.epoch}: train ${(m.report.trainAcc * 100).toFixed(1)} %, test ${(m.report.testAcc * 100).toFixed(1)} %, loss ${m.report.trainLoss.toFixed(4)} · ${m.stepMs.toFixed(1)} ms/step · ${(m.steps / seconds).toFixed(1)} steps/s`;
    draw();
  } else if (m.type === "quality") {
    runs[m.run]?.cosine.push({ epoch: m.epoch, cosine: m.cosine });
    draw();
  } else if (m.type === "examples") {
    if (m.run === 0) drawExamples(m.signals, m.labels, m.predicted);
  } else if (m.type === "done") {
    const run = runs[m.run];
    if (!run) return;
    run.done = true;
    run.progress += ` · ${m.reason}`;
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: `download ${m.label} weights (.safetensors)` });
    button.onclick = () => send({ type: "weights", run: m.run });
    $("downloads").append(button);
    if (runs.every((r) => r.done)) {
      running = false;
      pause.disabled = true;
    }
    draw();
  } else if (m.type === "weights") {
    // The file's name: the data set's and the method entry's, e.g. blobs-wperp-project-10.safetensors (a structured clone owns its ArrayBuffer).
    const stem = (text: string) => text.replace(/\.(csv|txt)$/i, "").replace(/[^\w.-]+/g, "-");
    const url = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
    const link = Object.assign(document.createElement("a"), { href: url, download: `${stem(dataset.name)}-${stem(m.label)}.safetensors` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } else if (m.type === "error") {
    $("error").textContent = m.message;
    if (loading) {
      // The file failed: the data, and any run on them, go on as they were; the same file can be opened again once fixed.
      loading = false;
      start.disabled = false;
      csvFile.value = "";
      showDataset();
    } else running = false;
  }
};

start.onclick = () => {
  const read = readSettings();
  if (typeof read === "string") {
    $("error").textContent = read;
    return;
  }
  $("error").textContent = "";
  runs = read.methods.map((label) => ({ label, history: [], cosine: [], progress: `${label}: waiting for its first epoch`, done: false }));
  for (const id of ["accuracy-plot", "loss-plot", "cosine-plot", "examples", "downloads"]) $(id).textContent = "";
  draw();
  started = performance.now();
  running = true;
  send({ type: "compare", settings: read.settings, methods: read.methods });
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

/** Forgets the runs shown: their plots, progress and errors. */
function clearRuns(): void {
  running = false;
  runs = [];
  for (const id of ["accuracy-plot", "loss-plot", "cosine-plot", "examples", "progress", "error", "downloads"]) $(id).textContent = "";
  pause.disabled = true;
  pause.textContent = "Pause";
}

reset.onclick = () => {
  send({ type: "reset" });
  clearRuns();
};

// Your own data: a CSV file (features, then the label, per row; a first row without numbers is a
// header), opened or dropped on the page, read and parsed in the worker.
const csvFile = $<HTMLInputElement>("csv-file"), useMnist = $<HTMLButtonElement>("use-mnist1d");

function showDataset(): void {
  const d = dataset;
  $("dataset").textContent = `${d.name}: ${d.train} training + ${d.test} test rows, ${d.features} features, ${d.classes} classes`;
}
showDataset();

/** Sends `file` to the worker, unless it is too large to read (said at once, as the CLI does). */
function openCsv(file: File): void {
  try {
    checkCsvSize(file.name, file.size);
  } catch (error) {
    $("error").textContent = (error as Error).message;
    csvFile.value = "";
    return;
  }
  $("error").textContent = "";
  loading = true;
  start.disabled = true;
  $("dataset").textContent = `reading ${file.name} (${file.size} bytes) in the worker…`;
  send({ type: "csv", name: file.name, csv: file });
}

csvFile.onchange = () => {
  const file = csvFile.files?.[0];
  if (file) openCsv(file);
};
useMnist.onclick = () => {
  $("error").textContent = "";
  clearRuns();
  send({ type: "mnist1d" });
};
// A file dropped anywhere on the page opens like one chosen with the button.
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file && !csvFile.disabled) openCsv(file);
});
