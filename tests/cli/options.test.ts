// Options and losses on the command line: every estimator option reachable with --option, the named
// flags strict (an option the method does not take is refused before work), train and quality
// agreeing on defaults, shared options given to the methods that take them; --loss mse --targets n
// trains a regression from a CSV file and resumes it bit for bit.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertRefused, fwdgrad } from "./run-cli.ts";

const Options = suite("cli: estimator options and losses");
const dir = mkdtempSync(join(tmpdir(), "fwdgrad-options-"));

Options("--option reaches any option; an option the method does not take, or that none takes, is refused", () => {
  const one = fwdgrad("train", "--method", "wperp", "--width", "12", "--epochs", "1", "--batch", "256", "--k", "3", "--option", "tol=0.03", "--option", "oversample=1", "--json", "--threads", "1");
  assert.is(one.code, 0, one.err);
  assertRefused(["train", "--method", "wt", "--width", "12", "--k", "4"], /^fwdgrad: wt takes no option "k"; its options: guesses, combine, passes$/);
  assertRefused(["train", "--method", "backprop", "--width", "12", "--option", "guesses=2"], /^fwdgrad: backprop takes no option "guesses"; its options: none$/);
  assertRefused(["train", "--method", "wperp", "--width", "12", "--option", "tol=2"], /^fwdgrad: wperp: tol must be a number in \(0, 1\), got 2$/);
  assertRefused(["train", "--method", "wperp", "--width", "12", "--option", "route=slow"], /^fwdgrad: wperp: route must be one of "fast", "exact", got "slow"$/);
  assertRefused(["train", "--method", "wperp", "--width", "12", "--k", "3", "--option", "k=4"], /^fwdgrad: option k is given twice/);
  assertRefused(["train", "--method", "wperp", "--width", "12", "--option", "tol"], /^fwdgrad: --option takes name=value/);
  assertRefused(["compare", "--methods", "wt,backprop", "--width", "12", "--k", "4"], /^fwdgrad: option "k": none of wt, backprop takes it$/);
  const shared = fwdgrad("compare", "--methods", "wt,wperp", "--width", "12", "--k", "3", "--option", "tol=0.03", "--epochs", "1", "--batch", "256", "--out", join(dir, "compare"), "--json", "--threads", "1");
  assert.is(shared.code, 0, shared.err);
});

Options("train and quality make the same estimator: wp's route defaults to exact in both", () => {
  const quality = fwdgrad("quality", "--method", "wp", "--width", "8", "--batch", "16", "--draws", "1", "--json", "--threads", "1");
  assert.is(quality.code, 0, quality.err);
  assert.is(JSON.parse(quality.out).options.route, "exact");
  const help = fwdgrad("train", "--help");
  assert.match(help.out, /estimator options \(--option name=value/);
  assert.match(help.out, /\n {4}warmStartBytes +.*integer ≥ 0, default 268435456 \(256 MiB\)/);
});

Options("--loss mse --targets n trains a regression from a CSV file, and resumes it bit for bit", () => {
  const rows = Array.from({ length: 120 }, (_, i) => {
    const x = [Math.sin(i), Math.cos(0.7 * i), Math.sin(0.3 * i + 1)];
    return [...x, x[0] - 0.5 * x[1], 0.25 * x[2] + 0.1].map((v) => v.toFixed(5)).join(",");
  });
  const csv = join(dir, "regression.csv");
  writeFileSync(csv, `a,b,c,t1,t2\n${rows.join("\n")}\n`);
  const args = ["--method", "wt", "--width", "16", "--batch", "32", "--lr", "0.003", "--loss", "mse", "--targets", "2", "--data", csv, "--json", "--threads", "1"];
  const whole = fwdgrad("train", ...args, "--epochs", "4");
  assert.is(whole.code, 0, whole.err);
  const lines = whole.out.trim().split("\n").map((l) => JSON.parse(l));
  assert.is(lines[0].trainAcc, null, "no accuracy for a regression loss (null in JSON)");
  assert.ok(lines[3].trainLoss < lines[0].trainLoss, `train MSE ${lines[0].trainLoss} → ${lines[3].trainLoss}`);
  const out = join(dir, "half");
  assert.is(fwdgrad("train", ...args, "--epochs", "2", "--out", out).code, 0);
  const resumed = fwdgrad("train", "--resume", join(out, "checkpoint.json"), "--data", csv, "--epochs", "4", "--json");
  assert.is(resumed.code, 0, resumed.err);
  assert.is(JSON.parse(resumed.out.trim().split("\n").pop()!).weightsHash, lines[4].weightsHash);
  assertRefused(["train", "--method", "wt", "--width", "16", "--loss", "mse", "--data", csv], /^fwdgrad: --loss mse needs --targets n/);
  assertRefused(["train", "--method", "wt", "--width", "16", "--targets", "2", "--data", csv], /^fwdgrad: --targets names regression targets, which only --loss mse trains on$/);
  assertRefused(["train", "--method", "wt", "--width", "16", "--loss", "mse", "--targets", "2"], /^fwdgrad: --targets: MNIST-1D has class labels/);
});

Options.after(() => rmSync(dir, { recursive: true, force: true }));
Options.run();
