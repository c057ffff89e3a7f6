// `npm test`: the suite under Node (tsx), Deno, Bun and headless Chromium, one after another, then
// the Node-only suites (every tests/cli/*.test.ts, tests/fuzz/*.test.ts and tests/faults/*.test.ts,
// one process each).
// uvu prints Total/Passed per run; this adds them up into the one line CI reads,
// `tests: N passed, M failed, K skipped`, and exits non-zero on any failure or any run that did not
// finish. K counts the runs, or parts of a run (the examples' browser page), that printed a
// `skipped:` line because there is no browser (scripts/find-browser.mjs); under CI=true each of
// those is a failure instead, so CI keeps running the browser tests.
// `package` installs the packed tarball outside the repository (scripts/package-test.mjs).
// `node scripts/test-all.mjs <names...>` runs only the named runs; `cli`, `fuzz` and `faults` name their group.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const bin = (name) => `node_modules/.bin/${name}`;
const CI = process.env.CI === "true";

// One run per test file in a Node-only folder, named <folder>/<file without .test.ts>.
const nodeOnly = (folder) =>
  (existsSync(`tests/${folder}`) ? readdirSync(`tests/${folder}`) : [])
    .filter((file) => file.endsWith(".test.ts"))
    .sort()
    .map((file) => ({ name: `${folder}/${file.slice(0, -".test.ts".length)}`, cmd: bin("tsx"), args: [`tests/${folder}/${file}`] }));

const RUNS = [
  { name: "source", cmd: process.execPath, args: ["scripts/check-source.mjs"] },
  { name: "docs", cmd: bin("tsx"), args: ["scripts/api-docs.ts", "--check"] },
  { name: "node", cmd: bin("tsx"), args: ["tests/node.ts"] },
  { name: "deno", cmd: bin("deno"), args: ["run", "--allow-env=FORCE_COLOR,NODE_DISABLE_COLORS,NO_COLOR,TERM", "tests/index.ts"] },
  { name: "bun", cmd: bin("bun"), args: ["tests/index.ts"] },
  { name: "chromium", cmd: process.execPath, args: ["scripts/browser-run.mjs"] },
  ...nodeOnly("cli"),
  ...nodeOnly("fuzz"),
  ...nodeOnly("faults"),
  { name: "examples", cmd: process.execPath, args: ["scripts/run-examples.mjs"] },
  // The packed tarball installed into an empty folder: Node, Deno, Bun, Chromium and a tsc consumer.
  { name: "package", cmd: process.execPath, args: ["scripts/package-test.mjs"] },
  { name: "web", cmd: process.execPath, args: ["scripts/web-test.mjs"] },
];
const GROUPS = ["cli", "fuzz", "faults"];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !GROUPS.includes(name) && !RUNS.some((r) => r.name === name));
if (unknown.length) {
  console.error(`test-all: unknown run ${unknown.join(", ")}; known: ${[...RUNS.map((r) => r.name), ...GROUPS].join(", ")}`);
  process.exit(2);
}
const runs = only.length ? RUNS.filter((r) => only.some((name) => r.name === name || r.name.startsWith(`${name}/`))) : RUNS;

// The suites import the generated kernel module; the examples import the built bundle.
for (const [file, script] of [["engine/generated/kernels-wasm.ts", "build:wasm"], ["dist/index.js", "build:dist"]]) {
  if (existsSync(file)) continue;
  const built = spawnSync("npm", ["run", script], { stdio: "inherit" });
  if (built.status !== 0) process.exit(1);
}

let passed = 0;
let failed = 0;
let skipped = 0;
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
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  // `skipped: <what> (<why>)`, printed by the browser scripts when there is no browser; a run that
  // printed one and no totals was skipped whole.
  const skips = [...output.matchAll(/^skipped: (.+?) \((.*)\)$/gm)].map(([, what, why]) => ({ what, why }));
  const total = /Total:\s+(\d+)/.exec(output);
  const ok = /Passed:\s+(\d+)/.exec(output);
  const whole = !total && skips.length > 0 && result.status === 0;
  if (!whole) {
    if (!total || !ok) {
      failed += 1;
      summary.push(`${run.name}: did not finish (exit ${result.status}${result.error ? `, ${result.error.message}` : ""}), ${seconds} s`);
    } else {
      const runPassed = Number(ok[1]);
      const runFailed = Number(total[1]) - runPassed + (result.status === 0 ? 0 : runPassed === Number(total[1]) ? 1 : 0);
      passed += runPassed;
      failed += runFailed;
      summary.push(`${run.name}: ${runPassed} passed, ${runFailed} failed, ${seconds} s`);
    }
  }
  for (const { what, why } of skips) {
    const part = whole ? run.name : `${run.name}: ${what}`;
    if (CI) failed += 1;
    else skipped += 1;
    summary.push(`${part}: ${CI ? "failed" : "skipped"} (${why}${CI ? "; CI=true requires the browser runs" : ""})`);
  }
}
console.log(`\n${summary.join("\n")}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed === 0 && (passed > 0 || skipped > 0) ? 0 : 1);
