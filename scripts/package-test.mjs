// The package as users get it, not the clone: `npm pack`s the built dist/ (its file list and gzip size
// against scripts/package-budget.json), installs the tarball offline into an empty folder outside
// the repository, and there imports "fwdgrad" and trains a few steps in Node, Deno, Bun and headless
// Chromium (an import map to the installed dist/index.js); all four must print the same weights hash.
// A TypeScript consumer with lib ["es2022"] (no DOM) compiles against the installed types under
// moduleResolution "bundler" and "node16", and `deno publish --dry-run` passes (JSR). uvu-style totals for scripts/test-all.mjs; without a
// browser the Chromium run is left out and a `skipped:` line says so.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { launchBrowser, reportSkipped } from "./find-browser.mjs";

const repo = resolve(".");
const budget = JSON.parse(readFileSync("scripts/package-budget.json", "utf8"));
const results = [];
const check = (name, ok, detail = "") => {
  results.push(ok);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
};
const run = (cmd, args, options = {}) => {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 16 << 20, timeout: 60_000, ...options });
  return { ...r, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "").replace(/^npm warn Unknown user config "nodedir".*\n/gm, "") };
};

// Pack what is built (npm run build or test-all built it); --ignore-scripts skips prepack's rebuild.
const built = run(process.execPath, ["scripts/ensure-built.mjs", "dist"], { stdio: "inherit" });
if (built.status !== 0) process.exit(1);
const folder = mkdtempSync(join(tmpdir(), "fwdgrad-installed-"));
const packed = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", folder]);
const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")))[0];
const paths = info.files.map((f) => f.path).sort();
const glob = (pattern) => new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace(/\*\*/g, "\0").replace(/\*/g, "[^/]*").replace(/\0/g, ".*")}$`);
const stray = paths.filter((p) => !budget.files.some((pattern) => glob(pattern).test(p)));
const missing = budget.required.filter((p) => !paths.includes(p));
check("tarball holds only what a user needs", stray.length === 0 && missing.length === 0,
  `${paths.length} files${stray.length ? `; not allowed: ${stray.join(", ")}` : ""}${missing.length ? `; missing: ${missing.join(", ")}` : ""}`);
check("tarball gzip size within budget", info.size <= budget.tarballGzipBytes,
  `${(info.size / 1000).toFixed(1)} kB of ${budget.tarballGzipBytes / 1000} kB (unpacked ${(info.unpackedSize / 1000).toFixed(1)} kB; jax-js states ${budget.jaxJsGzipBytes / 1000} kB)`);

// An empty project outside the repository; the tarball has no dependencies, so no network.
writeFileSync(join(folder, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
const installed = run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(folder, info.filename)], { cwd: folder });
check("npm install --offline <tarball> in an empty folder", installed.status === 0 && existsSync(join(folder, "node_modules/fwdgrad/dist/index.js")), installed.status ? installed.out.trim().split("\n").slice(-3).join(" | ") : "");

// A few steps of the Wᵀ estimator, as a user writes them; prints one JSON line.
writeFileSync(join(folder, "train.mjs"), `import { ready, shutdown, generateMnist1d, createMlp, createEstimator, prepareStep, estimateStep, adamW, rng, tensor, mark, release } from "fwdgrad";
export async function train() {
  const info = await ready();
  const data = generateMnist1d({ numSamples: 400 });
  const model = createMlp([40, 32, 10], { seed: 0 });
  const estimator = createEstimator("wt");
  const optimizer = adamW({ lr: 1e-3 });
  for (let step = 0; step < 6; step++) {
    const scope = mark();
    const x = tensor(data.train.x.subarray(step * 50 * 40, (step + 1) * 50 * 40), [50, 40]);
    const labels = Int32Array.from(data.train.y.subarray(step * 50, (step + 1) * 50));
    const { grads } = estimateStep(estimator, prepareStep(model, x, labels, rng(1).split(step)));
    optimizer.step(model.layers.map((l) => l.w), grads.w);
    release(scope);
  }
  let hash = 0x811c9dc5;
  for (const layer of model.layers) for (const byte of new Uint8Array(layer.w.toArray().buffer)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const printed = String(model.layers[0].w).slice(0, 24);
  shutdown();
  return { kernels: info.kernels, threads: info.threads, weightsHash: hash.toString(16), printed };
}
`);
writeFileSync(join(folder, "main.mjs"), `import { train } from "./train.mjs";\nconsole.log(JSON.stringify(await train()));\n`);
const hashes = {};
for (const [name, cmd, args] of [
  ["node", process.execPath, ["main.mjs"]],
  ["deno", join(repo, "node_modules/.bin/deno"), ["run", "--no-lock", "main.mjs"]],
  ["bun", join(repo, "node_modules/.bin/bun"), ["main.mjs"]],
]) {
  const r = run(cmd, args, { cwd: folder });
  let result = null;
  try {
    result = JSON.parse(r.stdout.trim().split("\n").pop());
  } catch {}
  if (result) hashes[name] = result.weightsHash;
  check(`${name} imports the installed package and trains`, !!result, result ? JSON.stringify(result) : `exit ${r.status}: ${r.out.trim().split("\n").slice(-3).join(" | ")}`);
}

// Chromium: the page maps "fwdgrad" to the installed dist/index.js, served from the folder.
const browser = await launchBrowser();
if (browser.context) {
  const ISOLATED = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
  const page = `<!doctype html><meta charset="utf-8"><script type="importmap">{"imports":{"fwdgrad":"/node_modules/fwdgrad/dist/index.js"}}</script>
<script type="module">import { train } from "/train.mjs"; train().then((r) => (window.result = r), (e) => (window.result = { error: String(e) }));</script>`;
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^\/+/, "");
    if (path === "") return res.writeHead(200, { "content-type": "text/html", ...ISOLATED }).end(page);
    if (path.startsWith("..") || !existsSync(join(folder, path))) return res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
    res.writeHead(200, { "content-type": extname(path) === ".json" ? "application/json" : "text/javascript", ...ISOLATED }).end(readFileSync(join(folder, path)));
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  let result = null;
  try {
    const tab = await browser.context.newPage();
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    result = await (await tab.waitForFunction(() => window.result, null, { timeout: 60_000 })).jsonValue();
  } catch (error) {
    result = { error: error.message.split("\n")[0] };
  }
  await browser.close();
  server.close();
  if (result?.weightsHash) hashes.chromium = result.weightsHash;
  check("chromium imports the installed package through an import map and trains", !!result?.weightsHash, JSON.stringify(result));
} else {
  reportSkipped("chromium: installed package", browser.reason);
}
const distinct = new Set(Object.values(hashes));
check("every runtime's weights hash is the same", distinct.size === 1, JSON.stringify(hashes));

// A TypeScript consumer without the DOM lib, checking the package's own .d.ts (skipLibCheck false).
writeFileSync(join(folder, "consumer.ts"), `import { createEstimator, ready, tensor, Trainer, type EstimatorId, type Tensor } from "fwdgrad";
const info = await ready();
const id: EstimatorId = "wperp";
const estimator = createEstimator(id, { k: 4 });
// @ts-expect-error a misspelt estimator id does not compile
createEstimator("wperpp");
const t: Tensor = tensor([1, 2, 3, 4], [2, 2]);
const printed: string = t.toString();
export { info, estimator, printed, Trainer };
`);
for (const resolution of ["bundler", "node16"]) {
  const config = join(folder, `tsconfig.${resolution}.json`);
  writeFileSync(config, JSON.stringify({
    compilerOptions: { target: "es2022", lib: ["es2022"], module: resolution === "bundler" ? "esnext" : "node16", moduleResolution: resolution, strict: true, noEmit: true, types: [], skipLibCheck: false },
    files: ["consumer.ts"],
  }));
  const r = run(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", config]);
  check(`tsc --noEmit: a consumer with lib ["es2022"], moduleResolution ${resolution}`, r.status === 0, r.out.trim().split("\n").slice(0, 5).join(" | "));
}

// JSR: the TypeScript sources publish as they are, with no slow types, at the npm version.
const jsr = JSON.parse(readFileSync("jsr.json", "utf8"));
const npmVersion = JSON.parse(readFileSync("package.json", "utf8")).version;
const dry = run(join(repo, "node_modules/.bin/deno"), ["publish", "--dry-run", "--allow-dirty"], { env: { ...process.env, NO_COLOR: "1" } });
const published = dry.out.match(/^\s+file:\/\/\//gm)?.length ?? 0;
check("deno publish --dry-run (jsr.json) passes with no warnings", dry.status === 0 && /Success Dry run complete/.test(dry.out) && !/^warning/m.test(dry.out) && jsr.version === npmVersion,
  `${published} files, jsr.json ${jsr.version}, package.json ${npmVersion}${dry.status ? `; ${dry.out.trim().split("\n").filter((l) => /^(error|warning)/.test(l)).slice(0, 3).join(" | ")}` : ""}`);

rmSync(folder, { recursive: true, force: true });
console.log(`\n  Total:     ${results.length}\n  Passed:    ${results.filter(Boolean).length}`);
process.exit(results.every(Boolean) ? 0 : 1);
