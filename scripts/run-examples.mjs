// Runs the examples as users would: examples/train.mjs under Node, Deno and Bun,
// examples/browser.html in headless Chromium from a local static server, and
// examples/train-in-worker.mjs (training in a worker) under Node, Deno and Bun. Each prints (or
// shows) one JSON result; the runs of each example must agree on weightsHash. uvu-style totals;
// without a browser the page is left out of them and a `skipped:` line says so.
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { extname, normalize } from "node:path";
import { launchBrowser, reportSkipped } from "./find-browser.mjs";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".map": "application/json" };
const results = {};
const failures = [];

for (const [name, cmd, args] of [
  ["node", process.execPath, ["examples/train.mjs"]],
  ["deno", "node_modules/.bin/deno", ["run", "examples/train.mjs"]],
  ["bun", "node_modules/.bin/bun", ["examples/train.mjs"]],
  // Training off the main thread: worker_threads in Node, Web Workers in Deno and Bun.
  ["node worker", process.execPath, ["examples/train-in-worker.mjs"]],
  ["deno worker", "node_modules/.bin/deno", ["run", "--allow-read=.", "examples/train-in-worker.mjs"]],
  ["bun worker", "node_modules/.bin/bun", ["examples/train-in-worker.mjs"]],
]) {
  const run = spawnSync(cmd, args, { encoding: "utf8" });
  try {
    results[name] = JSON.parse(run.stdout.trim().split("\n").pop());
  } catch {
    failures.push(`${name}: no result (exit ${run.status}): ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
}

const browser = await launchBrowser();
if (browser.context) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^\/+/, "");
    if (path.startsWith("..")) return res.writeHead(403).end();
    let body;
    try {
      body = readFileSync(path);
    } catch {
      return res.writeHead(path === "favicon.ico" ? 204 : 404).end();
    }
    res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/examples/browser.html`);
    await page.waitForFunction(() => document.getElementById("result")?.textContent?.startsWith("{"), null, { timeout: 120_000 });
    results.chromium = JSON.parse(await page.textContent("#result"));
  } catch (error) {
    failures.push(`chromium: ${error.message.split("\n")[0]}`);
  } finally {
    await browser.close();
    server.close();
  }
} else {
  reportSkipped("examples/browser.html in chromium", browser.reason);
}

for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(12)} ${JSON.stringify(r)}`);
for (const [name, r] of Object.entries(results)) {
  const reference = name.endsWith("worker") ? results["node worker"] : results.node;
  if (!reference || r.weightsHash !== reference.weightsHash || r.steps !== reference.steps) failures.push(`${name}: result differs from node's`);
}
for (const f of failures) console.log(`FAIL ${f}`);
const total = browser.context ? 7 : 6;
console.log(`\n  Total:     ${total}\n  Passed:    ${total - new Set(failures.map((f) => f.split(":")[0])).size}\n`);
process.exit(failures.length ? 1 : 0);
