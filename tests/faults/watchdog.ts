// The fault matrix's time limit, enforced: a watchdog thread that kills this process (and says which
// case) when a case runs past its limit. It runs on a worker thread because the case under test may
// block the main thread (a kernel call waiting on a stalled worker, a synchronous training epoch),
// where no timer of the main thread would ever fire. The deadline and the case's name are in shared
// memory, so the watchdog sees them the moment a case starts.
import { Worker } from "node:worker_threads";

/** No case of the matrix may run longer than this. */
export const CASE_LIMIT_MS = 10_000;

const NAME_BYTES = 256;
const shared = new SharedArrayBuffer(8 + NAME_BYTES);
const deadline = new Float64Array(shared, 0, 1);
const name = new Uint8Array(shared, 8, NAME_BYTES);

const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const deadline = new Float64Array(workerData, 0, 1);
const name = new Uint8Array(workerData, 8, ${NAME_BYTES});
setInterval(() => {
  if (deadline[0] > 0 && Date.now() > deadline[0]) {
    const text = new TextDecoder().decode(name.slice()).replace(/\\0+$/, "");
    writeSync(2, "fault matrix: case " + JSON.stringify(text) + " ran past ${CASE_LIMIT_MS} ms; the runner stopped it\\n");
    process.kill(process.pid, "SIGKILL");
  }
}, 50);
`;

const worker = new Worker(WATCHDOG, { eval: true, workerData: shared });
worker.unref();

/** Runs one case under the watchdog; resolves to its wall time in milliseconds. */
export async function timedCase(caseName: string, run: () => unknown | Promise<unknown>): Promise<number> {
  name.fill(0);
  name.set(new TextEncoder().encode(caseName).subarray(0, NAME_BYTES));
  const started = Date.now();
  deadline[0] = started + CASE_LIMIT_MS;
  try {
    await run();
  } finally {
    deadline[0] = 0;
  }
  return Date.now() - started;
}
