// Starting the engine for a CLI command: worker threads on Node's worker_threads, as many as
// `--threads` asks (default: every core) and as an address-space limit leaves room for, and a note
// on stderr when fewer can run.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ready, setThreadHost, type EngineInfo } from "../index.ts";
import { nodeThreadHost } from "../platform/node.ts";
import type { FlagSpec, Flags } from "./args.ts";

export const THREADS_FLAG: FlagSpec = { kind: "int", min: 1, max: 64, value: "n", help: "threads for the kernels (default: every core; any count gives the same numbers)" };

setThreadHost(nodeThreadHost);

const GiB = 2 ** 30;
// Measured with Node 20 under `ulimit -v` (docs/results.md, issue 29): the engine's WebAssembly
// memory and the main isolate start within 11 GiB of addresses, and each worker thread's isolate
// reserves up to 2 GiB more. Past the limit V8 aborts the process with no message of ours.
const FIRST_THREAD_ADDRESSES = 11 * GiB;
const WORKER_ADDRESSES = 2 * GiB;

/** The address-space limit (`ulimit -v`) in bytes, or null where there is none or it cannot be read (not Linux). */
function addressSpaceLimit(): number | null {
  try {
    const line = /^Max address space\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line && line[1] !== "unlimited" ? Number(line[1]) : null;
  } catch {
    return null;
  }
}

/** `ready()` with the command's `--threads`, fewer where the address-space limit leaves no room for them. */
export async function readyFor(flags: Flags): Promise<EngineInfo> {
  const asked = typeof flags.threads === "number" ? flags.threads : availableParallelism();
  const limit = addressSpaceLimit();
  const room = limit === null ? Infinity : Math.max(1, 1 + Math.floor((limit - FIRST_THREAD_ADDRESSES) / WORKER_ADDRESSES));
  const threads = Math.min(asked, room);
  const info = await ready({ threads: Math.min(threads, 64) });
  if (threads < asked) console.error(`fwdgrad: running on ${threads} thread${threads === 1 ? "" : "s"}: the address-space limit (ulimit -v) of ${(limit! / GiB).toFixed(1)} GiB leaves room for no more (the WebAssembly memory takes about ${FIRST_THREAD_ADDRESSES / GiB} GiB of addresses, each further thread ${WORKER_ADDRESSES / GiB} GiB)`);
  else if (info.threadsNote) console.error(`fwdgrad: ${info.threadsNote}`);
  return info;
}
