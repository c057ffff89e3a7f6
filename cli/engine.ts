// Starting the engine for a CLI command: worker threads on Node's worker_threads, as many as
// `--threads` asks (default: every core), and a note on stderr when fewer can run.
import { ready, setThreadHost, type EngineInfo } from "../index.ts";
import { nodeThreadHost } from "../platform/node.ts";
import type { FlagSpec, Flags } from "./args.ts";

export const THREADS_FLAG: FlagSpec = { kind: "int", min: 1, max: 64, value: "n", help: "threads for the kernels (default: every core; any count gives the same numbers)" };

setThreadHost(nodeThreadHost);

/** `ready()` with the command's `--threads`. */
export async function readyFor(flags: Flags): Promise<EngineInfo> {
  const info = await ready(typeof flags.threads === "number" ? { threads: flags.threads } : {});
  if (info.threadsNote) console.error(`fwdgrad: ${info.threadsNote}`);
  return info;
}
