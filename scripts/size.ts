// Line budget, in the spirit of tinygrad's sz.py: non-blank, non-comment lines per top-level folder,
// the primitive count and the package's export count. Exits non-zero when engine/ passes its budget.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as fwdgrad from "../index.ts";

// 2500 until the kernels' one signature table (engine/kernel-abi.ts), the in-place ops that replaced
// heap access above the engine (engine/inplace.ts) and the batched subspace tools (engine/linalg/)
// moved in: what they add was counted elsewhere before. 2700 until W̃⊥'s batched eigensolvers
// (LOBPCG and Lanczos on masked Grams, and the tridiagonal top-k; the solvers have since moved to
// estimators/wperp/, their heap side staying in engine/linalg/masked.ts). 3000
// until the threads (the worker pool, engine/threads.ts, and each kernel's split, engine/parallel.ts).
// 3500 until reverse mode by transposition (issue 25: linear and transpose rules in the primitive
// table, linearize/vjp/grad, the inspector) and the f64 symmetric eigensolver moved in from estimators/.
// 3800 until threads under fault (issue 29: bounded waits, retiring a failed worker, the fault seam).
// 3850 until tangents drawn where they are used (issue 26: the streams' one element-wise twin
// engine/kernels-ref/draws.ts, the drawn-operand product and its split, drawn tensors).
// 4100 until convolutions (issue 27: the conv primitive and its two adjoints lowered through
// im2col/col2im and their twin, conv1d, conv2d, their transposes and maxPool2d: 287 lines).
const ENGINE_BUDGET = 4400;
const FOLDERS = ["engine", "kernels-as", "models", "estimators", "data", "train", "platform", "cli", "web", "plot", "bench", "scripts", "tests"];

function sourceLines(path: string): number {
  if (!existsSync(path)) return 0;
  if (statSync(path).isDirectory()) {
    return readdirSync(path).filter((e) => e !== "generated" && e !== "build").reduce((n, e) => n + sourceLines(join(path, e)), 0);
  }
  if (!/\.(ts|mjs)$/.test(path)) return 0;
  let inBlock = false;
  return readFileSync(path, "utf8").split("\n").filter((raw) => {
    const line = raw.trim();
    if (inBlock) {
      inBlock = !line.includes("*/");
      return false;
    }
    if (line.startsWith("/*")) {
      inBlock = !line.includes("*/");
      return false;
    }
    return line !== "" && !line.startsWith("//") && !line.startsWith("*");
  }).length;
}

const counts = FOLDERS.map((f) => [f, sourceLines(f)] as const);
for (const [folder, lines] of counts) console.log(`${folder.padEnd(12)} ${String(lines).padStart(6)}`);
console.log(`primitives   ${String(Object.keys(fwdgrad.PRIMS).length).padStart(6)}`);
console.log(`exports      ${String(Object.keys(fwdgrad).length).padStart(6)}`);
const engineLines = counts.find(([f]) => f === "engine")![1];
if (engineLines > ENGINE_BUDGET) {
  console.error(`engine/ has ${engineLines} lines, over its budget of ${ENGINE_BUDGET}`);
  process.exit(1);
}
