// `train --resume` as users run it: a resumed wperp run ends with the weights of an uninterrupted
// one; damaged files, folders, contradicting flags and other data get one `fwdgrad: …` line, a usage
// line and exit 2, with no stack trace. Node only: it spawns the CLI and writes files.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertRefused, fwdgrad } from "./run-cli.ts";
import { encodeCheckpoint, parseCheckpoint } from "../../train/checkpoint.ts";

const Resume = suite("train --resume");
const scratch = mkdtempSync(join(tmpdir(), "fwdgrad-resume-"));

/** The final JSON line of a successful `train --json`. */
function finalLine(args: string[]): Record<string, unknown> {
  const { code, out, err } = fwdgrad("train", "--json", ...args);
  assert.is(code, 0, `train ${args.join(" ")}: ${err}`);
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}


// A small CSV data set: 40 rows of 4 features, 4 classes (class c raises feature c).
const csv = join(scratch, "small.csv");
const otherCsv = join(scratch, "other.csv");
const rows = (shift: number) => Array.from({ length: 40 }, (_, i) => {
  const label = i % 4;
  return [0, 1, 2, 3].map((f) => (f === label ? 1 : 0) + ((i * 7 + f * 3 + shift) % 5) / 10).join(",") + `,${label}`;
});
writeFileSync(csv, `${rows(0).join("\n")}\n`);
writeFileSync(otherCsv, `${rows(1).join("\n")}\n`);
const run = ["--method", "wperp", "--width", "8", "--k", "3", "--batch", "8", "--lr", "0.01", "--data", csv];
const half = join(scratch, "half");
const checkpoint = join(half, "checkpoint.json");

Resume("1 + 1 epochs of wperp through a checkpoint equal 2 epochs", () => {
  const whole = finalLine([...run, "--epochs", "2"]);
  finalLine([...run, "--epochs", "1", "--out", half]);
  const resumed = finalLine(["--resume", checkpoint, "--epochs", "2", "--data", csv]);
  assert.is(resumed.epoch, 2);
  assert.is(resumed.weightsHash, whole.weightsHash);
  // The same state in the binary form (what --out writes for a state too large for JSON text).
  const binary = join(scratch, "checkpoint.bin");
  writeFileSync(binary, Buffer.concat(encodeCheckpoint(parseCheckpoint(readFileSync(checkpoint, "utf8")))));
  assert.is(finalLine(["--resume", binary, "--epochs", "2", "--data", csv]).weightsHash, whole.weightsHash);
  // On a smaller or busier machine: another thread count, the same numbers.
  for (const threads of ["1", "3"]) assert.is(finalLine(["--resume", checkpoint, "--epochs", "2", "--data", csv, "--threads", threads]).weightsHash, whole.weightsHash, `--threads ${threads}`);
  const damaged = readFileSync(binary);
  damaged[damaged.length - 1] ^= 1;
  writeFileSync(binary, damaged);
  assertRefused(["train", "--resume", binary, "--data", csv], /^fwdgrad: --resume .*checkpoint.bin: checkpoint: (checksum is [0-9a-f]{16}, but the arrays hash to|.*holds)/);
});

Resume("bad checkpoints, folders, contradicting flags and other data are refused", () => {
  const saved = JSON.parse(readFileSync(checkpoint, "utf8"));
  const write = (name: string, text: string) => {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return path;
  };
  assertRefused(["train", "--resume", half], /^fwdgrad: --resume .*half: not a file/);
  assertRefused(["train", "--resume", join(scratch, "missing.json")], /no such file/);
  assertRefused(["train", "--resume", write("null.json", "null")], /checkpoint: the file must be an object, got null/);
  assertRefused(["train", "--resume", write("cut.json", JSON.stringify(saved).slice(0, 500))], /checkpoint: not valid JSON/);
  assertRefused(["train", "--resume", write("crc.json", JSON.stringify({ ...saved, checksum: "0123456789abcdef" }))], /checksum is 0123456789abcdef, but the arrays hash to/);
  assertRefused(["train", "--resume", write("step.json", JSON.stringify({ ...saved, optimizer: { ...saved.optimizer, step: 1e12 } }))], /optimizer.step is 1000000000000, the run's step 4/);
  for (const [flag, value] of [["width", "16"], ["method", "wt"], ["lr", "0.1"], ["seed", "3"], ["batch", "4"], ["depth", "2"], ["k", "2"]]) {
    assertRefused(["train", "--resume", checkpoint, "--data", csv, `--${flag}`, value], new RegExp(`^fwdgrad: --${flag} ${value} contradicts the checkpoint \\(${flag} [^)]+\\); with --resume only --epochs, --out, --json, --data, --threads may be given`));
  }
  assertRefused(["train", "--resume", checkpoint, "--data", csv, "--width", "8"], /^fwdgrad: --width 8 is fixed by the checkpoint \(width 8\); with --resume only/);
  assertRefused(["train", "--resume", checkpoint, "--data", otherCsv, "--epochs", "2"], /the checkpoint was trained on other data \(32 \+ 8 rows of 4 features, 4 classes, fingerprint [0-9a-f]{16}\) than this run's/);
  assertRefused(["train", "--resume", checkpoint, "--epochs", "2"], /the checkpoint was trained on other data/);
});

Resume.run();
