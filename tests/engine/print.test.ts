// A tensor prints its shape and first values, as NumPy does, in every runtime's console; a released
// one says so instead of throwing.
import { mark, release, reshape, tensor, zeros } from "../../index.ts";
import { assert, suite } from "../harness.ts";

const Print = suite("print");

Print("toString: shape, then the values nested by axis", () => {
  assert.is(String(tensor([1, 2, 3, 4, 5, 6], [2, 3])), "Tensor([2, 3]) [[1, 2, 3], [4, 5, 6]]");
  assert.is(`${tensor([0.1, -2.5, 1e-9])}`, "Tensor([3]) [0.1, -2.5, 1e-9]");
  assert.is(String(tensor([7], [])), "Tensor([]) 7");
  assert.is(String(tensor([123456789, 1 / 3])), "Tensor([2]) [1.23457e+8, 0.333333]");
  assert.is(String(zeros([2, 0])), "Tensor([2, 0]) [[], []]");
  assert.is(String(reshape(tensor([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2])), "Tensor([2, 2, 2]) [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]");
});

Print("toString: 6 values per axis, then …", () => {
  const t = tensor(Array.from({ length: 80 }, (_, i) => i), [8, 10]);
  const row = (r: number) => `[${[0, 1, 2, 3, 4, 5].map((c) => r * 10 + c).join(", ")}, …]`;
  assert.is(String(t), `Tensor([8, 10]) [${[0, 1, 2, 3, 4, 5].map(row).join(", ")}, …]`);
});

Print("a released tensor prints that it was released", () => {
  const scope = mark();
  const t = tensor([1, 2, 3]);
  release(scope);
  assert.is(String(t), "Tensor([3]) (released)");
});

Print("console inspection: Node's and Bun's symbol, Deno's, and Deno.inspect itself", () => {
  const t = tensor([1, 2], [1, 2]);
  const custom = t as unknown as Record<symbol, () => string>;
  assert.is(custom[Symbol.for("nodejs.util.inspect.custom")](), "Tensor([1, 2]) [[1, 2]]");
  assert.is(custom[Symbol.for("Deno.customInspect")](), "Tensor([1, 2]) [[1, 2]]");
  const deno = (globalThis as { Deno?: { inspect(x: unknown): string } }).Deno;
  if (deno) assert.is(deno.inspect(t), "Tensor([1, 2]) [[1, 2]]");
  assert.equal(Object.keys(t).includes("toString"), false);
});

Print.run();
