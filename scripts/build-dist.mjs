// Builds the published package: dist/index.js, dist/node.js and dist/cli.js over one shared chunk
// (ESM, the WASM bytes inside), and the .d.ts types beside them. Needs engine/generated/kernels-wasm.ts (npm run build:wasm).
// No source maps: the bundles are unminified and esbuild marks each module's start with its path
// (`// engine/tensor.ts`), so stack traces read as they are; maps would point at sources the package
// does not ship, or, with the sources embedded, more than double the tarball (1.5 MB of 2.9 MB unpacked).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

rmSync("dist", { recursive: true, force: true });
// One build of the three entries, so they share the library: dist/index.js (browsers, Deno, Bun,
// bundlers), dist/node.js (the same library with Node's worker_threads registered for the engine's
// threads: package.json's "node" condition) and the CLI (the package's `fwdgrad` bin) each import
// it from one chunk instead of carrying a copy (2.9 → ~1 MB unpacked). `node:` imports stay imports.
await build({
  entryPoints: { index: "index.ts", node: "node.ts", cli: "cli/fwdgrad.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  external: ["node:*"],
  target: "es2022",
  outdir: "dist",
  chunkNames: "lib-[hash]",
  logLevel: "warning",
});
writeFileSync("dist/cli.js", `#!/usr/bin/env node\n${readFileSync("dist/cli.js", "utf8")}`);
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
