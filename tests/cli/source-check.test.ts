// The source check's tangent rule can see a hand tangent pass: the pass fwdgrad's estimator step
// once ran (ṡ = ẋ·Wᵀ + x·Vᵀ + y, then the mask), planted as if in estimators/, fails it; the tree
// as it is passes.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, suite } from "../harness.ts";

const Check = suite("source check");
const RULE = "no hand-propagated tangents outside engine/";

const HAND_PASS = `import { add, matmul, mul, reshape } from "../engine/ops.ts";
import type { Tensor } from "../engine/tensor.ts";
export function tangentPass(layers: { w: Tensor }[], inputs: Tensor[], masks: Tensor[], v: Tensor[], batch: number): Tensor | null {
  let dx: Tensor | null = null;
  layers.forEach((layer, i) => {
    const [out, inp] = layer.w.shape;
    let ds = dx ? reshape(matmul(reshape(dx, [dx.shape[0] * batch, inp]), layer.w, { transB: true }), [dx.shape[0], batch, out]) : null;
    ds = ds ? add(ds, matmul(inputs[i], v[i], { transB: true })) : matmul(inputs[i], v[i], { transB: true });
    dx = mul(ds, masks[i]);
  });
  return dx;
}
`;

const run = (...args: string[]) => spawnSync(process.execPath, ["scripts/check-source.mjs", ...args], { encoding: "utf8" });

Check("the tree passes the tangent rule", () => {
  const result = run();
  assert.ok(result.stdout.includes(`ok   ${RULE}`), result.stdout);
});

Check("a planted hand tangent pass fails it, named by file and line", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwdgrad-plant-"));
  try {
    const file = join(dir, "hand-pass.ts");
    writeFileSync(file, HAND_PASS);
    const result = run("--plant", file);
    assert.is(result.status, 1, result.stdout);
    assert.ok(result.stdout.includes(`FAIL ${RULE}`), result.stdout);
    assert.ok(result.stdout.includes(`${file}:4:`), result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Check.run();
