// Builds the lab page into web-dist/: main.js and worker.js (esbuild bundles, the WASM bytes inside)
// and index.html. The folder works from any static server and offline. The API reference, when
// `npm run docs` has generated it into docs-html/, is copied to web-dist/api/.
import { build } from "esbuild";
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from "node:fs";

rmSync("web-dist", { recursive: true, force: true });
mkdirSync("web-dist", { recursive: true });
await build({
  entryPoints: { main: "web/main.ts", worker: "web/worker.ts" },
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  outdir: "web-dist",
  logLevel: "warning",
});
copyFileSync("web/index.html", "web-dist/index.html");
const api = existsSync("docs-html/index.html");
if (api) cpSync("docs-html", "web-dist/api", { recursive: true });
console.log(`web-dist: index.html, main.js, worker.js${api ? ", api/ (the API reference)" : ""}`);
