// House rules a test runtime cannot see: library code (everything shipped: index.ts, engine/, nn/,
// estimators/, data/, train/) stays portable and deterministic, and the kernels, their TS twins and their
// one declaration (engine/kernel-abi.ts) agree. Prints uvu-style Total/Passed lines so
// scripts/test-all.mjs counts each rule as a test.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { checkAsSources, checkMirror, checkTwinSources, loadAbi } from "./kernel-abi-check.mjs";

const LIBRARY = ["index.ts", "engine", "models", "estimators", "data", "train"];
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
    dirs: ["index.ts", "models", "estimators", "data", "train", "plot", "cli", "web", "bench"],
  },
  // Tangents are the engine's: a training step's tangents are propagated by the primitives' rules
  // (engine/prims.ts) inside one engine jvp, never by hand above the engine. Outside engine/ no code
  // reads a tensor's tangent (.dt), imports the primitive table or names a value as a tangent (dx, ds,
  // dz, …: the engine's naming for tangents). tests/cli/source-check.test.ts plants a hand pass.
  {
    name: "no hand-propagated tangents outside engine/ (.dt, engine/prims.ts, tangent names dx, ds, dz, …)",
    pattern: /\.dt\b|engine\/prims\.ts|\bd(?:x|y|z|s|w|h|v|out|logits)\b/,
    dirs: ["index.ts", "models", "estimators", "data", "train", "plot", "cli", "web", "bench"],
  },
  // A method's behaviour lives in its registry entry (estimators/index.ts), not in comparisons of its
  // name scattered through the trainer, CLI and page.
  {
    name: "no branch on a gradient method's name outside the registry",
    pattern: /(?:===|!==|case)\s*["'](?:backprop|wt|wp|wperp|wperp-ns|forward-gradient|activation-perturbation(?:-masked)?)["']|["'](?:backprop|wt|wp|wperp|wperp-ns|forward-gradient|activation-perturbation(?:-masked)?)["']\s*(?:===|!==)|startsWith\(\s*["'](?:wperp|wt|wp|activation|forward|backprop)/,
    dirs: ["index.ts", "models", "estimators", "data", "train", "plot", "cli", "web", "bench"],
    except: ["estimators/index.ts"],
  },
];
const { KERNELS } = await loadAbi();
// Rules over whole files, each a function returning its offenders.
const CHECKS = [
  { name: "engine/kernels-ref/ mirrors kernels-as/ file for file", check: checkMirror },
  { name: "the AS kernels match engine/kernel-abi.ts (names, parameters, types, results)", check: () => checkAsSources(KERNELS) },
  { name: "each TS twin sits in the file named like its kernel's, with the declared parameter names", check: () => checkTwinSources(KERNELS) },
  { name: "imports point down the layers (engine ← models, data, plot ← estimators ← train ← platform ← cli, web, bench)", check: checkLayers },
];

// A folder may import from its own folder and from folders of a lower rank only (tests, scripts and
// examples sit outside and may import anything).
const LAYERS = { engine: 0, models: 1, data: 1, plot: 1, estimators: 2, train: 3, cli: 4, web: 4, bench: 4, platform: 3.75 };

function checkLayers() {
  const offenders = [];
  const top = (path) => path.split("/")[0];
  for (const folder of Object.keys(LAYERS)) {
    for (const file of files(folder)) {
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        const target = top(normalize(join(dirname(file), match[1])));
        // The package root re-exports the library, so only the apps may import it.
        const rank = target === "index.ts" ? 3.5 : LAYERS[target];
        const line = text.slice(0, match.index).split("\n").length;
        if (target !== folder && rank !== undefined && !(rank < LAYERS[folder])) offenders.push(`${file}:${line}: ${folder}/ imports ${target}`);
      }
    }
  }
  return offenders;
}

// `--plant <file>`: check a file as if it sat in estimators/ (the tests plant rule breakers with it).
const plantAt = process.argv.indexOf("--plant");
const planted = plantAt >= 0 ? process.argv[plantAt + 1] : null;

function files(path) {
  if (planted && path === "estimators") return [...listed(path), planted];
  return listed(path);
}

function listed(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return path.endsWith(".ts") ? [path] : [];
  return readdirSync(path).flatMap((entry) => listed(join(path, entry)));
}

let passed = 0;
for (const rule of RULES) {
  const offenders = [];
  for (const file of (rule.dirs ?? LIBRARY).flatMap(files).filter((f) => !rule.except?.includes(f))) {
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
