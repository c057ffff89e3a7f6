// The fwdgrad command line, run as a user would (Node only: it spawns processes and writes files).
// Commands run as `node --import tsx cli/fwdgrad.ts`, one process each, so a kill reaches the trainer.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { usage } from "../../cli/args.ts";
import { published } from "../data/mnist1d-published.ts";
import { fwdgrad } from "./run-cli.ts";

const Cli = suite("cli");

Cli("--help lists the commands", () => {
  const { code, out } = fwdgrad("--help");
  assert.is(code, 0);
  assert.match(out, /data\s+generate a data set/);
  assert.match(out, /quality\s+gradient quality/);
});

Cli("each command's usage line comes from its flag table (every flag once, optional ones bracketed), and README's full usage lines are those", async () => {
  const { COMMANDS } = await import("../../cli/fwdgrad.ts");
  for (const [name, command] of Object.entries(COMMANDS)) {
    const line = usage(name, command);
    assert.ok(line.startsWith(`fwdgrad ${name} `), line);
    for (const [flag, spec] of Object.entries(command.flags)) {
      const shown = [...line.matchAll(new RegExp(`(\\[?)--${flag}(?=[ \\]]|$)`, "g"))];
      assert.is(shown.length, 1, `${name}: --${flag} in ${line}`);
      assert.is(shown[0][1] === "[", !spec.required, `${name}: --${flag} is ${spec.required ? "required" : "optional"}`);
    }
  }
  const { code, out } = fwdgrad("train", "--help");
  assert.is(code, 0);
  assert.is(out.split("\n")[0], usage("train", COMMANDS.train), "train --help prints the generated line");
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  for (const name of ["train", "data", "quality"]) assert.ok(readme.includes(`- \`${usage(name, COMMANDS[name])}\``), `README's ${name} line is ${usage(name, COMMANDS[name])}`);
});

Cli("bad flags and values exit non-zero with one line and a usage hint", () => {
  for (const [args, message] of [
    [["quality", "--method", "nope", "--width", "8"], /fwdgrad: unknown estimator "nope"/],
    [["quality", "--method", "wt", "--width", "0"], /fwdgrad: --width must be at least 1, got 0/],
    [["quality", "--method", "wt", "--width", "x"], /fwdgrad: --width must be an integer, got "x"/],
    [["quality", "--method", "wperp", "--width", "8", "--k", "9"], /fwdgrad: wperp: k = 9 is larger than the width 8 of hidden layer 0/],
    [["quality", "--width", "8"], /fwdgrad: --method <id> is required/],
    [["quality", "--method", "wt", "--width", "8", "--bogus"], /fwdgrad: unknown flag --bogus/],
    [["data", "mnist1d"], /fwdgrad: --out <dir> is required/],
    [["data", "cifar", "--out", "x"], /fwdgrad: unknown data set "cifar"/],
    [["train2"], /fwdgrad: unknown command "train2"/],
    [["train", "--method", "magic", "--width", "8"], /fwdgrad: unknown method "magic"; known: backprop, forward-gradient/],
    [["train", "--method", "wt", "--width", "0"], /fwdgrad: --width must be at least 1, got 0/],
    [["train", "--method", "wt", "--width", "8", "--epochs", "-2"], /fwdgrad: --epochs must be at least 0, got -2/],
    [["train", "--resume", "/nonexistent/checkpoint.json"], /fwdgrad: --resume \/nonexistent\/checkpoint.json: no such file/],
    [["train", "--method", "wt", "--width", "8", "--data", "/nonexistent.csv"], /fwdgrad: --data \/nonexistent.csv: no such file or folder/],
    [["compare", "--methods", "wt,nope", "--width", "8"], /fwdgrad: unknown method "nope"/],
    [["reproduce", "table9"], /fwdgrad: unknown experiment "table9"; known: table1, table3, table4/],
    [["train", "--method", "wt", "--model", "cnn", "--width", "8"], /fwdgrad: --width sets an MLP's hidden width; a CNN's width is its --channels/],
    [["train", "--method", "wt", "--width", "8", "--channels", "4"], /fwdgrad: --channels sets a CNN's channels: add --model cnn/],
    [["train", "--method", "wt", "--model", "rnn"], /fwdgrad: --model must be one of mlp, cnn, got "rnn"/],
    [["reproduce", "accuracy-width", "--model", "cnn", "--channels", "4"], /fwdgrad: --channels is one CNN's; accuracy-width's channel counts are its --widths/],
    [["reproduce", "baydin", "--model", "cnn"], /fwdgrad: --model does not apply to baydin/],
  ] as const) {
    const { code, err } = fwdgrad(...args);
    assert.is(code, 2, `${args.join(" ")}: exit code`);
    const lines = err.trim().split("\n");
    assert.is(lines.length, 2, `${args.join(" ")}: one message line and one usage line, got ${err}`);
    assert.match(lines[0], message);
    assert.match(lines[1], /^usage: /);
  }
});

Cli("data mnist1d writes the published set's format", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-data-"));
  try {
    const { code } = fwdgrad("data", "mnist1d", "--out", dir);
    assert.is(code, 0);
    assert.equal(readdirSync(dir).sort(), ["meta.json", "test-x.f32", "test-y.u8", "train-x.f32", "train-y.u8"]);
    for (const [file, key] of [["train-x.f32", "trainX"], ["train-y.u8", "trainY"], ["test-x.f32", "testX"], ["test-y.u8", "testY"]] as const) {
      assert.is(createHash("sha256").update(readFileSync(join(dir, file))).digest("hex"), published.sha256[key], `${file}: the published bytes`);
    }
    assert.is(readFileSync(join(dir, "train-x.f32")).length, 4000 * 40 * 4);
    assert.is(JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")).features, 40);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli("quality --json prints one object with a row per linear layer", () => {
  const { code, out } = fwdgrad("quality", "--method", "wperp", "--width", "16", "--k", "4", "--batch", "32", "--draws", "2", "--json");
  assert.is(code, 0);
  const report = JSON.parse(out);
  assert.equal(Object.keys(report), ["method", "model", "width", "depth", "k", "guesses", "combine", "draws", "seed", "layers", "options"]);
  assert.equal(report.options, { guesses: 1, combine: "mean", k: 4, route: "fast", oversample: 2, tol: 0.05, exactTol: 3e-6, maxIter: 100, warmStartBytes: 268435456, passes: 1 }, "every option as the table resolved it");
  assert.equal([report.guesses, report.combine], [1, "mean"]);
  assert.is(report.layers.length, 4);
  assert.equal(Object.keys(report.layers[0]), ["layer", "cosine", "cosineWeights", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared", "biasFrom", "energyRatio", "energyRatioMin", "subspaceAgreement", "subspaceAgreementMin", "orthonormalityDefect"]);
  assert.is(report.layers[3].overlap, null, "the output layer has no guess subspace");
  assert.type(report.layers[0].overlap, "number");
  assert.is(report.layers[3].energyRatio, null, "the output layer has no basis");
  assert.ok(report.layers[0].energyRatio > 0.99 && report.layers[0].energyRatio < 1.0001, `energy ratio ${report.layers[0].energyRatio}`);
  assert.ok(report.layers[0].subspaceAgreementMin <= report.layers[0].subspaceAgreement);
  assert.ok(report.layers[0].orthonormalityDefect < 1e-3, `orthonormality defect ${report.layers[0].orthonormalityDefect}`);
  assert.is(report.layers[3].orthonormalityDefect, null);
});

Cli("train --json prints a line per epoch and a final line with weightsHash; resume continues", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-train-"));
  try {
    const { code, out } = fwdgrad("train", "--method", "wt", "--width", "16", "--epochs", "3", "--batch", "256", "--json", "--out", dir);
    assert.is(code, 0);
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    assert.is(lines.length, 4);
    assert.equal(Object.keys(lines[0]), ["epoch", "trainLoss", "trainAcc", "testAcc", "ms", "testLoss"]);
    assert.match(lines[3].weightsHash, /^[0-9a-f]{16}$/);
    const resumed = fwdgrad("train", "--resume", join(dir, "checkpoint.json"), "--epochs", "4", "--json");
    const resumedLines = resumed.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.is(resumedLines[0].epoch, 4, "resumes after the saved epoch");
    const whole = fwdgrad("train", "--method", "wt", "--width", "16", "--epochs", "4", "--batch", "256", "--json");
    assert.is(resumedLines[resumedLines.length - 1].weightsHash, JSON.parse(whole.out.trim().split("\n").pop()!).weightsHash, "resume = uninterrupted");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli("train --model cnn: the MNIST-1D CNN trains, resumes to an uninterrupted run's weights, the same at 1 and 3 threads", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-cnn-"));
  try {
    const cnn = ["--model", "cnn", "--channels", "6", "--batch", "400", "--lr", "0.01", "--bias", "--json"];
    const last = (out: string) => JSON.parse(out.trim().split("\n").pop()!);
    const first = fwdgrad("train", "--method", "wperp", "--k", "3", ...cnn, "--epochs", "2", "--out", dir, "--threads", "1");
    assert.is(first.code, 0, first.err);
    const resumed = fwdgrad("train", "--resume", join(dir, "checkpoint.json"), "--epochs", "3", "--json", "--threads", "3");
    assert.is(resumed.code, 0, resumed.err);
    const whole = fwdgrad("train", "--method", "wperp", "--k", "3", ...cnn, "--epochs", "3", "--threads", "1");
    assert.is(last(resumed.out).weightsHash, last(whole.out).weightsHash, "resumed at 3 threads = uninterrupted at 1");
    const backprop = last(fwdgrad("train", "--method", "backprop", ...cnn, "--epochs", "3").out);
    assert.ok(backprop.weightsHash !== last(whole.out).weightsHash);
    const saved = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8"));
    assert.equal([saved.config.model, saved.config.width, saved.config.bias], ["cnn", 6, true], "the checkpoint records the architecture");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli("reproduce --model cnn: the table's methods on the CNN at --channels, into <out>/cnn/", () => {
  const out = mkdtempSync(join(tmpdir(), "fwdgrad-cnn-table-"));
  try {
    const run = fwdgrad("reproduce", "table3", "--model", "cnn", "--channels", "4", "--epochs", "1", "--seeds", "1", "--batch", "1000", "--out", out, "--json", "--threads", "1");
    assert.is(run.code, 0, run.err);
    const report = JSON.parse(readFileSync(join(out, "cnn", "table3.json"), "utf8"));
    assert.equal(report.cells.map((c: { width: number; method: string }) => `${c.method}@${c.width}`), ["forward-gradient@4", "activation-perturbation@4", "wt@4", "wperp@4", "backprop@4"]);
    assert.ok(readdirSync(join(out, "cnn", "table3")).includes("wperp-w4-s0"), "its state is the CNN's own");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

Cli("--threads 1 and 3 give the same weights; the process ends after a run, an error or Ctrl-C", async () => {
  const hashes = ["1", "3"].map((threads) => {
    const run = fwdgrad("train", "--method", "wperp", "--width", "48", "--epochs", "2", "--batch", "128", "--json", "--threads", threads);
    assert.is(run.code, 0, run.err);
    return JSON.parse(run.out.trim().split("\n").pop()!).weightsHash;
  });
  assert.is(hashes[1], hashes[0], "3 threads = 1 thread");
  const failed = fwdgrad("train", "--method", "wt", "--width", "32", "--threads", "2", "--resume", "no-such-checkpoint.json");
  assert.is(failed.code, 2, failed.err);
  assert.match(failed.err, /--resume no-such-checkpoint.json: no such file/);
  const child = spawn(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", "train", "--method", "wt", "--width", "256", "--epochs", "1000", "--json", "--threads", "2"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  child.kill("SIGINT");
  const ended = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
  if (!ended) child.kill("SIGKILL");
  assert.ok(ended, "the process ended within 10 s of SIGINT");
  assert.ok(ended!.signal === "SIGINT" || ended!.code === 130, `ended by SIGINT: ${JSON.stringify(ended)}`);
});

Cli("a run killed while saving leaves a readable checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-kill-"));
  try {
    for (const delay of [300, 1100]) {
      rmSync(join(dir, "checkpoint.json"), { force: true });
      const child = spawn(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", "train", "--method", "wt", "--width", "64", "--epochs", "1000", "--batch", "128", "--json", "--out", dir], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Killed `delay` ms after its first checkpoint appears (so a slow, loaded machine's start-up
      // cannot make it die before saving anything), which lands in or between later saves.
      const firstSave = (async () => {
        for (let waited = 0; waited < 60_000 && !existsSync(join(dir, "checkpoint.json")); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, delay));
        return false;
      })();
      const early = await Promise.race([exited.then(() => true), firstSave]);
      assert.not.ok(early, `the training run ended before it was killed: ${stderr}`);
      child.kill("SIGKILL");
      await exited;
      const checkpoint = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8"));
      assert.is(checkpoint.format, "fwdgrad-checkpoint");
      assert.is(checkpoint.version, 2);
      assert.ok(checkpoint.epoch >= 1, `saved epoch ${checkpoint.epoch}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli("compare writes results.json and plots; --json parses", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-compare-"));
  try {
    const { code, out } = fwdgrad("compare", "--methods", "wt,backprop", "--width", "16", "--epochs", "2", "--batch", "256", "--out", dir, "--json");
    assert.is(code, 0);
    const report = JSON.parse(out);
    assert.equal(report.runs.map((r: { method: string }) => r.method), ["wt", "backprop"]);
    assert.ok(readdirSync(dir).includes("accuracy.svg") && readdirSync(dir).includes("results.json"));
    assert.match(readFileSync(join(dir, "accuracy.svg"), "utf8"), /^<svg /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli("compare --quality-every records the basis fidelity and plots it for methods with a basis", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-fidelity-"));
  try {
    const { code, err } = fwdgrad("compare", "--methods", "wperp,wt", "--width", "16", "--k", "4", "--epochs", "1", "--batch", "256", "--quality-every", "1", "--out", dir, "--json");
    assert.is(code, 0, err);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    const [wperp, wt] = results.runs.map((r: { quality: Array<Record<string, (number | null)[]>> }) => r.quality);
    assert.is(wperp.length, 2, "at the start and after epoch 1");
    for (const key of ["energyRatio", "energyRatioMin", "subspaceAgreement", "subspaceAgreementMin"]) {
      // At the start the basis comes from a converged cold start; after an epoch from one warm
      // refinement per example, which may lag (what the measure is for): a ratio in (0, 1] then.
      assert.ok(wperp[0][key].slice(0, 3).every((v: number) => v > 0.99 && v < 1.0001), `${key} at the start: ${wperp[0][key]}`);
      assert.ok(wperp[1][key].slice(0, 3).every((v: number) => v > 0 && v < 1.0001), `${key}: ${wperp[1][key]}`);
      assert.is(wperp[1][key][3], null, "the output layer has no basis");
      assert.ok(wt[1][key].every((v: number | null) => v === null), `wt has no basis: ${key}`);
    }
    const svg = readFileSync(join(dir, "fidelity.svg"), "utf8");
    assert.match(svg, /^<svg /);
    assert.match(svg, /wperp L0/);
    assert.not.match(svg, /wt L0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Cli.run();
