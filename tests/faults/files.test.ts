// The fault matrix of the CLI's files: every write site × {no space, permission denied, I/O error,
// rename failure, crash between write and rename}, two writers on one folder, a data folder
// replaced under a crash, an --out folder deleted mid-run, and the inputs' reads × {I/O error,
// permission denied}. Each case has an expected outcome and ends with nothing lost: the
// previous file is there, byte for byte, and loads; no temporary file stays behind a fault we
// survive; a crash's leftovers are removed by the next run there, which says so. The injected
// faults go through cli/files.ts's seam (in this process, or through FWDGRAD_TEST_FAULTS in a
// spawned CLI for the crash cases); no case may run past 10 s (watchdog.ts enforces it).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { main } from "../../cli/fwdgrad.ts";
import { injectFileFaults, isLeftover, LOCK_NAME, recordFileOps, writeDurable, type FaultRule } from "../../cli/files.ts";
import { parseCheckpoint } from "../../train/checkpoint.ts";
import { timedCase } from "./watchdog.ts";

/** Runs the CLI's main in this process, its console captured. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Runs the CLI as its own process, with faults injected there (a crash is a real SIGKILL). */
function cliProcess(faults: FaultRule[], ...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", ...args], {
    encoding: "utf8", timeout: 9_000, env: { ...process.env, FWDGRAD_TEST_FAULTS: JSON.stringify(faults) },
  });
  return { code: result.status, signal: result.signal, err: result.stderr };
}

/** Every file under `dir` (recursively) with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const visit = (folder: string, prefix: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) visit(join(folder, entry.name), `${prefix}${entry.name}/`);
      else files.set(`${prefix}${entry.name}`, readFileSync(join(folder, entry.name)));
    }
  };
  visit(dir, "");
  return files;
}

const leftovers = (dir: string) => [...snapshot(dir).keys()].filter((name) => isLeftover(name.split("/").pop()!));

/** Each kind of file a run leaves must load: JSON parses, checkpoints parse, plots are whole SVG. */
function assertLoads(dir: string, what: string): void {
  for (const [name, bytes] of snapshot(dir)) {
    if (name.endsWith(".json") && name !== LOCK_NAME) JSON.parse(bytes.toString("utf8"));
    if (/checkpoint\.(json|bin)$/.test(name)) parseCheckpoint(bytes);
    if (name.endsWith(".svg")) assert.match(bytes.toString("utf8").trimEnd(), /<\/svg>$/, `${what}: ${name} is a whole SVG`);
  }
}

interface Site {
  name: string;
  /** The run that makes the previous files; `dir` is the case's folder. */
  setup: (dir: string) => string[];
  /** The run whose write fails (the setup again where nothing else applies). */
  run?: (dir: string) => string[];
  /** The file (a part of its path) whose write the fault hits. */
  file: string;
  /** The operation standing for "rename" at this site (the lock is linked into place, not renamed). */
  rename?: "rename" | "link";
  /** The data command writes a folder beside its --out, so the folder to compare is that. */
  data?: boolean;
}

/** A background run's epochs: far more than a case needs, few enough to end on its own within minutes. */
const BOUNDED_EPOCHS = "3000";
const TRAIN = ["train", "--method", "wt", "--width", "8", "--depth", "1", "--batch", "500", "--threads", "1"];
const SITES: Site[] = [
  { name: "train checkpoint.json", setup: (d) => [...TRAIN, "--epochs", "1", "--out", d], run: (d) => ["train", "--resume", join(d, "checkpoint.json"), "--epochs", "2", "--out", d], file: "checkpoint.json" },
  { name: "train history.json", setup: (d) => [...TRAIN, "--epochs", "1", "--out", d], run: (d) => ["train", "--resume", join(d, "checkpoint.json"), "--epochs", "2", "--out", d], file: "history.json" },
  { name: "the --out lock", setup: (d) => [...TRAIN, "--epochs", "1", "--out", d], file: LOCK_NAME, rename: "link" },
  { name: "compare results.json", setup: (d) => ["compare", "--methods", "wt", "--width", "8", "--depth", "1", "--batch", "500", "--epochs", "1", "--threads", "1", "--out", d], file: "results.json" },
  { name: "compare accuracy.svg", setup: (d) => ["compare", "--methods", "wt", "--width", "8", "--depth", "1", "--batch", "500", "--epochs", "1", "--threads", "1", "--out", d], file: "accuracy.svg" },
  { name: "demo demo.json", setup: (d) => ["demo", "--widths", "10", "--warmup", "1", "--draws", "1", "--rows", "16", "--width", "10", "--epochs", "1", "--threads", "1", "--out", d], file: "demo.json" },
  { name: "demo alignment.svg", setup: (d) => ["demo", "--widths", "10", "--warmup", "1", "--draws", "1", "--rows", "16", "--width", "10", "--epochs", "1", "--threads", "1", "--out", d], file: "alignment.svg" },
  { name: "reproduce accuracy-width.json", setup: (d) => ["reproduce", "accuracy-width", "--widths", "8", "--methods", "wt", "--seeds", "1", "--epochs", "1", "--batch", "500", "--depth", "1", "--threads", "1", "--out", d], file: "accuracy-width.json" },
  { name: "reproduce a run's result.json", setup: (d) => ["reproduce", "accuracy-width", "--widths", "8", "--methods", "wt", "--seeds", "1", "--epochs", "1", "--batch", "500", "--depth", "1", "--threads", "1", "--out", d], run: (d) => ["reproduce", "accuracy-width", "--widths", "8", "--methods", "wt", "--seeds", "1", "--epochs", "2", "--batch", "500", "--depth", "1", "--threads", "1", "--out", d], file: "result.json" },
  { name: "reproduce a run's checkpoint.bin", setup: (d) => ["reproduce", "accuracy-width", "--widths", "8", "--methods", "wt", "--seeds", "1", "--epochs", "1", "--batch", "500", "--depth", "1", "--threads", "1", "--out", d], run: (d) => ["reproduce", "accuracy-width", "--widths", "8", "--methods", "wt", "--seeds", "1", "--epochs", "2", "--batch", "500", "--depth", "1", "--threads", "1", "--out", d], file: "checkpoint.bin" },
  { name: "data folder", setup: (d) => ["data", "mnist1d", "--samples", "100", "--out", join(d, "set")], run: (d) => ["data", "mnist1d", "--samples", "100", "--seed", "7", "--out", join(d, "set")], file: "train-x.f32", data: true },
];

interface Fault {
  name: string;
  rule: (site: Site) => FaultRule;
  words: RegExp;
}

const FAULTS: Fault[] = [
  { name: "no space", rule: (s) => ({ op: "write", path: s.file, code: "ENOSPC" }), words: /no space left on the device \(ENOSPC\)/ },
  { name: "permission denied", rule: (s) => ({ op: "open", path: s.file, code: "EACCES" }), words: /permission denied \(EACCES\)/ },
  { name: "I/O error", rule: (s) => ({ op: "fsync", path: s.file, code: "EIO" }), words: /I\/O error \(EIO\)/ },
  { name: "rename failure", rule: (s) => ({ op: s.rename ?? "rename", path: s.data ? "set" : s.file, code: "EIO" }), words: /I\/O error \(EIO\)/ },
];

const Matrix = suite("fault matrix: files");
const counts = { cases: 0, longest: 0 };

for (const site of SITES) {
  for (const fault of FAULTS) {
    Matrix(`${site.name} × ${fault.name}: exit 1 naming the path, the previous file kept`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "fwdgrad-fault-"));
      try {
        const ms = await timedCase(`${site.name} × ${fault.name}`, async () => {
          const setup = await cli(...site.setup(dir));
          assert.is(setup.code, 0, `setup: ${setup.err}`);
          const before = snapshot(dir);
          injectFileFaults([fault.rule(site)]);
          let result;
          try {
            result = await cli(...(site.run ?? site.setup)(dir));
          } finally {
            injectFileFaults([]);
          }
          assert.is(result.code, 1, `exit 1 for a fault during work: ${result.err}`);
          const message = result.err.split("\n").find((line) => line.startsWith("fwdgrad: cannot"));
          assert.ok(message, `a line naming the fault: ${result.err}`);
          assert.match(message!, fault.words, message);
          assert.ok(message!.includes(site.data ? join(dir, "set") : site.file), `names the path: ${message}`);
          assert.not.match(result.err, /^usage: |^\s+at |internal error/m, `no usage line, stack or "internal error": ${result.err}`);
          const after = snapshot(dir);
          // The file the fault hit is as it was (for the data set: every file of the folder).
          for (const [name, bytes] of before) {
            if (name.endsWith(site.file) || site.data) assert.ok(after.get(name)?.equals(bytes), `${name} is kept byte for byte`);
          }
          assert.equal(leftovers(dir), [], "no temporary file left behind");
          assert.not.ok(existsSync(join(site.data ? join(dir, "set") : dir, LOCK_NAME)), "the lock is released");
          assertLoads(dir, site.name);
        });
        counts.cases += 1;
        counts.longest = Math.max(counts.longest, ms);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  Matrix(`${site.name} × crash between write and rename: the previous file kept, the next run cleans up`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "fwdgrad-crash-"));
    try {
      const ms = await timedCase(`${site.name} × crash`, async () => {
        const setup = await cli(...site.setup(dir));
        assert.is(setup.code, 0, `setup: ${setup.err}`);
        const before = snapshot(dir);
        const crashed = cliProcess([{ op: site.rename ?? "rename", path: site.data ? "set" : site.file, crash: true }], ...(site.run ?? site.setup)(dir));
        assert.is(crashed.signal, "SIGKILL", `the run was killed at the rename: ${crashed.err}`);
        const after = snapshot(dir);
        for (const [name, bytes] of before) {
          if (name.endsWith(site.file) || site.data) assert.ok(after.get(name)?.equals(bytes), `${name} is kept byte for byte`);
        }
        assertLoads(dir, site.name);
        // The next run on the folder takes over the dead run's lock, removes its leftovers and says so.
        const next = await cli(...site.setup(dir));
        assert.is(next.code, 0, next.err);
        // (A crash while taking the lock leaves no lock, only the lock's temporary file.)
        if (site.file !== LOCK_NAME) assert.match(next.err, /took over the lock of process \d+/, next.err);
        assert.match(next.err, /removed \d+ temporary files? \([\d.]+ MiB\) left by a run that stopped mid-write/, next.err);
        assert.equal(leftovers(dir), [], "no temporary file after the next run");
        assertLoads(dir, site.name);
      });
      counts.cases += 1;
      counts.longest = Math.max(counts.longest, ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

Matrix("a data folder replaced under a crash between its two renames is absent, never mixed; the next run writes it whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-swap-"));
  try {
    await timedCase("data swap crash", async () => {
      const set = join(dir, "set");
      assert.is((await cli("data", "mnist1d", "--samples", "100", "--out", set)).code, 0);
      // The second rename is the new folder's, from its hidden staging name.
      const crashed = cliProcess([{ op: "rename", path: ".set.fwdgrad-tmp-", crash: true }], "data", "mnist1d", "--samples", "100", "--seed", "7", "--out", set);
      assert.is(crashed.signal, "SIGKILL", crashed.err);
      assert.not.ok(existsSync(set), "no half-replaced folder is visible");
      const refused = await cli("train", "--method", "wt", "--width", "8", "--epochs", "1", "--data", set);
      assert.is(refused.code, 2, refused.err);
      assert.match(refused.err, /no such file or folder \(a `fwdgrad data` run was stopped while replacing it: run it again, or rename .*\.set\.fwdgrad-old-\d+-\d+, the previous data set, back\)/);
      const again = await cli("data", "mnist1d", "--samples", "100", "--seed", "7", "--out", set);
      assert.is(again.code, 0, again.err);
      assert.match(again.err, /removed 2 temporary files/, again.err);
      assert.equal(readdirSync(dir), ["set"], "the staging and the old folder are gone");
      const trained = await cli("train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "40", "--threads", "1", "--data", set);
      assert.is(trained.code, 0, trained.err);
    });
    counts.cases += 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Matrix("two writers on one folder: the second is refused with the first's name, then takes over its lock once it is killed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-two-"));
  try {
    await timedCase("two writers", async () => {
      // Long enough to outlast the case, short enough (a minute or two) that a runner killed by the
      // watchdog leaves no run behind for long.
      const first = spawn(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", ...TRAIN, "--epochs", BOUNDED_EPOCHS, "--out", dir], { stdio: "ignore" });
      const exited = new Promise((resolve) => first.on("exit", resolve));
      try {
        const lock = join(dir, LOCK_NAME);
        for (let i = 0; i < 160 && !existsSync(lock); i++) await new Promise((resolve) => setTimeout(resolve, 25));
        assert.ok(existsSync(lock), "the first run holds the lock");
        const second = await cli(...TRAIN, "--epochs", "1", "--out", dir);
        assert.is(second.code, 2, second.err);
        assert.match(second.err, new RegExp(`--out ${dir} is in use by process ${first.pid} on .* \\(fwdgrad train --method wt`), second.err);
      } finally {
        first.kill("SIGKILL");
        await exited;
      }
      const third = await cli(...TRAIN, "--epochs", "1", "--out", dir);
      assert.is(third.code, 0, third.err);
      assert.match(third.err, new RegExp(`took over the lock of process ${first.pid} .*which is no longer running`), third.err);
      assertLoads(dir, "two writers");
    });
    counts.cases += 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Matrix("a durable write is write, fsync, close, rename, then the folder's fsync; no two temporary names are the same", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-order-"));
  try {
    const ops = recordFileOps(true);
    for (let i = 0; i < 3; i++) writeDurable(join(dir, "x.json"), `{"i":${i}}`);
    recordFileOps(false);
    const file = ops.filter((o) => o.path !== dir);
    const temps = file.filter((o) => o.op === "open").map((o) => o.path);
    assert.is(new Set(temps).size, 3, `distinct temporary names: ${temps.join(", ")}`);
    for (const temp of temps) assert.match(temp, new RegExp(`x\\.json\\.fwdgrad-tmp-${process.pid}-\\d+$`));
    assert.equal(ops.slice(0, 6).map((o) => o.op), ["open", "write", "fsync", "close", "rename", "fsync"]);
    assert.is(ops[5].path, dir, "the folder is fsync'd after the rename");
    assert.is(readFileSync(join(dir, "x.json"), "utf8"), '{"i":2}');
    counts.cases += 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Inputs read before work: a fault there refuses the run (exit 2), naming the file and the OS's reason.
const READS: Array<{ name: string; args: (dir: string) => string[]; file: string }> = [
  { name: "--resume checkpoint", args: (d) => ["train", "--resume", join(d, "checkpoint.json"), "--epochs", "2"], file: "checkpoint.json" },
  { name: "--data CSV file", args: (d) => ["train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "8", "--data", join(d, "small.csv")], file: "small.csv" },
  { name: "--data folder's meta.json", args: (d) => ["train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "8", "--data", join(d, "set")], file: "meta.json" },
  { name: "--data folder's train-x.f32", args: (d) => ["train", "--method", "wt", "--width", "8", "--epochs", "1", "--batch", "8", "--data", join(d, "set")], file: "train-x.f32" },
];
for (const read of READS) {
  for (const code of ["EIO", "EACCES"]) {
    Matrix(`reading the ${read.name} × ${code}: refused before work, naming the file`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "fwdgrad-read-"));
      try {
        await timedCase(`read ${read.name} × ${code}`, async () => {
          assert.is((await cli(...TRAIN, "--epochs", "1", "--out", dir)).code, 0);
          writeFileSync(join(dir, "small.csv"), Array.from({ length: 40 }, (_, i) => `${i % 3},${(i * 7) % 5},${i % 4}`).join("\n"));
          assert.is((await cli("data", "mnist1d", "--samples", "100", "--out", join(dir, "set"))).code, 0);
          injectFileFaults([{ op: "read", path: read.file, code }]);
          let result;
          try {
            result = await cli(...read.args(dir));
          } finally {
            injectFileFaults([]);
          }
          assert.is(result.code, 2, result.err);
          assert.match(result.err, new RegExp(`^fwdgrad: .*${read.file.replace(".", "\\.")}.*: (cannot read: )?${code === "EIO" ? "I/O error" : "permission denied"} \\(${code}\\)`), result.err);
          assert.not.match(result.err, /internal error|^\s+at /m);
        });
        counts.cases += 1;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

Matrix("an --out folder deleted mid-run: exit 1, naming the file that could not be written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-gone-"));
  try {
    await timedCase("deleted --out", async () => {
      const out = join(dir, "run");
      const child = spawn(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", ...TRAIN, "--epochs", BOUNDED_EPOCHS, "--out", out], { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (chunk) => (err += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      for (let i = 0; i < 200 && !existsSync(join(out, "checkpoint.json")); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      // Gone at once: a recursive remove races with the run's next write into the folder (ENOTEMPTY),
      // where a rename takes the whole folder away in one step.
      renameSync(out, `${out}-gone`);
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 8000))]);
      if (code === "still running") child.kill("SIGKILL");
      assert.is(code, 1, err);
      assert.match(err, new RegExp(`^fwdgrad: cannot (create|replace) ${out}/(checkpoint|history)\\.json: no such file or folder \\(ENOENT\\)`, "m"), err);
      assert.not.match(err, /^usage: |internal error|^\s+at /m, err);
    });
    counts.cases += 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (existsSync("/dev/full")) {
  Matrix("a full output stream (stdout on /dev/full): one line on stderr, exit 1, no stack trace", async () => {
    await timedCase("stdout full", () => {
      const result = spawnSync("bash", ["-c", `exec "$0" --import tsx cli/fwdgrad.ts "$@" > /dev/full`, process.execPath, ...TRAIN, "--epochs", "1"], { encoding: "utf8", timeout: 9_000 });
      assert.is(result.status, 1, result.stderr);
      assert.is(result.stderr.trim(), "fwdgrad: cannot write to standard output: no space left on the device (ENOSPC)");
    });
    counts.cases += 1;
  });
}

Matrix.after(() => {
  console.log(`fault matrix (files): ${counts.cases} cases, the longest ${counts.longest} ms`);
});

Matrix.run();
