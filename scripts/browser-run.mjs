// Runs the test suite in headless Chromium: bundles tests/index.ts with esbuild, serves it on
// 127.0.0.1 with the COOP/COEP headers (cross-origin isolation, so SharedArrayBuffer exists), runs it
// in a module worker (where the engine may block, so its threads run), drives the browser
// scripts/find-browser.mjs finds with playwright-core (no browser download) and streams the
// console to stdout. Exits 0 only if uvu reports Total equal to
// Passed, or if there is no browser (then it prints a `skipped:` line instead of totals).
import { build } from "esbuild";
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { launchBrowser, reportSkipped } from "./find-browser.mjs";

const entry = process.argv[2] ?? "tests/index.ts";
const outDir = ".tmp/browser";
const TIMEOUT_MS = 5 * 60 * 1000;

const browser = await launchBrowser();
if (!browser.context) {
  reportSkipped("chromium", browser.reason);
  process.exit(0);
}

mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [entry],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  outfile: join(outDir, "test.js"),
  logLevel: "warning",
  // The package is marked side-effect free for its users; test modules register suites on import.
  ignoreAnnotations: true,
});

const page =
  '<!doctype html><meta charset="utf-8"><title>fwdgrad tests</title><script type="module">' +
  'const worker = new Worker("/test.js", { type: "module" });' +
  'worker.onerror = (e) => console.log(`page error: ${e.message}`);' +
  "</script>";
const ISOLATED = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
const server = createServer((req, res) => {
  if (req.url === "/" || req.url === "/index.html") {
    res.writeHead(200, { "content-type": "text/html", ...ISOLATED }).end(page);
  } else if (req.url === "/test.js") {
    res.writeHead(200, { "content-type": "text/javascript", ...ISOLATED }).end(readFileSync(join(outDir, "test.js")));
  } else {
    res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

let total = null;
let passed = null;
let finished;
const done = new Promise((resolve) => (finished = resolve));
const browserPage = await browser.context.newPage();
browserPage.on("console", (msg) => {
  const text = msg.text();
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  const t = /Total:\s+(\d+)/.exec(text);
  if (t) total = Number(t[1]);
  const p = /Passed:\s+(\d+)/.exec(text);
  if (p) passed = Number(p[1]);
  if (/Duration:/.test(text) || /^page error:/.test(text)) finished();
});
browserPage.on("pageerror", (err) => {
  console.log(`page error: ${err.message}`);
  finished();
});
const timer = setTimeout(() => {
  console.log(`browser tests timed out after ${TIMEOUT_MS / 1000} s`);
  finished();
}, TIMEOUT_MS);

await browserPage.goto(url);
await done;
clearTimeout(timer);
await browser.close();
server.close();
process.exit(total !== null && total === passed ? 0 : 1);
