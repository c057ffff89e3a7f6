// How the CLI suites run the command as users do (`node --import tsx cli/fwdgrad.ts …`) and what a
// refusal must look like: exit 2, one `fwdgrad: …` line and a usage line, no stack, no output.
import { spawnSync } from "node:child_process";
import * as assert from "uvu/assert";

export function fwdgrad(...args: string[]): { code: number | null; out: string; err: string } {
  // A process that does not exit (a worker thread left running) fails here instead of hanging the suite.
  const result = spawnSync(process.execPath, ["--import", "tsx", "cli/fwdgrad.ts", ...args], { encoding: "utf8", timeout: 300_000 });
  if (result.error) throw result.error;
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** Runs the CLI and asserts a clean refusal whose message line matches `message`. */
export function assertRefused(args: string[], message: RegExp): void {
  const { code, out, err } = fwdgrad(...args);
  const what = args.join(" ");
  assert.is(code, 2, `${what}: exit code (stderr: ${err})`);
  const lines = err.trimEnd().split("\n");
  assert.is(lines.length, 2, `${what}: one message line and one usage line, got\n${err}`);
  assert.match(lines[0], /^fwdgrad: /, what);
  assert.match(lines[0], message, `${what}: got ${lines[0]}`);
  assert.match(lines[1], /^usage: /, what);
  assert.not.match(err, /^\s+at /m, `${what}: no stack trace`);
  assert.is(out, "", `${what}: no output before the refusal`);
}
