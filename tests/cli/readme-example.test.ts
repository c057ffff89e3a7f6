// The README's "Estimators from code" example, read from README.md and run as written (at width 16
// and batch 64 instead of 128 and 512, to be quick): looping its step 1,000 times leaves the heap
// where it was after 10 steps. Node only: it reads the README.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as fwdgrad from "../../index.ts";

const Readme = suite("README example");
const STEPS = 1000;

/** The example's code: the one-time setup (through the optimizer) and the step a loop repeats. */
function example(): { setup: string; step: string } {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = /## Estimators from code\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README.md has a ts block under ## Estimators from code");
  assert.match(block, /createMlp\(\[40, 128, 128, 128, 10\]/, "the example's model is the one resized here");
  assert.match(block, /subarray\(0, 512 \* 40\)/, "the example's batch is the one resized here");
  const sized = block.replace(/\b128\b/g, "16").replace(/\b512\b/g, "64");
  const imports = /^import \{([^}]+)\} from "fwdgrad";\n/.exec(sized);
  assert.ok(imports, "the example imports from fwdgrad in one line");
  const code = `const {${imports[1]}} = fwdgrad;\n${sized.slice(imports[0].length)}`;
  // Everything after the optimizer is what a training loop repeats, the batch included.
  const optimizerEnd = code.indexOf("\n", code.indexOf("adamW("));
  assert.ok(code.includes("adamW(") && optimizerEnd > 0, "the example creates an optimizer");
  return { setup: code.slice(0, optimizerEnd + 1), step: code.slice(optimizerEnd + 1) };
}

Readme("its step, looped as written, keeps the heap flat", async () => {
  const { setup, step } = example();
  assert.match(step, /mark\(\)[\s\S]*tensor\([\s\S]*release\(/, "the step marks before it makes tensors and releases");
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<number[]>;
  const program = new AsyncFunction(
    "fwdgrad",
    "STEPS",
    `${setup}\nconst heap = [];\nfor (let i = 1; i <= STEPS; i++) {\n${step}\nheap.push(fwdgrad.heapBytes());\n}\nreturn heap;`,
  );
  const heap = await program(fwdgrad, STEPS);
  assert.is(heap.length, STEPS);
  assert.is(heap[STEPS - 1], heap[9], `heap after step ${STEPS} (${heap[STEPS - 1]} bytes) equals after step 10 (${heap[9]} bytes)`);
  assert.is(heap[0], heap[9], "flat from the first step");
});

Readme.run();
