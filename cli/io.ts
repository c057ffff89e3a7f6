// File helpers of the CLI: output folders (checked, created and locked), data set loading, the
// studies' file access (node:fs behind train/studies.ts's StudyFiles) and the commit the CLI runs
// from. The parsers in data/dataset.ts judge the contents; here are only the file accesses. A fault
// of the checks and reads before work is a one-line UsageError naming the path (exit 2); the
// writes, durable and whole, are cli/files.ts's, and their faults are IoFaults (exit 1).
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { datasetFromCsv, MAX_CSV_BYTES, parseBinarySplit, parseDataFolderMeta, type Dataset, type Split } from "../data/dataset.ts";
import { generateMnist1d } from "../data/mnist1d.ts";
import type { StudyFiles } from "../train/studies.ts";
import { UsageError } from "./args.ts";
import { errorCode, FolderInUse, IoFault, isLeftover, liveHolder, lockFolder, makeFolder, readWhole, reason, removeFile, writeDurable } from "./files.ts";

/** A meta.json is a few lines; a large one is a wrong file. */
const MAX_META_BYTES = 2 ** 20;
/** Node reads at most 2 GiB into one buffer. */
const MAX_READ_BYTES = 2 ** 31 - 1;

/** The path's status, or null when nothing is there; other faults (permissions, loops) throw. */
function statIfPresent(path: string, where: string): Stats | null {
  try {
    return statSync(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return null;
    throw new UsageError(`${where}: ${reason(error)}`);
  }
}

/**
 * Refuses, before any work, an output folder that cannot be made: an existing file, a path below a
 * file, or an existing folder we may not write into.
 */
export function checkOutFolder(flag: string, path: string): void {
  const where = `${flag} ${path}`;
  const target = resolve(path);
  for (let current = target; ; current = dirname(current)) {
    const stats = statIfPresent(current, where);
    if (stats === null) {
      if (dirname(current) === current) return;
      continue;
    }
    if (!stats.isDirectory()) throw new UsageError(current === target ? `${where}: exists and is not a folder` : `${where}: ${current} is not a folder`);
    try {
      accessSync(current, constants.W_OK);
    } catch (error) {
      throw new UsageError(`${where}: cannot write into ${current}: ${reason(error)}`);
    }
    break;
  }
  const holder = liveHolder(target);
  if (holder) throw new UsageError(`${where} is in use by ${holder}; wait for it to end or give another folder`);
}

/**
 * Refuses, before any work, an output file that cannot be written: a folder at the path, or a
 * parent that is missing, not a folder or not writable. The file itself is replaced whole
 * (`writeDurable`).
 */
export function checkOutFile(flag: string, path: string): void {
  const where = `${flag} ${path}`;
  const stats = statIfPresent(path, where);
  if (stats?.isDirectory()) throw new UsageError(`${where}: is a folder; give a file name`);
  const parent = dirname(resolve(path));
  const parentStats = statIfPresent(parent, where);
  if (parentStats === null) throw new UsageError(`${where}: the folder ${parent} does not exist`);
  if (!parentStats.isDirectory()) throw new UsageError(`${where}: ${parent} is not a folder`);
  try {
    accessSync(parent, constants.W_OK);
  } catch (error) {
    throw new UsageError(`${where}: cannot write into ${parent}: ${reason(error)}`);
  }
}

/**
 * Creates the output folder (and its parents) after checking it can be one, and takes its lock for
 * this process (cli/files.ts): a second run on the folder is refused, and what a crashed run left
 * behind is removed. `data` marks a data folder, which is replaced as a whole (writeFolderAtomic).
 */
export function makeOutFolder(flag: string, path: string, data = false): void {
  checkOutFolder(flag, path);
  try {
    mkdirSync(path, { recursive: true });
  } catch (error) {
    throw new UsageError(`${flag} ${path}: cannot create the folder: ${reason(error)}`);
  }
  try {
    lockFolder(flag, path, commandLine, (line) => console.error(`fwdgrad: ${line}`), data);
  } catch (error) {
    if (error instanceof FolderInUse) throw new UsageError(error.message);
    throw error;
  }
}

/** The command line a lock names (set by the CLI's main). */
let commandLine = "fwdgrad";
export function setCommandLine(argv: readonly string[]): void {
  commandLine = ["fwdgrad", ...argv].join(" ").slice(0, 200);
}

export const bytesOf = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A study's own saved file, read during work: a fault is an IoFault naming it (exit 1). */
function readSaved(path: string): Uint8Array {
  try {
    return readWhole(path);
  } catch (error) {
    throw new IoFault(path, "read", error);
  }
}

/** The studies' file access (train/studies.ts) on node:fs: durable writes, forced removes, recursive folders. */
export const nodeStudyFiles: StudyFiles = {
  join,
  exists: (path) => existsSync(path),
  readText: (path) => new TextDecoder().decode(readSaved(path)),
  readBytes: readSaved,
  write: writeDurable,
  remove: removeFile,
  makeFolder,
  list: (path) => (existsSync(path) ? readdirSync(path) : []),
};

/**
 * The commit the CLI runs from ("+dirty" with uncommitted changes), or "unknown" outside a git
 * checkout: read once, at the first call (the start of a study), so commits made while a long study
 * runs are not taken for the code that ran.
 */
export function sourceCommit(): string {
  startCommit ??= readCommit();
  return startCommit;
}
let startCommit: string | undefined;

function readCommit(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  try {
    const head = execFileSync("git", ["-C", here, "rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["-C", here, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}

/**
 * A regular file given by `flag`, read whole before any work; every fault (missing, a folder, a
 * folder on the way we may not search, unreadable, an I/O error) a UsageError naming the path.
 */
export function readInputFile(flag: string, path: string, hint: string): Uint8Array {
  const where = `${flag} ${path}`;
  const stats = statIfPresent(path, where);
  if (stats === null) throw new UsageError(`${where}: no such file`);
  if (!stats.isFile()) throw new UsageError(`${where}: not a file (${hint})`);
  if (stats.size > MAX_READ_BYTES) throw new UsageError(`${where}: ${stats.size} bytes is too large to load (at most ${MAX_READ_BYTES})`);
  try {
    return readWhole(path);
  } catch (error) {
    throw new UsageError(`${where}: cannot read: ${reason(error)}`);
  }
}

function readBytes(path: string): Uint8Array {
  try {
    return readWhole(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${reason(error)}`);
  }
}

/**
 * A data set from --data: a folder in the binary format (with meta.json) or a CSV file (split
 * 80/20), whose last `targets` columns are regression targets when `targets` is given.
 */
export function loadData(path: string | undefined, targets?: number): Dataset {
  if (path === undefined) {
    if (targets !== undefined) throw new UsageError("--targets: MNIST-1D has class labels, not regression targets; give --data with a CSV file of targets");
    return generateMnist1d();
  }
  const where = `--data ${path}`;
  const stats = statIfPresent(path, where);
  if (stats === null) throw new UsageError(`${where}: no such file or folder${interruptedSwap(path)}`);
  if (stats.isDirectory()) {
    if (targets !== undefined) throw new UsageError(`--targets: data folders hold class labels; regression targets come from a CSV file`);
    return loadDataFolder(path);
  }
  if (!stats.isFile()) throw new UsageError(`${where}: not a regular file or a folder`);
  if (stats.size > MAX_CSV_BYTES) throw new UsageError(`${where}: ${stats.size} bytes is too large for CSV (at most ${MAX_CSV_BYTES}); use a binary data folder`);
  const text = new TextDecoder().decode(readBytes(path));
  return datasetFromCsv(path, text, targets);
}

/** A hint when a `fwdgrad data` run was killed while swapping this data folder in (cli/files.ts writeFolderAtomic). */
function interruptedSwap(path: string): string {
  const name = basename(resolve(path));
  try {
    const left = readdirSync(dirname(resolve(path))).filter((entry) => entry.startsWith(`.${name}.fwdgrad-`) && isLeftover(entry));
    const previous = left.find((entry) => entry.includes(".fwdgrad-old-"));
    if (left.length === 0) return "";
    return ` (a \`fwdgrad data\` run was stopped while replacing it: run it again${previous ? `, or rename ${join(dirname(path), previous)}, the previous data set, back` : ""})`;
  } catch {
    return "";
  }
}

/** A binary data folder: meta.json checked first, then each file's place and size, then the bytes. */
function loadDataFolder(dir: string): Dataset {
  const metaPath = join(dir, "meta.json");
  const metaStats = statIfPresent(metaPath, metaPath);
  if (metaStats === null) throw new UsageError(`--data ${dir}: a data folder needs a meta.json`);
  if (!metaStats.isFile()) throw new UsageError(`${metaPath}: not a regular file`);
  if (metaStats.size > MAX_META_BYTES) throw new UsageError(`${metaPath}: ${metaStats.size} bytes is too large for a meta.json`);
  const meta = parseDataFolderMeta(new TextDecoder().decode(readBytes(metaPath)), metaPath);
  const root = realpathSync(dir);
  const { features, classes, labelBytes } = meta;

  // A file named in meta.json: it must exist, be a regular file, and stay inside the folder even
  // after symbolic links are followed.
  const locate = (split: "train" | "test", key: "x" | "y") => {
    const name = meta[split][key];
    const path = join(dir, name);
    const where = `${metaPath}: ${split}.${key} ${JSON.stringify(name)}`;
    let real: string;
    try {
      real = realpathSync(path);
    } catch (error) {
      throw new UsageError(`${where}: ${reason(error)}`);
    }
    const inside = relative(root, real);
    if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw new UsageError(`${where}: leads outside the data folder (to ${real})`);
    }
    const stats = statSync(real);
    if (!stats.isFile()) throw new UsageError(`${where}: not a regular file`);
    if (stats.size > MAX_READ_BYTES) throw new UsageError(`${path}: ${stats.size} bytes is too large to load (at most ${MAX_READ_BYTES})`);
    return { path, real, size: stats.size };
  };

  const files = (["train", "test"] as const).map((split) => {
    const x = locate(split, "x"), y = locate(split, "y");
    const rowBytes = 4 * features;
    if (x.size % rowBytes !== 0) throw new UsageError(`${x.path}: ${x.size} bytes is not a whole number of rows of ${features} f32 features`);
    const rows = x.size / rowBytes;
    const declared = meta[split].n;
    if (declared !== undefined && rows !== declared) throw new UsageError(`${x.path}: ${rows} rows of ${features} features (${x.size} bytes), but ${metaPath} says ${split}.n = ${declared}`);
    if (rows === 0) throw new UsageError(`${x.path}: empty; the ${split} split needs at least one example`);
    if (y.size !== rows * labelBytes) throw new UsageError(`${y.path}: ${y.size / labelBytes} labels for the ${rows} rows of ${x.path}`);
    return { x, y };
  });

  // Only now, with every name and size checked, are the bytes read.
  const [train, test] = files.map(({ x, y }): Split => parseBinarySplit(x.path, readBytes(x.real), readBytes(y.real), features, classes, y.path, labelBytes));
  return { train, test, features, classes };
}
