// House rules a test runtime cannot see: library code (everything shipped: index.ts, engine/,
// estimators/, models/) stays portable and deterministic. Prints uvu-style Total/Passed lines so
// scripts/test-all.mjs counts each rule as a test.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const LIBRARY = ["index.ts", "engine", "estimators", "models"];
const RULES = [
  { name: "no Math.random (all randomness from the seeded Philox streams)", pattern: /\bMath\.random\b/ },
  { name: "no node: imports", pattern: /from\s+["']node:|import\(\s*["']node:/ },
  { name: "no process, Buffer, require or __dirname", pattern: /\b(process\.|Buffer\.|require\(|__dirname)/ },
  { name: "no fetch or import.meta.url", pattern: /\bfetch\(|import\.meta\.url/ },
  { name: "no synchronous WebAssembly compile", pattern: /new\s+WebAssembly\.(Module|Instance)\(/ },
  { name: "relative imports name their .ts file", pattern: /from\s+["']\.{1,2}\/[^"']*(?<!\.ts)["']/ },
  { name: "no relaxed SIMD in the kernels", pattern: /relaxed|_relaxed/, dirs: ["kernels-as"] },
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
  if (offenders.length === 0) passed++;
  console.log(`${offenders.length === 0 ? "ok  " : "FAIL"} ${rule.name}${offenders.map((o) => `\n     ${o}`).join("")}`);
}
console.log(`\n  Total:     ${RULES.length}\n  Passed:    ${passed}\n`);
process.exit(passed === RULES.length ? 0 : 1);
