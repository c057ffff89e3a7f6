// House rules a test runtime cannot see: library code (everything shipped: index.ts, engine/,
// estimators/, models/) stays portable and deterministic, and the kernels, their TS twins and their
// one declaration (engine/kernel-abi.ts) agree. Prints uvu-style Total/Passed lines so
// scripts/test-all.mjs counts each rule as a test.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkAsSources, checkMirror, checkTwinSources, loadAbi } from "./kernel-abi-check.mjs";

const LIBRARY = ["index.ts", "engine", "estimators", "models"];
const RULES = [
  { name: "no Math.random (all randomness from the seeded Philox streams)", pattern: /\bMath\.random\b/ },
  { name: "no node: imports", pattern: /from\s+["']node:|import\(\s*["']node:/ },
  { name: "no process, Buffer, require or __dirname", pattern: /\b(process\.|Buffer\.|require\(|__dirname)/ },
  { name: "no fetch or import.meta.url", pattern: /\bfetch\(|import\.meta\.url/ },
  { name: "no synchronous WebAssembly compile", pattern: /new\s+WebAssembly\.(Module|Instance)\(/ },
  { name: "relative imports name their .ts file", pattern: /from\s+["']\.{1,2}\/[^"']*(?<!\.ts)["']/ },
  { name: "no relaxed SIMD in the kernels", pattern: /relaxed|_relaxed/, dirs: ["kernels-as"] },
  // Heap work above the engine goes through engine ops (engine/inplace.ts), which refuse tangents
  // instead of dropping them; .mark()/.release() of the arena are public and fine.
  {
    name: "no heap access outside engine/ (engine(), .heap, .ptr, typed heap views)",
    pattern: /\bengine\(\)|\.heap\b|\.ptr\b|\.f32\(\)|\.i32\(\)/,
    dirs: ["index.ts", "estimators", "models", "cli", "web", "bench", "examples"],
  },
];
const { KERNELS } = await loadAbi();
// Rules over whole files, each a function returning its offenders.
const CHECKS = [
  { name: "engine/kernels-ref/ mirrors kernels-as/ file for file", check: checkMirror },
  { name: "the AS kernels match engine/kernel-abi.ts (names, parameters, types, results)", check: () => checkAsSources(KERNELS) },
  { name: "each TS twin sits in the file named like its kernel's, with the declared parameter names", check: () => checkTwinSources(KERNELS) },
];

function files(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return path.endsWith(".ts") ? [path] : [];
  return readdirSync(path).flatMap((entry) => files(join(path, entry)));
}

let passed = 0;
for (const rule of RULES) {
  const offenders = [];
  for (const file of (rule.dirs ?? LIBRARY).flatMap(files)) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "");
      if (rule.pattern.test(code)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  report(rule.name, offenders);
}
for (const rule of CHECKS) report(rule.name, rule.check());

function report(name, offenders) {
  if (offenders.length === 0) passed++;
  console.log(`${offenders.length === 0 ? "ok  " : "FAIL"} ${name}${offenders.map((o) => `\n     ${o}`).join("")}`);
}
const total = RULES.length + CHECKS.length;
console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n`);
process.exit(passed === total ? 0 : 1);
