// Builds what a fresh clone lacks, so every npm script works right after `npm ci` (nothing builds at
// install time): `node scripts/ensure-built.mjs` the generated kernel module the sources import,
// `... dist` also the published bundle (dist/). Builds nothing that exists; `npm run build` rebuilds.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const wanted = [["engine/generated/kernels-wasm.ts", "build:wasm"]];
if (process.argv.includes("dist")) wanted.push(["dist/cli.js", "build:dist"]);
for (const [file, script] of wanted) {
  if (existsSync(file)) continue;
  const built = spawnSync("npm", ["run", script], { stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
