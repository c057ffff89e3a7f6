// Hostile input to the fwdgrad command line, run as users run it (`node --import tsx cli/fwdgrad.ts`):
// every bad argument, flag value, output folder or data file gets one `fwdgrad: …` line and a usage
// line, exit 2, before any work and without leaving files behind; a run stopped by a non-finite loss
// exits 1. Node only: it spawns processes and writes files.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FwdgradError } from "../../engine/errors.ts";
import { createEstimator, type EstimatorId } from "../../estimators/index.ts";
import { assertRefused, fwdgrad } from "./run-cli.ts";

const Hostile = suite("hostile input");
const scratch = mkdtempSync(join(tmpdir(), "fwdgrad-hostile-"));
/** An --out folder no refused command may create. */
const never = join(scratch, "never");
const aFile = join(scratch, "a-file");
writeFileSync(aFile, "not a folder\n");

/** A clean refusal (`assertRefused`) that also wrote nothing. */
function refused(args: string[], message: RegExp): void {
  assertRefused(args, message);
  assert.not.ok(existsSync(never), `${args.join(" ")}: left ${never} behind`);
}

/** A tiny training run on `data`: one epoch, width 8, writing into the folder that must never appear. */
const trainOn = (data: string, ...more: string[]) => ["train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "4", "--data", data, "--out", never, ...more];

Hostile("method, command, experiment and flag names from Object.prototype are unknown", () => {
  for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
    refused(["train", "--method", name, "--width", "8", "--out", never], new RegExp(`unknown method "${name}"; known: backprop, `));
    refused(["quality", "--method", name, "--width", "8"], new RegExp(`unknown estimator "${name}"; known: forward-gradient`));
    refused(["compare", "--methods", `wt,${name}`, "--width", "8", "--out", never], new RegExp(`unknown method "${name}"`));
    refused([name], new RegExp(`unknown command "${name}"`));
    refused(["reproduce", name, "--out", never], new RegExp(`unknown experiment "${name}"; known: table1, table3, table4`));
    refused(["train", `--${name}`, "1"], new RegExp(`unknown flag --${name}`));
  }
});

Hostile("the library registry: createEstimator refuses Object.prototype keys with a FwdgradError", () => {
  for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "isPrototypeOf"]) {
    try {
      createEstimator(name as EstimatorId);
      assert.unreachable(`createEstimator("${name}") returned`);
    } catch (error) {
      assert.instance(error, FwdgradError, `createEstimator("${name}"): ${String(error)}`);
      assert.match((error as Error).message, /unknown estimator/);
    }
  }
});

Hostile("a run stopped by a non-finite loss exits 1 (train; compare still writes its results and names the run)", () => {
  const csv = join(scratch, "lr.csv");
  writeFileSync(csv, `a,b,label\n${Array.from({ length: 20 }, (_, i) => `${i % 3},${(i * 7) % 5},${i % 2}`).join("\n")}\n`);
  const trained = fwdgrad("train", "--method", "wt", "--width", "8", "--epochs", "2", "--batch", "4", "--lr", "1e300", "--data", csv);
  assert.is(trained.code, 1, trained.err);
  assert.match(trained.err, /^fwdgrad: training stopped early: non-finite (loss|weights)/);
  assert.is(trained.err.trimEnd().split("\n").length, 1, trained.err);
  const out = join(scratch, "compare-stopped");
  const compared = fwdgrad("compare", "--methods", "wt,backprop", "--width", "8", "--epochs", "1", "--lr", "1e300", "--out", out, "--json");
  assert.is(compared.code, 1, compared.err);
  const lines = compared.err.trimEnd().split("\n");
  assert.is(lines.length, 2, compared.err);
  assert.match(lines[0], /^fwdgrad: wt \(width 8, seed 0\) stopped early: /);
  assert.match(lines[1], /^fwdgrad: backprop \(width 8, seed 0\) stopped early: /);
  assert.equal(JSON.parse(compared.out).runs.map((r: { stopped: string | null }) => typeof r.stopped), ["string", "string"]);
  assert.ok(readdirSync(out).includes("results.json"), "results are still written");
});

Hostile("compare --methods: empty lists, empty items, duplicates and unknown names", () => {
  for (const [list, message] of [
    [",", /--methods ",": empty method name/],
    ["wt,", /--methods "wt,": empty method name/],
    [",wt", /empty method name/],
    ["wt,,backprop", /empty method name/],
    [" ", /empty method name/],
    ["wt,wt", /--methods names "wt" twice/],
    ["wt, backprop ,wt", /--methods names "wt" twice/],
    ["nope", /unknown method "nope"/],
  ] as const) {
    refused(["compare", "--methods", list, "--width", "8", "--epochs", "1", "--out", never], message);
  }
  refused(["compare", "--methods=", "--width", "8"], /--methods needs a value/);
});

Hostile("--out naming an existing file, or a path below one", () => {
  refused(["train", "--method", "wt", "--width", "8", "--epochs", "1", "--out", aFile], /--out .*a-file: exists and is not a folder$/);
  refused(["data", "mnist1d", "--out", aFile], /--out .*a-file: exists and is not a folder$/);
  refused(["compare", "--methods", "wt", "--width", "8", "--epochs", "1", "--out", aFile], /--out .*a-file: exists and is not a folder$/);
  refused(["reproduce", "table3", "--epochs", "1", "--seeds", "1", "--out", aFile], /--out .*a-file: exists and is not a folder$/);
  refused(["data", "mnist1d", "--out", join(aFile, "inside")], /--out .*a-file\/inside: .*a-file is not a folder$/);
});

Hostile("numbers: decimal only, finite, within bounds; flags given once", () => {
  const train = (...flags: string[]) => ["train", "--method", "wt", "--out", never, ...flags];
  for (const width of ["0x10", "0o7", "0b1", "1e1", "Infinity", "NaN", " 8", "8 ", "1_0", "8.0", "--8", "٨"]) {
    refused(train("--width", width), /--width must be an integer, got ".*" \(plain decimal only\)|--width needs a value/);
  }
  refused(train("--width="), /--width needs a value/);
  refused(train("--width"), /--width needs a value/);
  refused(train("--width", "--json"), /--width needs a value/);
  refused(train("--width", "9007199254740993"), /--width is too large: 9007199254740993 is beyond ±2\^53/);
  refused(train("--width", "8", "--seed", "9007199254740992"), /--seed is too large/);
  refused(train("--width", "8", "--width", "8"), /--width is given more than once/);
  refused(train("--width", "8", "--json", "--json"), /--json is given more than once/);
  refused(train("--width", "8", "--json=yes"), /--json takes no value/);
  for (const lr of ["0x1", "Infinity", "-Infinity", "NaN", "1e", ".", "e5", "1,5", " 1e-4"]) {
    refused(train("--width", "8", "--lr", lr), /--lr must be a number, got ".*" \(plain decimal only\)/);
  }
  refused(train("--width", "8", "--lr", "1e400"), /--lr is too large: 1e400 is beyond the range of a double/);
  refused(train("--width", "8", "--lr", "0"), /--lr must be greater than 0, got 0/);
  refused(train("--width", "8", "--lr", "-1e-4"), /--lr must be greater than 0, got -1e-4/);
  refused(train("--width", "8", "--lr", "1e-400"), /--lr must be greater than 0, got 1e-400/);
  refused(train("--width", "8", "--depth", "100001"), /--depth must be at most 10000, got 100001/);
  refused(train("--width", "100000"), /width 100000 and depth 3 make 2\.00e\+10 parameters; at most 2\^28/);
  refused(["data", "mnist1d", "--out", never, "--seed", "4294967296"], /--seed must be at most 4294967295, got 4294967296/);
  refused(["data", "mnist1d", "--out", never, "--samples", "15"], /--samples must be a multiple of 10/);
  refused(["data", "mnist1d", "--out", never, "--samples", "1000000000"], /--samples must be at most 1000000, got 1000000000/);
});

Hostile("positional arguments: data sets, experiments, and none where a command takes none", () => {
  refused(["data", "mnist2d", "--out", never], /unknown data set "mnist2d"; known: mnist1d/);
  refused(["data", "--out", never], /unknown data set ""; known: mnist1d/);
  refused(["data", "mnist1d", "extra", "--out", never], /unexpected argument "extra"/);
  refused(["reproduce", "table3", "table4", "--out", never], /unexpected argument "table4"/);
  refused(["train", "--method", "wt", "--width", "8", "-x", "--out", never], /unexpected argument "-x"/);
  refused(["quality", "--method", "wt", "--width", "8", "stray"], /unexpected argument "stray"/);
  refused(["compare", "--methods", "wt", "--width", "8", "stray", "--out", never], /unexpected argument "stray"/);
});

Hostile("quality: route, rank and batch checked before work", () => {
  refused(["quality", "--method", "wperp", "--width", "8", "--route", "slow"], /--route must be one of fast, exact, got "slow"/);
  refused(["quality", "--method", "wperp-ns", "--width", "8", "--k", "9"], /wperp-ns: k = 9 is larger than the width 8 of hidden layer 0/);
  refused(["quality", "--method", "wt", "--width", "8", "--batch", "4001"], /--batch 4001 is larger than the training set \(4000\)/);
  refused(["quality", "--method", "backprop", "--width", "8"], /unknown estimator "backprop"/);
  refused(["compare", "--methods", "wt,wperp", "--width", "8", "--k", "9", "--epochs", "1", "--out", never], /wperp: k = 9 is larger than the width 8 of hidden layer 0/);
  refused(["compare", "--methods", "wt", "--width", "8", "--batch", "5000", "--epochs", "1", "--out", never], /--batch 5000 is larger than the training set \(4000 rows\)/);
  refused(["reproduce", "table1", "--k", "100", "--epochs", "1", "--out", never], /wperp: k = 100 is larger than the width 64 of hidden layer 0/);
});

/** A valid binary data folder (4 features, 3 classes, 12 train and 3 test rows); `edit` changes it. */
function dataFolder(name: string, edit: (dir: string, meta: Record<string, any>) => string | void = () => undefined): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const split = (rows: number, file: string) => {
    const x = Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(i));
    writeFileSync(join(dir, `${file}-x.f32`), new Uint8Array(x.buffer));
    writeFileSync(join(dir, `${file}-y.u8`), Uint8Array.from({ length: rows }, (_, i) => i % 3));
    return { x: `${file}-x.f32`, y: `${file}-y.u8`, n: rows };
  };
  const meta: Record<string, unknown> = { train: split(12, "train"), test: split(3, "test"), features: 4, classes: 3 };
  const replaced = edit(dir, meta);
  writeFileSync(join(dir, "meta.json"), typeof replaced === "string" ? replaced : JSON.stringify(meta));
  return dir;
}

Hostile("--data folders: a valid one trains", () => {
  const dir = dataFolder("valid");
  const out = join(scratch, "valid-out");
  const { code, err } = fwdgrad("train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "4", "--data", dir, "--out", out);
  assert.is(code, 0, err);
  assert.ok(existsSync(join(out, "checkpoint.json")));
});

Hostile("--data folders: every fault of meta.json or its files, one line naming the file, before training", () => {
  type Meta = Record<string, any>;
  const cases: Array<[string, (dir: string, meta: Meta) => string | void, RegExp]> = [
    ["not-json", () => "{ train: ", /meta\.json: not valid JSON/],
    ["null", () => "null", /meta\.json: expected a JSON object, got null/],
    ["array", () => "[]", /meta\.json: expected a JSON object, got an array/],
    ["number", () => "42", /meta\.json: expected a JSON object, got 42/],
    ["no-train", (_, m) => { delete m.train; }, /meta\.json: the "train" split is missing/],
    ["train-string", (_, m) => { m.train = "train-x.f32"; }, /meta\.json: "train" must be an object/],
    ["no-train-x", (_, m) => { delete m.train.x; }, /meta\.json: "train\.x" is missing/],
    ["no-test-y", (_, m) => { delete m.test.y; }, /meta\.json: "test\.y" is missing/],
    ["x-number", (_, m) => { m.train.x = 3; }, /meta\.json: "train\.x" must be a file name, got 3/],
    ["missing-file", (_, m) => { m.train.x = "nowhere.f32"; }, /meta\.json: train\.x "nowhere\.f32": no such file or folder/],
    ["folder-as-file", (dir, m) => { mkdirSync(join(dir, "sub")); m.test.y = "sub"; }, /meta\.json: test\.y "sub": not a regular file/],
    ["absolute", (_, m) => { m.train.x = "/etc/passwd"; }, /meta\.json: "train\.x" is "\/etc\/passwd": files must be named relative to the data folder/],
    ["dotdot", (_, m) => { m.test.x = "../valid/test-x.f32"; }, /meta\.json: "test\.x" is "\.\.\/valid\/test-x\.f32": files must be named relative/],
    ["backslash", (_, m) => { m.test.x = "..\\valid\\test-x.f32"; }, /files must be named relative to the data folder/],
    ["symlink-out", (dir, m) => { symlinkSync(aFile, join(dir, "escape.f32")); m.train.x = "escape.f32"; }, /meta\.json: train\.x "escape\.f32": leads outside the data folder/],
    ["symlinked-folder", (dir, m) => { symlinkSync(join(scratch, "valid"), join(dir, "elsewhere")); m.test.x = "elsewhere/test-x.f32"; }, /meta\.json: test\.x "elsewhere\/test-x\.f32": leads outside the data folder/],
    ["n-lies", (_, m) => { m.train.n = 13; }, /train-x\.f32: 12 rows of 4 features \(192 bytes\), but .*meta\.json says train\.n = 13/],
    ["n-zero", (_, m) => { m.test.n = 0; }, /meta\.json: "test\.n" is 0: an empty split cannot train or be evaluated/],
    ["n-fraction", (_, m) => { m.test.n = 2.5; }, /meta\.json: "test\.n" must be an integer in \[1, 2\^53\), got 2\.5/],
    ["features-fraction", (_, m) => { m.features = 2.5; }, /meta\.json: "features" must be an integer in \[1, 2\^53\), got 2\.5/],
    ["features-zero", (_, m) => { m.features = 0; }, /meta\.json: "features" must be an integer/],
    ["features-string", (_, m) => { m.features = "4"; }, /meta\.json: "features" must be an integer in \[1, 2\^53\), got "4"/],
    ["features-wrong", (_, m) => { m.features = 5; }, /train-x\.f32: 192 bytes is not a whole number of rows of 5 f32 features/],
    ["classes-missing", (_, m) => { delete m.classes; }, /meta\.json: "classes" is missing/],
    ["classes-negative", (_, m) => { m.classes = -1; }, /meta\.json: "classes" must be an integer in \[1, 16777216\], got -1/],
    ["classes-huge", (_, m) => { m.classes = 1e9; }, /meta\.json: "classes" must be an integer in \[1, 16777216\], got 1000000000/],
    ["classes-beyond-bytes", (_, m) => { m.classes = 1000; }, /meta\.json: 1000 classes need "labelBytes": 4/],
    ["labels-beyond", (_, m) => { m.classes = 2; }, /train-y\.u8: label 2 at row 3 is outside \[0, 2\)/],
    ["y-short", (dir) => { writeFileSync(join(dir, "test-y.u8"), Uint8Array.of(0, 1)); }, /test-y\.u8: 2 labels for the 3 rows of .*test-x\.f32/],
    ["test-empty", (dir, m) => { writeFileSync(join(dir, "test-x.f32"), ""); writeFileSync(join(dir, "test-y.u8"), ""); delete m.test.n; }, /test-x\.f32: empty; the test split needs at least one example/],
    ["train-empty", (dir, m) => { writeFileSync(join(dir, "train-x.f32"), ""); writeFileSync(join(dir, "train-y.u8"), ""); delete m.train.n; }, /train-x\.f32: empty; the train split needs at least one example/],
    ["nan", (dir) => { writeFileSync(join(dir, "train-x.f32"), new Uint8Array(Float32Array.from({ length: 48 }, (_, i) => (i === 9 ? NaN : 0)).buffer)); }, /train-x\.f32: row 3, feature 2 is NaN/],
  ];
  for (const [name, edit, message] of cases) refused(trainOn(dataFolder(`bad-${name}`, edit)), message);
  const noMeta = join(scratch, "no-meta");
  mkdirSync(noMeta);
  refused(trainOn(noMeta), /--data .*no-meta: a data folder needs a meta\.json/);
  const metaFolder = join(scratch, "meta-folder");
  mkdirSync(join(metaFolder, "meta.json"), { recursive: true });
  refused(trainOn(metaFolder), /meta-folder\/meta\.json: not a regular file/);
  refused(trainOn("/dev/null"), /--data \/dev\/null: not a regular file or a folder/);
});

Hostile("CSV: the header rule, line and column numbers, labels, too few rows", () => {
  const csv = (name: string, text: string) => {
    const path = join(scratch, `${name}.csv`);
    writeFileSync(path, text);
    return path;
  };
  const rows = Array.from({ length: 10 }, (_, i) => `${i},${i % 4},${i % 2}`).join("\n");
  const cases: Array<[string, string, RegExp]> = [
    ["nan-first", `NaN,1,0\n${rows}\n`, /nan-first\.csv: line 1, column 1 is "NaN", not a finite float32 number$/],
    ["empty-first", `,1,0\n${rows}\n`, /empty-first\.csv: line 1, column 1 is "", not a finite float32 number; a header row holds no numbers at all/],
    ["mixed-header", `a,1,label\n${rows}\n`, /mixed-header\.csv: line 1, column 1 is "a", not a finite float32 number; a header row holds no numbers at all/],
    ["mixed-label", `1,2,label\n${rows}\n`, /mixed-label\.csv: line 1, column 3: label "label" is not an integer in \[0, 16777216\); a header row holds no numbers at all/],
    ["counted-lines", `# comment\n\nx,y,label\n1,2,0\n1,q,1\n${rows}\n`, /counted-lines\.csv: line 5, column 2 is "q", not a finite float32 number/],
    ["hex", `x,y,label\n0x10,2,0\n${rows}\n`, /hex\.csv: line 2, column 1 is "0x10"/],
    ["infinite", `x,y,label\n1e39,2,0\n${rows}\n`, /infinite\.csv: line 2, column 1 is "1e39", not a finite float32 number/],
    ["bad-label", `x,y,label\n${rows}\n1,2,x\n`, /bad-label\.csv: line 12, column 3: label "x" is not an integer in \[0, 16777216\)/],
    ["label-fraction", `x,y,label\n${rows}\n1,2,1.5\n`, /label-fraction\.csv: line 12, column 3: label "1\.5"/],
    ["label-beyond", `x,y,label\n${rows}\n1,2,16777216\n`, /label-beyond\.csv: line 12, column 3: label "16777216"/],
    ["negative-label", `x,y,label\n${rows}\n1,2,-1\n`, /negative-label\.csv: line 12, column 3: label "-1"/],
    ["columns", `x,y,label\n${rows}\n1,2\n`, /columns\.csv: line 12 has 2 columns, expected 3 \(as on line 2\)/],
    ["one-column", `label\n1\n2\n`, /one-column\.csv: line 2 has 1 column; rows need at least one feature and a label/],
    ["one-row", `x,y,label\n1,2,0\n`, /one-row\.csv: 1 data row cannot be split 80\/20 into non-empty train and test sets/],
    ["header-only", `x,y,label\n`, /header-only\.csv: no data rows after the header on line 1/],
    ["empty", ``, /empty\.csv: no rows/],
    ["comments-only", `# nothing\n\n`, /comments-only\.csv: no rows/],
  ];
  for (const [name, text, message] of cases) refused(trainOn(csv(name, text)), message);
});

Hostile("file names with control characters still print one line", () => {
  refused(trainOn(join(scratch, "new\nline.csv")), /--data .*new\\nline\.csv: no such file or folder/);
});

Hostile("a reader closing the pipe early (| head -1) gets no stack trace", () => {
  const csv = join(scratch, "pipe.csv");
  writeFileSync(csv, `${Array.from({ length: 40 }, (_, i) => `${i % 5},${(i * 3) % 7},${i % 2}`).join("\n")}\n`);
  const command = `"${process.execPath}" --import tsx cli/fwdgrad.ts train --method wt --width 8 --epochs 60 --batch 8 --json --data "${csv}" | head -1; echo "fwdgrad exited \${PIPESTATUS[0]}"`;
  const result = spawnSync("bash", ["-c", command], { encoding: "utf8" });
  assert.is(result.stderr, "", "nothing on stderr");
  assert.match(result.stdout, /^\{"epoch":1,.*\}\nfwdgrad exited 0\n$/);
});

Hostile("an internal error prints one line and exits 1; FWDGRAD_DEBUG=1 adds the stack", async () => {
  const { COMMANDS, main } = await import("../../cli/fwdgrad.ts");
  assert.is(process.exitCode, undefined, "importing the CLI module does not run it");
  COMMANDS.explode = { summary: "fails", flags: {}, run: async () => { throw new TypeError("boom\nsecond line"); } };
  const printed: string[] = [];
  const originalError = console.error;
  console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
  try {
    assert.is(await main(["explode"]), 1);
    process.env.FWDGRAD_DEBUG = "1";
    assert.is(await main(["explode"]), 1);
  } finally {
    console.error = originalError;
    delete process.env.FWDGRAD_DEBUG;
    delete COMMANDS.explode;
  }
  assert.is(printed[0], "fwdgrad: internal error: boom\\nsecond line (FWDGRAD_DEBUG=1 shows the stack)");
  assert.match(printed[1], /^TypeError: boom\nsecond line\n\s+at /, "the stack, on request");
  assert.is(printed[2], "fwdgrad: internal error: boom\\nsecond line");
  assert.is(printed.length, 3);
});

Hostile.after(() => rmSync(scratch, { recursive: true, force: true }));

Hostile.run();
