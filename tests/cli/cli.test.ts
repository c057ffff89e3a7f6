// The fwdgrad command line, run as a user would (Node only: it spawns processes and writes files).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";

const Cli = suite("cli");

function fwdgrad(...args: string[]) {
  const result = spawnSync(process.execPath, ["node_modules/tsx/dist/cli.mjs", "cli/fwdgrad.ts", ...args], { encoding: "utf8" });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

Cli("--help lists the commands", () => {
  const { code, out } = fwdgrad("--help");
  assert.is(code, 0);
  assert.match(out, /data\s+generate a data set/);
  assert.match(out, /quality\s+gradient quality/);
});

Cli("bad flags and values exit non-zero with one line and a usage hint", () => {
  for (const [args, message] of [
    [["quality", "--method", "nope", "--width", "8"], /fwdgrad: unknown estimator "nope"/],
    [["quality", "--method", "wt", "--width", "0"], /fwdgrad: --width must be at least 1, got 0/],
    [["quality", "--method", "wt", "--width", "x"], /fwdgrad: --width must be an integer, got "x"/],
    [["quality", "--method", "wperp", "--width", "8", "--k", "9"], /fwdgrad: --k 9 is larger than --width 8/],
    [["quality", "--width", "8"], /fwdgrad: --method <id> is required/],
    [["quality", "--method", "wt", "--width", "8", "--bogus"], /fwdgrad: unknown flag --bogus/],
    [["data", "mnist1d"], /fwdgrad: --out <dir> is required/],
    [["data", "cifar", "--out", "x"], /fwdgrad: unknown data set "cifar"/],
    [["train2"], /fwdgrad: unknown command "train2"/],
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
    assert.equal(readFileSync(join(dir, "train-y.u8")), readFileSync("../shared/data/mnist1d/train-y.u8"));
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
  assert.equal(Object.keys(report), ["method", "width", "depth", "k", "draws", "seed", "layers"]);
  assert.is(report.layers.length, 4);
  assert.equal(Object.keys(report.layers[0]), ["layer", "cosineWeights", "cosine", "bias", "variance", "covRms", "covFrobenius", "overlap", "overlapSquared"]);
  assert.is(report.layers[3].overlap, null, "the output layer has no guess subspace");
  assert.type(report.layers[0].overlap, "number");
});

Cli.run();
