// How the CLI writes: every file through a temporary name, fsync'd, renamed into place and its folder
// fsync'd (so a crash or a power cut leaves the old file or the new one, never a mixture or an empty
// file); a data folder swapped in as a whole; one writer per --out folder, held by a lock file that
// names its process; and the temporary files a crashed run left behind removed by the next run
// there. A fault while writing is an IoFault naming the path, the operation and the OS's reason
// (exit 1): the input was fine, the machine failed under it.
// All file operations of this module pass through `step`, where tests inject faults: an error code
// at an operation on a matching path, or a real crash (SIGKILL) there. The environment variable
// FWDGRAD_TEST_FAULTS carries them into a spawned CLI; it is a test seam, not an option.
import { closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** The OS's error codes in words, for messages ("no space left on the device" rather than ENOSPC). */
export const ERROR_WORDS: Record<string, string> = {
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  EEXIST: "already exists",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "name too long",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EROFS: "read-only file system",
  EIO: "I/O error",
  EXDEV: "cannot move across devices",
  EBUSY: "resource busy",
  ENOTEMPTY: "folder not empty",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
};

export const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** A file-system error in words, with its code: "no space left on the device (ENOSPC)". */
export function reason(error: unknown): string {
  const code = errorCode(error);
  if (code !== undefined && Object.hasOwn(ERROR_WORDS, code)) return `${ERROR_WORDS[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/** A fault of the file system during work: the path, what was being done, and the OS's reason. The CLI exits 1. */
export class IoFault extends Error {
  constructor(readonly path: string, readonly operation: string, readonly cause: unknown, consequence = "") {
    super(`cannot ${operation} ${path}: ${reason(cause)}${consequence}`);
    this.name = "IoFault";
  }
}

// ---------------------------------------------------------------------------------------------
// The seam: faults injected at named operations, for the fault matrix (tests/faults/).

/** The file operations this module performs, as a fault rule names them. */
export type FileOp = "open" | "write" | "fsync" | "close" | "rename" | "remove" | "mkdir" | "link" | "read";

/** A fault to inject: at the `nth` (default 1st) `op` on a path containing `path`, fail with `code`, or crash (SIGKILL). */
export interface FaultRule {
  op: FileOp;
  path: string;
  code?: string;
  crash?: boolean;
  nth?: number;
}

let rules: Array<FaultRule & { seen: number }> = [];

/** Replaces the injected faults (tests only). */
export function injectFileFaults(next: readonly FaultRule[]): void {
  rules = next.map((r) => ({ ...r, seen: 0 }));
}

// A spawned CLI gets its faults from the environment (tests/faults/ crash cases).
const fromEnvironment = process.env.FWDGRAD_TEST_FAULTS;
if (fromEnvironment) injectFileFaults(JSON.parse(fromEnvironment) as FaultRule[]);

/** The operations performed while a test records them (`recordFileOps`), else null. */
let journal: Array<{ op: FileOp; path: string }> | null = null;

/** Starts recording this module's file operations (tests only); returns the list they are appended to. */
export function recordFileOps(on: boolean): Array<{ op: FileOp; path: string }> {
  journal = on ? [] : null;
  return journal ?? [];
}

/** Runs one file operation, unless an injected fault takes its place. */
function step<T>(op: FileOp, path: string, run: () => T): T {
  journal?.push({ op, path });
  for (const rule of rules) {
    if (rule.op !== op || !path.includes(rule.path) || ++rule.seen !== (rule.nth ?? 1)) continue;
    if (rule.crash) process.kill(process.pid, "SIGKILL");
    throw Object.assign(new Error(`${rule.code}: injected at ${op} ${path}`), { code: rule.code ?? "EIO" });
  }
  return run();
}

/** Reads a whole file (through the seam, so tests can fail a read); errors as node:fs throws them. */
export function readWhole(path: string): Uint8Array {
  return step("read", path, () => readFileSync(path));
}

// ---------------------------------------------------------------------------------------------
// Durable writes.

/** Temporary names: this process's id and a counter, so no two writers ever share one. */
let tempCount = 0;
const TEMP_MARK = ".fwdgrad-tmp-";
const tempName = (path: string) => `${path}${TEMP_MARK}${process.pid}-${++tempCount}`;
/** Names a crashed writer may have left: this module's, and the `.tmp-<time>` of earlier versions. */
const LEFTOVER = /(\.fwdgrad-tmp-\d+-\d+|\.fwdgrad-old-\d+-\d+|\.tmp-\d{13})$/;

/** Whether a file name is one a writer killed mid-write may have left (the next run removes it). */
export const isLeftover = (name: string): boolean => LEFTOVER.test(name);

/** Flushes a folder's entries (a rename or a new name) to the device; not every platform can. */
function syncFolder(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return; // Windows opens no folders; there a rename is as durable as the OS makes it.
  }
  try {
    step("fsync", dir, () => fsyncSync(fd));
  } catch (error) {
    if (!["EINVAL", "EISDIR", "EPERM", "ENOTSUP"].includes(errorCode(error) ?? "")) throw new IoFault(dir, "sync the folder", error);
  } finally {
    closeSync(fd);
  }
}

/** Writes the chunks to a new file at `path` and fsyncs it; faults name `shownAs`. */
function writeNewFile(path: string, bytes: string | Uint8Array | readonly Uint8Array[], shownAs: string): void {
  const fd = (() => {
    try {
      return step("open", path, () => openSync(path, "wx"));
    } catch (error) {
      throw new IoFault(shownAs, "create", error);
    }
  })();
  try {
    const chunks = typeof bytes === "string" ? [new TextEncoder().encode(bytes)] : bytes instanceof Uint8Array ? [bytes] : bytes;
    try {
      // Chunk by chunk: a large checkpoint is never joined into one buffer.
      for (const chunk of chunks) for (let done = 0; done < chunk.length; ) done += step("write", path, () => writeSync(fd, chunk, done));
    } catch (error) {
      throw new IoFault(shownAs, "write", error);
    }
    try {
      step("fsync", path, () => fsyncSync(fd));
    } catch (error) {
      throw new IoFault(shownAs, "sync", error);
    }
  } finally {
    try {
      step("close", path, () => closeSync(fd));
    } catch (error) {
      // A close that fails after a successful fsync loses nothing; after a failed one the write already threw.
      if (errorCode(error) !== "EBADF") throw new IoFault(shownAs, "close", error);
    }
  }
}

/**
 * Writes `bytes` to `path` as a whole: a temporary file in the same folder, fsync'd, renamed over
 * `path`, and the folder fsync'd. A crash at any point leaves the previous file (or none) and
 * perhaps a temporary file, which the next run on the folder removes. Faults throw an IoFault and
 * remove the temporary file.
 */
export function writeDurable(path: string, bytes: Uint8Array | string | readonly Uint8Array[]): void {
  const temp = tempName(path);
  try {
    writeNewFile(temp, bytes, path);
    try {
      step("rename", temp, () => renameSync(temp, path));
    } catch (error) {
      // (With the folder gone there is no previous file to keep.)
      throw new IoFault(path, "replace", error, errorCode(error) === "ENOENT" ? "" : "; the previous file is kept");
    }
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
  syncFolder(dirname(path));
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true, recursive: true });
  } catch {
    // Left for the next run on the folder, which removes temporary files it finds.
  }
}

/** Removes a file if it is there, as an IoFault otherwise. */
export function removeFile(path: string): void {
  try {
    step("remove", path, () => rmSync(path, { force: true }));
  } catch (error) {
    throw new IoFault(path, "remove", error);
  }
}

/** Creates a folder and its parents, faults as IoFaults. */
export function makeFolder(path: string): void {
  try {
    step("mkdir", path, () => mkdirSync(path, { recursive: true }));
  } catch (error) {
    throw new IoFault(path, "create the folder", error);
  }
}

/**
 * Writes a folder of files that becomes visible as a whole or not at all: the files go into a
 * hidden sibling folder, fsync'd, which is then renamed to `dir`. An existing `dir` is first renamed
 * aside and removed once the new one is in place, so a crash between the two renames leaves no
 * `dir` (and the old one beside it, which the next writer removes), never a mixture of the two.
 */
export function writeFolderAtomic(dir: string, files: ReadonlyArray<{ name: string; bytes: Uint8Array | string }>): void {
  const parent = dirname(dir);
  const staging = join(parent, `.${basename(dir)}${TEMP_MARK}${process.pid}-${++tempCount}`);
  const aside = join(parent, `.${basename(dir)}.fwdgrad-old-${process.pid}-${++tempCount}`);
  try {
    makeFolder(staging);
    for (const { name, bytes } of files) writeNewFile(join(staging, name), bytes, join(dir, name));
    syncFolder(staging);
    let replaced = false;
    try {
      if (exists(dir)) {
        step("rename", dir, () => renameSync(dir, aside));
        replaced = true;
      }
      step("rename", staging, () => renameSync(staging, dir));
    } catch (error) {
      // Put the old folder back where it was, so a failed write changes nothing.
      if (replaced && !exists(dir)) renameSync(aside, dir);
      throw new IoFault(dir, "replace the folder", error, replaced ? "; the previous folder is kept" : "");
    }
    syncFolder(parent);
  } catch (error) {
    removeQuietly(staging);
    throw error;
  }
  removeQuietly(aside);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Leftovers of crashed writers.

/**
 * Removes the temporary files and folders that writers killed mid-write left in `dir` (and its
 * subfolders, as studies write there) and, for a data folder, beside it. Run only while holding
 * the folder's lock, so none of them can belong to a live writer. Returns what it removed.
 */
export function removeLeftovers(dir: string, siblingsOf?: string): { files: number; bytes: number } {
  const found = { files: 0, bytes: 0 };
  const visit = (folder: string, depth: number, only?: string) => {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(folder, name);
      let stats;
      try {
        stats = lstatSync(path);
      } catch {
        continue;
      }
      if (LEFTOVER.test(name) && (only === undefined || name.startsWith(only))) {
        found.files += 1;
        found.bytes += stats.isDirectory() ? folderBytes(path) : stats.size;
        try {
          step("remove", path, () => rmSync(path, { recursive: true, force: true }));
        } catch (error) {
          throw new IoFault(path, "remove the leftover", error);
        }
      } else if (only === undefined && stats.isDirectory() && depth < 4) visit(path, depth + 1);
    }
  };
  visit(dir, 0);
  if (siblingsOf !== undefined) visit(dirname(siblingsOf), 0, `.${basename(siblingsOf)}.fwdgrad-`);
  return found;
}

function folderBytes(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const stats = lstatSync(join(dir, name));
    bytes += stats.isDirectory() ? folderBytes(join(dir, name)) : stats.size;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// One writer per folder.

export const LOCK_NAME = ".fwdgrad.lock";

/** What a lock file records of its holder. */
interface LockOwner {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused process id is not taken for the holder. */
  processStart: string | null;
  command: string;
  started: string;
}

/** This process's start time from /proc (Linux), or null elsewhere. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, counted after the command name's closing parenthesis (the name may hold spaces).
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote `owner` still runs (on this host; elsewhere we cannot tell, so yes). */
function holderAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (errorCode(error) === "ESRCH") return false;
  }
  const start = processStart(owner.pid);
  return owner.processStart === null || start === null || start === owner.processStart;
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, "utf8")) as LockOwner;
    return Number.isInteger(owner?.pid) && typeof owner.host === "string" ? owner : null;
  } catch {
    return null;
  }
}

const describeOwner = (o: LockOwner) => `process ${o.pid} on ${o.host} (${o.command}, since ${o.started})`;

/** Thrown when another live process holds the folder (the CLI refuses the run before any work: exit 2). */
export class FolderInUse extends Error {}

const held = new Set<string>();

/**
 * Takes the lock of `dir` (which must exist) for this process: a lock file made whole under a
 * temporary name and linked into place, which fails if one is there. A lock whose holder is gone
 * (killed, crashed) is taken over, and `say` is told so; a live holder's is refused with its name.
 * Then removes the leftovers of crashed writers. Released by `releaseLocks` (the CLI's main).
 */
export function lockFolder(flag: string, dir: string, command: string, say: (line: string) => void, dataFolder = false): void {
  const lock = join(dir, LOCK_NAME);
  if (held.has(lock)) return;
  const owner: LockOwner = { pid: process.pid, host: hostname(), processStart: processStart(process.pid), command, started: new Date().toISOString() };
  const temp = tempName(lock);
  try {
    writeNewFile(temp, `${JSON.stringify(owner)}\n`, lock);
    for (let attempt = 0; ; attempt++) {
      try {
        step("link", lock, () => linkSync(temp, lock));
        break;
      } catch (error) {
        if (errorCode(error) !== "EEXIST" || attempt > 8) throw new IoFault(lock, "create the lock", error);
      }
      const holder = readOwner(lock);
      if (holder && holderAlive(holder)) {
        throw new FolderInUse(`${flag} ${dir} is in use by ${describeOwner(holder)}; wait for it to end or give another folder (a stale lock from another host: remove ${lock})`);
      }
      // Stale: move it aside under a name only this process uses (one taker wins the rename), then
      // check that what moved is the stale lock and not a fresh one taken in between.
      const aside = tempName(lock);
      try {
        renameSync(lock, aside);
      } catch {
        continue; // another process took it first: look again
      }
      const moved = readOwner(aside);
      if (holder && moved && (moved.pid !== holder.pid || moved.started !== holder.started)) {
        try {
          linkSync(aside, lock);
        } catch {
          // Its owner's lock is back in place or replaced by a newer one; either way, look again.
        }
        rmSync(aside, { force: true });
        continue;
      }
      rmSync(aside, { force: true });
      say(`${flag} ${dir}: took over the lock of ${holder ? `${describeOwner(holder)}, which is no longer running` : "an unreadable lock file"}`);
    }
  } finally {
    rmSync(temp, { force: true });
  }
  syncFolder(dir);
  held.add(lock);
  const left = removeLeftovers(dir, dataFolder ? dir : undefined);
  if (left.files > 0) say(`${flag} ${dir}: removed ${left.files} temporary file${left.files === 1 ? "" : "s"} (${(left.bytes / 2 ** 20).toFixed(1)} MiB) left by a run that stopped mid-write`);
}

/** The holder of `dir`'s lock when it is a live process other than this one, else null. */
export function liveHolder(dir: string): string | null {
  const owner = readOwner(join(dir, LOCK_NAME));
  if (!owner || (owner.pid === process.pid && owner.host === hostname()) || !holderAlive(owner)) return null;
  return describeOwner(owner);
}

/** Releases every lock this process holds (a lock whose file another process took over is left alone). */
export function releaseLocks(): void {
  for (const lock of held) {
    const owner = readOwner(lock);
    if (owner && owner.pid === process.pid && owner.host === hostname()) rmSync(lock, { force: true });
  }
  held.clear();
}

/** Whether `path` is a regular file (statSync faults as false). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Unlinks a file, ignoring its absence. */
export function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw new IoFault(path, "remove", error);
  }
}
