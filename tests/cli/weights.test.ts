// Weights out and in as users run them: train → export → predict (from the checkpoint and from the
// .safetensors file, the same rows) → train --init → --resume of that run; refusals with exit 2 and
// one line; and, where Python's safetensors package is installed, its reference reader loads our
// file and writes one we load. Node only: it spawns the CLI and writes files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ready } from "../../engine/backend.ts";
import { parseSafetensors } from "../../models/safetensors.ts";
import { createMlp } from "../../models/mlp.ts";
import { loadWeights, predict, saveWeights } from "../../models/weights.ts";
import { parseCheckpoint } from "../../train/checkpoint.ts";
import { assertRefused, fwdgrad } from "./run-cli.ts";

await ready();
const Weights = suite("export, predict, train --init");
const scratch = mkdtempSync(join(tmpdir(), "fwdgrad-weights-"));

// 40 rows of 4 features, 4 classes (class c raises feature c).
const csv = join(scratch, "small.csv");
const rows = Array.from({ length: 40 }, (_, i) => {
  const label = i % 4;
  return [0, 1, 2, 3].map((f) => (f === label ? 1 : 0) + ((i * 7 + f * 3) % 5) / 10).join(",") + `,${label}`;
});
writeFileSync(csv, `${rows.join("\n")}\n`);
const unlabelled = join(scratch, "unlabelled.csv");
writeFileSync(unlabelled, `${rows.map((r) => r.split(",").slice(0, 4).join(",")).join("\n")}\n`);
const run = ["--method", "wperp", "--k", "3", "--batch", "8", "--lr", "0.01", "--data", csv, "--threads", "1"];
const first = join(scratch, "first");
const checkpoint = join(first, "checkpoint.json");
const model = join(scratch, "model.safetensors");

function ok(...args: string[]): { out: string; err: string } {
  const result = fwdgrad(...args);
  assert.is(result.code, 0, `${args.join(" ")}: ${result.err}`);
  return result;
}

Weights("train → export → predict: the checkpoint's and the file's predictions are the same rows", () => {
  ok("train", ...run, "--width", "8", "--depth", "2", "--epochs", "2", "--out", first);
  const exported = ok("export", "--checkpoint", checkpoint, "--out", model);
  assert.match(exported.out, /model\.safetensors: \d+ weights of an MLP \[4, 8, 8, 4\]/);
  // The file's weights are the checkpoint's, bit for bit, under PyTorch's names.
  const state = parseCheckpoint(readFileSync(checkpoint, "utf8"));
  const file = parseSafetensors(readFileSync(model));
  assert.equal([...file.tensors.keys()], ["0.weight", "2.weight", "4.weight"]);
  assert.equal(file.tensors.get("0.weight")!.shape, [8, 4]);
  file.tensors.forEach((t, name) => {
    const i = Number(name.split(".")[0]) / 2;
    assert.equal(new Uint32Array(t.data.buffer), new Uint32Array(state.weights[i].buffer), name);
  });
  const version = (JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version;
  assert.is(file.metadata["fwdgrad.version"], version, "fwdgrad.version is package.json's");

  const fromFile = ok("predict", "--checkpoint", model, "--data", csv, "--threads", "1");
  const fromCheckpoint = ok("predict", "--checkpoint", checkpoint, "--data", csv, "--threads", "1");
  assert.is(fromFile.out, fromCheckpoint.out);
  const lines = fromFile.out.trim().split("\n");
  assert.is(lines[0], "label,p0,p1,p2,p3");
  assert.is(lines.length, 41, "a header and one row per input");
  assert.match(fromFile.err, /^fwdgrad: accuracy \d+\.\d\d% \(\d+ of 40 labelled rows\)\n$/);
  // The CLI's rows are the library's predictions.
  const x = new Float32Array(rows.flatMap((r) => r.split(",").slice(0, 4).map(Number)));
  const { labels, probabilities } = predict(loadWeights(readFileSync(model)), x);
  lines.slice(1).forEach((line, r) => {
    const cells = line.split(",").map(Number);
    assert.is(cells[0], labels[r]);
    cells.slice(1).forEach((p, c) => assert.is(Math.fround(p), probabilities[r * 4 + c], `row ${r} class ${c}`));
  });
  // Rows without labels: the same predictions, no accuracy; --out writes the same text.
  const bare = ok("predict", "--checkpoint", model, "--data", unlabelled, "--threads", "1");
  assert.is(bare.out, fromFile.out);
  assert.is(bare.err, "");
  const written = join(scratch, "predictions.csv");
  const toFile = ok("predict", "--checkpoint", model, "--data", csv, "--out", written, "--threads", "1");
  assert.is(toFile.out, "");
  assert.is(readFileSync(written, "utf8"), fromFile.out);
});

Weights("train --init starts from the file's weights, and that run resumes bit for bit", () => {
  const second = join(scratch, "second");
  // The width and depth come from the file.
  const started = JSON.parse(ok("train", ...run, "--init", model, "--epochs", "1", "--json", "--out", second).out.trim().split("\n").pop()!);
  const state = parseCheckpoint(readFileSync(join(second, "checkpoint.json"), "utf8"));
  assert.is(state.config.width, 8);
  assert.is(state.config.depth, 2);
  assert.match(state.config.init!, /^[0-9a-f]{16}$/);
  // Zero epochs from --init keep the file's weights: exported again, the same bytes.
  const zero = join(scratch, "zero");
  ok("train", ...run, "--init", model, "--epochs", "0", "--out", zero);
  const whole = JSON.parse(ok("train", ...run, "--init", model, "--epochs", "2", "--json").out.trim().split("\n").pop()!);
  const resumed = JSON.parse(ok("train", "--resume", join(second, "checkpoint.json"), "--epochs", "2", "--json", "--data", csv, "--threads", "1").out.trim().split("\n").pop()!);
  assert.is(resumed.weightsHash, whole.weightsHash, "1 + 1 epochs from --init equal 2");
  assert.is.not(started.weightsHash, whole.weightsHash);
  const fresh = JSON.parse(ok("train", ...run, "--width", "8", "--depth", "2", "--epochs", "2", "--json").out.trim().split("\n").pop()!);
  assert.is.not(fresh.weightsHash, whole.weightsHash, "--init changes the run");
});

Weights("refusals: exit 2, one line naming what is wrong", () => {
  const text = join(scratch, "text.safetensors");
  writeFileSync(text, "not a model at all");
  const wide = join(scratch, "wide.safetensors");
  writeFileSync(wide, saveWeights(createMlp([4, 16, 16, 4], { seed: 1 })));
  const other = join(scratch, "other.safetensors");
  writeFileSync(other, saveWeights(createMlp([5, 8, 8, 3], { seed: 1 })));
  const damaged = join(scratch, "damaged.safetensors");
  const bytes = readFileSync(model);
  writeFileSync(damaged, bytes.subarray(0, bytes.length - 4));
  assertRefused(["train", ...run, "--init", model, "--resume", checkpoint], /--init and --resume do not go together/);
  assertRefused(["train", ...run, "--init", model, "--width", "16"], /--width 16 contradicts --init .*model\.safetensors \(an MLP of width 8: sizes \[4, 8, 8, 4\]\)/);
  assertRefused(["train", ...run, "--init", wide, "--depth", "3"], /--depth 3 contradicts --init/);
  assertRefused(["train", ...run, "--init", other], /the model takes 5 inputs and gives 3 outputs \(sizes \[5, 8, 8, 3\]\), the data has 4 features and 4 classes/);
  assertRefused(["train", ...run, "--init", text], /not a safetensors file/);
  assertRefused(["train", ...run, "--init", damaged], /safetensors: .*beyond the data/);
  assertRefused(["train", ...run, "--init", checkpoint], /not a safetensors file/);
  assertRefused(["train", ...run, "--init", join(scratch, "missing.safetensors")], /no such file/);
  assertRefused(["export", "--checkpoint", model, "--out", join(scratch, "x.safetensors")], /a safetensors weights file, not a training checkpoint/);
  assertRefused(["export", "--checkpoint", checkpoint, "--out", scratch], /is a folder/);
  assertRefused(["export", "--checkpoint", checkpoint, "--out", join(scratch, "no", "x.safetensors")], /does not exist/);
  assertRefused(["export", "--checkpoint", checkpoint], /--out file is required/);
  const six = join(scratch, "six.safetensors");
  writeFileSync(six, saveWeights(createMlp([6, 3], { seed: 1 })));
  assertRefused(["predict", "--checkpoint", six, "--data", csv], /rows of 5 columns; the model takes 6 inputs \(give 6 columns, or 7 with the label last\)/);
  assertRefused(["predict", "--checkpoint", wide, "--data", join(scratch, "none.csv")], /no such file/);
  assertRefused(["predict", "--checkpoint", damaged, "--data", csv], /--checkpoint .*damaged\.safetensors: safetensors: /);
  const big = join(scratch, "labels.csv");
  writeFileSync(big, "1,0,0,0,7\n");
  assertRefused(["predict", "--checkpoint", model, "--data", big], /label 7 is not a class of the model/);
});

Weights("Python's safetensors reads our file and writes one we read (where it is installed)", () => {
  const probe = spawnSync("python3", ["-c", "import safetensors.numpy"], { encoding: "utf8" });
  if (probe.status !== 0) {
    console.log("  note: python3 with the safetensors package is not installed here; the reference-reader check did not run");
    return;
  }
  const ours = join(scratch, "ours.safetensors");
  writeFileSync(ours, saveWeights(createMlp([3, 5, 2], { seed: 4, bias: true }), { metadata: { "__proto__": "x", "0": "zero" } }));
  const theirs = join(scratch, "theirs.safetensors");
  const script = [
    "import sys, json, numpy as np",
    "from safetensors.numpy import load_file, save_file",
    "from safetensors import safe_open",
    "t = load_file(sys.argv[1])",
    "with safe_open(sys.argv[1], 'np') as f: meta = f.metadata()",
    "print(json.dumps({'names': sorted(t), 'shapes': {k: list(v.shape) for k, v in t.items()}, 'bits': {k: v.view(np.uint32).ravel().tolist() for k, v in t.items()}, 'meta': meta}))",
    "out = {'0.weight': np.arange(12, dtype=np.float32).reshape(4, 3) / 8, '0.bias': np.array([1, -1, 0.5, 2], dtype=np.float16), '2.weight': np.ones((2, 4), dtype=np.float32), '2.bias': np.array([0.25, -0.75], dtype=np.float64)}",
    "save_file(out, sys.argv[2], metadata={'format': 'pt'})",
  ].join("\n");
  const result = spawnSync("python3", ["-c", script, ours, theirs], { encoding: "utf8" });
  assert.is(result.status, 0, result.stderr);
  const seen = JSON.parse(result.stdout) as { names: string[]; shapes: Record<string, number[]>; bits: Record<string, number[]>; meta: Record<string, string> };
  const mine = parseSafetensors(readFileSync(ours));
  assert.equal(seen.names, [...mine.tensors.keys()].sort());
  for (const [name, t] of mine.tensors) {
    assert.equal(seen.shapes[name], t.shape, name);
    assert.equal(seen.bits[name], Array.from(new Uint32Array(t.data.buffer)), name);
  }
  assert.equal(seen.meta, mine.metadata);
  const loaded = loadWeights(readFileSync(theirs));
  assert.equal(loaded.sizes, [3, 4, 2]);
  assert.equal(Array.from(loaded.layers[0].w.toArray()), Array.from({ length: 12 }, (_, i) => i / 8));
  assert.equal(Array.from(loaded.layers[0].b!.toArray()), [1, -1, 0.5, 2]);
  assert.equal(Array.from(loaded.layers[1].b!.toArray()), [0.25, -0.75]);
  // A PyTorch-made file goes through the CLI too.
  const predicted = fwdgrad("predict", "--checkpoint", theirs, "--data", (writeFileSync(join(scratch, "three.csv"), "1,2,3\n"), join(scratch, "three.csv")), "--threads", "1");
  assert.is(predicted.code, 0, predicted.err);
  assert.match(predicted.out, /^label,p0,p1\n[01],/);
});

Weights.run();
