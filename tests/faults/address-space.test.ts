// Memory the machine will not give: the built CLI (dist/cli.js; tsx itself cannot start under these
// limits) run under an address-space limit (`ulimit -v`, Linux). Below what one WebAssembly memory
// reserves it stops with one line naming memory and exit 1; with room for fewer threads than asked
// it runs on those and says why, where V8 would otherwise abort the process with no message of ours.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { timedCase } from "./watchdog.ts";

const AddressSpace = suite("fault matrix: address space");

/** `fwdgrad train` under `ulimit -v` (KiB). */
function limited(kib: number, ...args: string[]) {
  const result = spawnSync("bash", ["-c", `ulimit -v ${kib} && exec "$0" dist/cli.js "$@"`, process.execPath, "train", "--method", "wt", "--width", "16", "--epochs", "1", "--batch", "500", ...args], { encoding: "utf8", timeout: 9_000 });
  return { code: result.status, signal: result.signal, out: result.stdout, err: result.stderr };
}

if (process.platform === "linux" && existsSync("dist/cli.js")) {
  AddressSpace("a limit below one WebAssembly memory's reservation: one line naming memory, exit 1", async () => {
    await timedCase("ulimit 6 GB", () => {
      const run = limited(6_000_000);
      assert.is(run.code, 1, run.err);
      assert.match(run.err, /^fwdgrad: out of memory: the runtime cannot reserve a WebAssembly memory of .* address-space limit/);
      assert.is(run.err.trim().split("\n").length, 1, run.err);
      assert.not.match(run.err, /Fatal process|internal error|^\s+at /m);
    });
  });

  AddressSpace("room for one thread of the two asked: runs on one, says why, the same weights", async () => {
    await timedCase("ulimit 12 GB", () => {
      const run = limited(12_000_000, "--threads", "2", "--json");
      assert.is(run.code, 0, run.err);
      assert.match(run.err, /^fwdgrad: running on 1 thread: the address-space limit \(ulimit -v\) of 11\.4 GiB leaves room for no more/);
      const free = spawnSync(process.execPath, ["dist/cli.js", "train", "--method", "wt", "--width", "16", "--epochs", "1", "--batch", "500", "--threads", "2", "--json"], { encoding: "utf8", timeout: 9_000 });
      const hash = (text: string) => JSON.parse(text.trim().split("\n").pop()!).weightsHash;
      assert.is(hash(run.out), hash(free.stdout));
    });
  });
}

AddressSpace.run();
