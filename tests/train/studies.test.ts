// The width studies as library code (train/studies.ts), on files kept in memory: accuracy-width
// writes its results and a checkpoint per run through the StudyFiles it is given, more epochs
// continue each run to the weights of one uninterrupted run, a damaged state file is refused by
// name; and W̃⊥'s warm-start budget is raised only where the default falls short.
import type { Dataset } from "../../data/dataset.ts";
import { accuracyConfig, accuracyWidth, type StudyContext, type StudyFiles } from "../../train/studies.ts";
import { Trainer } from "../../train/trainer.ts";
import { joinChunks } from "../oracles.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Studies = suite("studies");

/** StudyFiles over a Map: what a browser or a test can give a study instead of a file system. */
function memoryFiles(): StudyFiles & { store: Map<string, Uint8Array> } {
  const store = new Map<string, Uint8Array>();
  const folders = new Set<string>();
  const read = (path: string): Uint8Array => {
    const bytes = store.get(path);
    if (!bytes) throw new Error(`${path} was never written`);
    return bytes;
  };
  return {
    store,
    join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
    exists: (path) => store.has(path) || folders.has(path),
    readText: (path) => new TextDecoder().decode(read(path)),
    readBytes: (path) => read(path).slice(),
    write: (path, data) => void store.set(path, typeof data === "string" ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data.slice() : joinChunks(data)),
    remove: (path) => void store.delete(path),
    makeFolder: (path) => void folders.add(path),
    list: (path) => [...new Set([...store.keys(), ...folders].filter((p) => p.startsWith(`${path}/`)).map((p) => p.slice(path.length + 1).split("/")[0]))],
  };
}

/** Four classes in 6 features, separable: enough for a study's bookkeeping, quick to train. */
function small(n: number): Dataset {
  const make = (count: number, offset: number) => {
    const x = new Float32Array(count * 6), y = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      y[i] = (i + offset) % 4;
      for (let f = 0; f < 6; f++) x[i * 6 + f] = (f === y[i] ? 2 : 0) + 0.1 * Math.sin(7 * i + 3 * f);
    }
    return { x, y, n: count };
  };
  return { train: make(n, 0), test: make(n / 2, 1), features: 6, classes: 4 };
}

Studies("accuracy-width on in-memory files: results and checkpoints; more epochs continue to one uninterrupted run's weights", () => {
  const data = small(64);
  const files = memoryFiles();
  const lines: string[] = [];
  const io: StudyContext = { files, log: (line) => lines.push(line), commit: "test" };
  const specs = [{ label: "wt", method: "wt" }, { label: "wperp", method: "wperp" }];
  const settings = (epochs: number) => ({ depth: 2, epochs, batch: 16, lr: 1e-3, k: 2, seeds: 1 });
  accuracyWidth(data, settings(2), specs, [8], "out", io);
  assert.ok(files.exists("out/accuracy-width/wperp-w8-s0/checkpoint.bin"), "each run keeps a binary checkpoint");
  const report = accuracyWidth(data, settings(3), specs, [8], "out", io);
  assert.ok(lines.some((l) => l.includes("wperp w8 s0: continuing from epoch 2")), lines.join("\n"));
  assert.equal(report.runs.map((r) => [r.label, r.epochs, r.commit]), [["wt", 3, "test"], ["wperp", 3, "test"]]);
  const saved = JSON.parse(files.readText("out/accuracy-width.json"));
  assert.equal(saved.settings, { model: "mlp", bias: false, widths: [8], seeds: 1, epochs: 3, maxMinutes: null, depth: 2, k: 2, lr: 1e-3, batch: 16, methods: ["wt", "wperp"] });
  assert.match(files.readText("out/accuracy-width.svg"), /^<svg/);
  for (const run of report.runs) {
    const whole = new Trainer(data, accuracyConfig(data, settings(3), { label: run.label, method: run.method }, 8, 0));
    while (whole.epoch < 3) whole.runEpoch();
    assert.is(run.weightsHash, whole.weightsHash(), `${run.label}: the continued run's weights`);
  }
  files.write("out/accuracy-width/wt-w8-s0/result.json", "{");
  assertFwdgradError(() => accuracyWidth(data, settings(3), specs, [8], "out", io), /out\/accuracy-width\/wt-w8-s0\/result.json: not a state file of this study/);
});

Studies("accuracy-width gives W̃⊥ a warm-start budget for every training row only where the default falls short", () => {
  // Only the data set's shape matters here: MNIST-1D's 4000 training rows of 40 features, 10 classes.
  const data = { features: 40, classes: 10, train: { n: 4000 } } as unknown as Dataset;
  const settings = { depth: 3, epochs: 300, batch: 512, lr: 1e-4, k: 10 };
  const config = (method: string, width: number) => accuracyConfig(data, settings, { label: method, method }, width, 0);
  assert.is(config("wperp", 512).options, undefined, "width 512: the default keeps every row (197 MB), the config is as before");
  assert.equal(config("wperp", 1024).options, { warmStartBytes: 4000 * 2 * 12 * 1024 * 4 });
  assert.equal(config("wperp", 2048).options, { warmStartBytes: 4000 * 2 * 12 * 2048 * 4 });
  assert.is(config("wt", 2048).options, undefined, "Wᵀ keeps no starts");
});

Studies.run();
