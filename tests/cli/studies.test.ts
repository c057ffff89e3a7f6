// The width studies through the CLI on tiny widths: quality-width and accuracy-width write results
// that parse, with commit, settings and plots; a second invocation reuses the state folder; a run
// taken further continues from its checkpoint to the weights of one uninterrupted run; study flags
// are refused where they do not apply.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertRefused, fwdgrad } from "./run-cli.ts";

const Studies = suite("cli: width studies");
const dir = mkdtempSync(join(tmpdir(), "fwdgrad-studies-"));

Studies("quality-width on tiny widths: every estimator at both stages, a summary, plots; a rerun reuses every part", () => {
  const out = join(dir, "quality");
  const args = ["reproduce", "quality-width", "--widths", "8,16", "--draws", "2", "--rows", "32", "--pretrain-epochs", "1", "--k", "2", "--methods", "wt,wperp,wperp:project:4,forward-gradient", "--out", out, "--threads", "1"];
  const first = fwdgrad(...args);
  assert.is(first.code, 0, first.err);
  const report = JSON.parse(readFileSync(join(out, "quality-width.json"), "utf8"));
  assert.is(report.experiment, "quality-width");
  assert.match(report.commit, /^([0-9a-f]{12}(\+dirty)?|unknown)$/);
  assert.equal(report.settings.widths, [8, 16]);
  assert.is(report.cells.length, 2 * 2 * 4, "widths × stages × estimators");
  for (const cell of report.cells) {
    assert.is(cell.layers.length, 4, `${cell.label}: one row per linear layer`);
    assert.ok(cell.peakHeapBytes > 0 && cell.peakHeapBytes < 2 ** 32, `${cell.label}: the heap's peak is kept (${cell.peakHeapBytes} bytes)`);
    const hidden = cell.layers.slice(0, -1).map((l: { cosine: number | null }) => l.cosine);
    if (cell.label === "forward-gradient") assert.ok(hidden.every((c: number | null) => c === null), "weight perturbation has no activation estimates");
    else assert.ok(hidden.every((c: number | null) => typeof c === "number" && c >= -1 && c <= 1), `${cell.label}: cosines ${hidden}`);
  }
  assert.ok(report.cells.filter((c: { label: string }) => c.label === "wperp:project:4").every((c: { layers: Array<{ biasFrom: string }> }) => c.layers[0].biasFrom === "draws"));
  assert.is(report.pretraining.length, 2);
  for (const stage of ["init", "trained"]) assert.match(readFileSync(join(out, `quality-width-${stage}.svg`), "utf8"), /^<svg/);
  assert.match(first.out, /per-example activation gradients' cosine/);
  const again = fwdgrad(...args);
  assert.is(again.code, 0, again.err);
  assert.not.match(again.out, /cosine per layer/, "nothing measured again");
  assert.equal(JSON.parse(readFileSync(join(out, "quality-width.json"), "utf8")).cells, report.cells);
});

Studies("quality-width: an interrupted backprop pretraining continues from its checkpoint to the weights of one uninterrupted run", () => {
  const out = join(dir, "pretraining");
  const first = fwdgrad("train", "--method", "backprop", "--width", "8", "--epochs", "1", "--out", join(out, "epoch-1"), "--threads", "1");
  assert.is(first.code, 0, first.err);
  // The pretraining's checkpoint after epoch 1 of 2 (its configuration has no subspace rank).
  const checkpoint = JSON.parse(readFileSync(join(out, "epoch-1", "checkpoint.json"), "utf8"));
  delete checkpoint.config.k;
  const state = join(out, "quality-width");
  mkdirSync(state, { recursive: true });
  // In the text form, as studies begun before the binary form kept it; with the seconds it had taken.
  writeFileSync(join(state, "w8-s0-backprop-2.checkpoint.json"), JSON.stringify(checkpoint));
  writeFileSync(join(state, "w8-s0-backprop-2.progress.json"), JSON.stringify({ seconds: 1000, epoch: 1 }));
  const study = fwdgrad("reproduce", "quality-width", "--widths", "8", "--draws", "2", "--rows", "32", "--pretrain-epochs", "2", "--methods", "wt", "--out", out, "--threads", "1");
  assert.is(study.code, 0, study.err);
  assert.match(study.out + study.err, /backprop pretraining: continuing from epoch 1/);
  const whole = fwdgrad("train", "--method", "backprop", "--width", "8", "--epochs", "2", "--json", "--threads", "1");
  const summary = JSON.parse(readFileSync(join(state, "w8-s0-backprop-2.json"), "utf8"));
  assert.is(summary.weightsHash, JSON.parse(whole.out.trim().split("\n").pop()!).weightsHash);
  assert.is(summary.epochs, 2);
  assert.ok(summary.seconds >= 1000, `the pretraining's seconds continue from its progress: ${summary.seconds}`);
  for (const left of ["checkpoint.json", "checkpoint.bin", "progress.json"]) assert.not.ok(existsSync(join(state, `w8-s0-backprop-2.${left}`)), `${left} goes once the weights are saved`);
  // A checkpoint of another run is refused by name.
  for (const done of ["w8-s0-backprop-2.json", "w8-s0-trained-2.json"]) rmSync(join(state, done));
  // (An option backprop does not take, such as the k every train run once recorded, makes no other run: a learning rate does.)
  const other = JSON.parse(readFileSync(join(out, "epoch-1", "checkpoint.json"), "utf8"));
  other.config.lr *= 2;
  writeFileSync(join(state, "w8-s0-backprop-2.checkpoint.json"), JSON.stringify(other));
  assertRefused(["reproduce", "quality-width", "--widths", "8", "--draws", "2", "--rows", "32", "--pretrain-epochs", "2", "--methods", "wt", "--out", out, "--threads", "1"],
    /w8-s0-backprop-2.checkpoint.json: a checkpoint of another configuration; remove it to start w8 s0 backprop pretraining again/);
});

Studies("accuracy-width: mean ± std over seeds, the W̃⊥ − Wᵀ gap per width; more epochs continue each run from its checkpoint", () => {
  const out = join(dir, "accuracy");
  const args = (epochs: number) => ["reproduce", "accuracy-width", "--widths", "8", "--seeds", "2", "--epochs", String(epochs), "--methods", "wt,wperp,backprop", "--k", "2", "--out", out, "--threads", "1", "--json"];
  const short = fwdgrad(...args(2));
  assert.is(short.code, 0, short.err);
  const longer = fwdgrad(...args(3));
  assert.is(longer.code, 0, longer.err);
  const report = JSON.parse(readFileSync(join(out, "accuracy-width.json"), "utf8"));
  assert.is(report.runs.length, 3 * 2);
  assert.ok(report.runs.every((r: { epochs: number; history: unknown[] }) => r.epochs === 3 && r.history.length === 3));
  assert.equal(report.cells.map((c: { label: string; seeds: number[] }) => [c.label, c.seeds]), [["wt", [0, 1]], ["wperp", [0, 1]], ["backprop", [0, 1]]]);
  assert.is(report.gaps[0].wperpMinusWt.n, 2);
  assert.match(readFileSync(join(out, "accuracy-width.svg"), "utf8"), /^<svg/);
  assert.ok(existsSync(join(out, "accuracy-width", "wperp-w8-s1", "checkpoint.bin")), "runs keep binary checkpoints");
  // The continued run ends where one uninterrupted run of 3 epochs ends.
  const fresh = fwdgrad("train", "--method", "wperp", "--width", "8", "--k", "2", "--epochs", "3", "--seed", "1", "--json", "--threads", "1");
  const hash = JSON.parse(fresh.out.trim().split("\n").pop()!).weightsHash;
  assert.is(report.runs.find((r: { label: string; seed: number }) => r.label === "wperp" && r.seed === 1).weightsHash, hash);
});

Studies("reproduce table3: one run per method and seed, resumable: more epochs continue each run from its checkpoint", () => {
  const out = join(dir, "table3");
  const args = (epochs: number) => ["reproduce", "table3", "--seeds", "1", "--epochs", String(epochs), "--depth", "1", "--out", out, "--threads", "1", "--json"];
  const short = fwdgrad(...args(1));
  assert.is(short.code, 0, short.err);
  assert.ok(existsSync(join(out, "table3", "wperp-w128-s0", "checkpoint.bin")), "each run keeps a checkpoint in the table's state folder");
  const longer = fwdgrad(...args(2));
  assert.is(longer.code, 0, longer.err);
  const report = JSON.parse(readFileSync(join(out, "table3.json"), "utf8"));
  assert.equal(report.cells.map((c: { method: string }) => c.method), ["forward-gradient", "activation-perturbation", "wt", "wperp", "backprop"]);
  assert.ok(report.runs.every((r: { epochs: number; history: unknown[] }) => r.epochs === 2 && r.history.length === 2));
  // The continued run ends where one uninterrupted run of 2 epochs ends.
  const fresh = fwdgrad("train", "--method", "wt", "--width", "128", "--depth", "1", "--epochs", "2", "--seed", "0", "--json", "--threads", "1");
  const hash = JSON.parse(fresh.out.trim().split("\n").pop()!).weightsHash;
  assert.is(report.runs.find((r: { label: string }) => r.label === "wt").weightsHash, hash);
});

Studies("accuracy-width: a run past its time budget stops there, says so, and is compared with Wᵀ at the epoch it reached", () => {
  const out = join(dir, "budget");
  const common = ["--widths", "8", "--seeds", "1", "--epochs", "3", "--k", "2", "--out", out, "--threads", "1"];
  const stopped = fwdgrad("reproduce", "accuracy-width", "--methods", "wperp", "--max-minutes", "0.00001", ...common);
  assert.is(stopped.code, 0, stopped.err);
  const both = fwdgrad("reproduce", "accuracy-width", "--methods", "wt,wperp", ...common);
  assert.is(both.code, 0, both.err);
  const report = JSON.parse(readFileSync(join(out, "accuracy-width.json"), "utf8"));
  const run = (label: string) => report.runs.find((r: { label: string }) => r.label === label);
  assert.is(run("wperp").epochs, 1);
  assert.match(run("wperp").stopped, /time budget/);
  assert.is(run("wt").epochs, 3);
  assert.equal(report.gaps[0].epochs, [1]);
  assert.is(report.gaps[0].wperpMinusWt.mean, run("wperp").history[0].trainAcc - run("wt").history[0].trainAcc);
  assert.match(both.out, /w8 [+-]\d\.\d{3} \(1 seed, at epoch 1\)/, "one seed gives a value, not a spread of zero");
  assert.is(report.gaps[0].wperpMinusWt.std, null);
  assert.match(readFileSync(join(out, "accuracy-width.svg"), "utf8"), /after 3 epochs \(time budget: wperp w8: 1\)/, "the plot says which runs stopped early");
});

Studies("a damaged state file is refused, naming it, before its part is reused", () => {
  const out = join(dir, "accuracy");
  const result = join(out, "accuracy-width", "wt-w8-s0", "result.json");
  writeFileSync(result, JSON.stringify({ label: "wt", config: {}, epochs: "three" }));
  assertRefused(["reproduce", "accuracy-width", "--widths", "8", "--seeds", "2", "--epochs", "3", "--methods", "wt,wperp,backprop", "--k", "2", "--out", out, "--threads", "1"],
    /wt-w8-s0\/result.json: not a state file of this study \(epochs is not a number\); remove it to start that part again/);
  writeFileSync(result, "{");
  assertRefused(["reproduce", "accuracy-width", "--widths", "8", "--seeds", "2", "--epochs", "3", "--methods", "wt,wperp,backprop", "--k", "2", "--out", out, "--threads", "1"], /result.json: not a state file of this study/);
});

Studies("study flags are refused where they do not apply", () => {
  assertRefused(["reproduce", "table1", "--draws", "3"], /--draws belongs to the width studies/);
  assertRefused(["reproduce", "quality-width", "--max-minutes", "3"], /--max-minutes does not apply to quality-width/);
  assertRefused(["reproduce", "accuracy-width", "--pretrain-epochs", "3"], /--pretrain-epochs does not apply to accuracy-width/);
  assertRefused(["reproduce", "quality-width", "--methods", "wt,backprop"], /leave backprop out/);
  assertRefused(["reproduce", "quality-width", "--widths", "8,x"], /"x" is not a width/);
  assertRefused(["reproduce", "accuracy-width", "--widths", "8,8"], /--widths names 8 twice/);
  assertRefused(["compare", "--methods", "wt:project:0", "--width", "8"], /"0" is not a guess count \(an integer from 1 to 1024\)/);
  assertRefused(["compare", "--methods", "wperp:mean:project", "--width", "8"], /"project" is not a guess count/);
  assertRefused(["compare", "--methods", "wperp:3:7", "--width", "8"], /"7" is not a combination \(mean, project\)$/);
  assertRefused(["train", "--method", "wt", "--width", "8", "--combine", "sum"], /--combine must be one of mean, project, got "sum"/);
  assert.not.ok(existsSync(join(dir, "never")));
});

Studies("demo (npm start's job) on tiny settings: its record parses, both plots exist, and the text reads the numbers back", () => {
  const out = join(dir, "demo");
  const run = fwdgrad("demo", "--widths", "16,32", "--warmup", "1", "--draws", "2", "--rows", "64", "--width", "16", "--epochs", "2", "--out", out, "--threads", "1");
  assert.is(run.code, 0, run.err);
  const record = JSON.parse(readFileSync(join(out, "demo.json"), "utf8"));
  assert.equal(record.alignment.map((a: { width: number }) => a.width), [16, 32]);
  for (const a of record.alignment) {
    for (const label of ["activation-perturbation", "wt", "wperp", "wperp:project:10"]) assert.ok(Math.abs(a.cosine[label]) <= 1, `${label} at ${a.width}: ${a.cosine[label]}`);
  }
  assert.equal(record.training.map((t: { method: string; history: unknown[] }) => [t.method, t.history.length]), [["wt", 2], ["wperp", 2], ["wt:project:10", 2], ["wperp:project:10", 2], ["backprop", 2]]);
  for (const file of ["alignment.svg", "accuracy.svg"]) assert.match(readFileSync(join(out, file), "utf8"), /^<svg[^]*<\/svg>\n$/);
  const wperp = record.alignment[1].cosine.wperp.toFixed(3);
  assert.ok(run.out.includes(`(one guess: ${wperp})`), "the summary quotes the measured cosine");
  assert.match(run.out, /What this shows/);
  assert.ok(run.out.includes(`Backprop, which needs the backward pass, reaches ${(record.training[4].history[1].trainAcc * 100).toFixed(1)}%`));
  assertRefused(["demo", "--widths", "8,32"], /--widths "8,32": give widths from 10 to 4096/);
});

Studies.after(() => rmSync(dir, { recursive: true, force: true }));
Studies.run();
