// Builds the published package: dist/index.js (one ESM bundle, WASM bytes inside), dist/node.js (the
// same with Node's worker_threads registered for the engine's threads), the CLI and the .d.ts
// types beside it. Needs engine/generated/kernels-wasm.ts (npm run build:wasm).
// No source maps: the bundles are unminified and esbuild marks each module's start with its path
// (`// engine/tensor.ts`), so stack traces read as they are; maps would point at sources the package
// does not ship, or, with the sources embedded, more than double the tarball (1.5 MB of 2.9 MB unpacked).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["index.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  outfile: "dist/index.js",
  logLevel: "warning",
});
// The Node entry: the same library with its threads on worker_threads (package.json's "node" condition).
await build({
  entryPoints: ["node.ts"],
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outfile: "dist/node.js",
  logLevel: "warning",
});
// The CLI: one Node bundle with the library inside, run as the package's `fwdgrad` bin.
await build({
  entryPoints: ["cli/fwdgrad.ts"],
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outfile: "dist/cli.js",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
chmodSync("dist/cli.js", 0o755);
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
// Sources import with .ts extensions (Deno needs them); published types point at the .d.ts files.
for (const entry of readdirSync("dist", { recursive: true })) {
  const path = join("dist", String(entry));
  if (!path.endsWith(".d.ts")) continue;
  const text = readFileSync(path, "utf8");
  writeFileSync(path, text.replace(/(from\s+"\.{1,2}\/[^"]*)\.ts"/g, '$1.js"'));
}
console.log("dist: index.js and .d.ts types written");
