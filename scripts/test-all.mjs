// `npm test`: the suite under Node (tsx), Deno, Bun and headless Chromium, one after another.
// uvu prints Total/Passed per run; this adds them up into the one line CI reads,
// `tests: N passed, M failed`, and exits non-zero on any failure or any run that did not finish.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const bin = (name) => `node_modules/.bin/${name}`;
const RUNS = [
  { name: "source", cmd: process.execPath, args: ["scripts/check-source.mjs"] },
  { name: "docs", cmd: bin("tsx"), args: ["scripts/api-docs.ts", "--check"] },
  { name: "node", cmd: bin("tsx"), args: ["tests/index.ts"] },
  { name: "deno", cmd: bin("deno"), args: ["run", "--allow-env=FORCE_COLOR,NODE_DISABLE_COLORS,NO_COLOR,TERM", "--allow-read=../shared", "tests/index.ts"] },
  { name: "bun", cmd: bin("bun"), args: ["tests/index.ts"] },
  { name: "chromium", cmd: process.execPath, args: ["scripts/browser-run.mjs"] },
  { name: "cli", cmd: bin("tsx"), args: ["tests/cli/cli.test.ts"] },
  { name: "examples", cmd: process.execPath, args: ["scripts/run-examples.mjs"] },
  { name: "web", cmd: process.execPath, args: ["scripts/web-test.mjs"] },
];

const only = process.argv.slice(2);
const runs = only.length ? RUNS.filter((r) => only.includes(r.name)) : RUNS;

// The suites import the generated kernel module; the examples import the built bundle.
for (const [file, script] of [["engine/generated/kernels-wasm.ts", "build:wasm"], ["dist/index.js", "build:dist"]]) {
  if (existsSync(file)) continue;
  const built = spawnSync("npm", ["run", script], { stdio: "inherit" });
  if (built.status !== 0) process.exit(1);
}

let passed = 0;
let failed = 0;
const summary = [];
for (const run of runs) {
  const started = Date.now();
  const result = spawnSync(run.cmd, run.args, {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
  process.stdout.write(`\n=== ${run.name} ===\n${output}`);
  const total = /Total:\s+(\d+)/.exec(output);
  const ok = /Passed:\s+(\d+)/.exec(output);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!total || !ok) {
    failed += 1;
    summary.push(`${run.name}: did not finish (exit ${result.status}${result.error ? `, ${result.error.message}` : ""}), ${seconds} s`);
    continue;
  }
  const runPassed = Number(ok[1]);
  const runFailed = Number(total[1]) - runPassed + (result.status === 0 ? 0 : runPassed === Number(total[1]) ? 1 : 0);
  passed += runPassed;
  failed += runFailed;
  summary.push(`${run.name}: ${runPassed} passed, ${runFailed} failed, ${seconds} s`);
}
console.log(`\n${summary.join("\n")}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
