// The f64 symmetric eigensolver (engine/linalg/eigh64.ts) against cyclic Jacobi (tests/oracles.ts,
// written independently): values, residuals, unit vectors and the numerical rank, also for repeated
// values and low rank.
import { jacobiEigen } from "../oracles.ts";
import { topEigen } from "../../engine/linalg/eigh64.ts";
import { assert, inputs, suite } from "../harness.ts";

const Eigh64 = suite("eigh64");

/** |actual − expected| ≤ tol. */
function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual}, expected ${expected} ± ${tol}`);
}

Eigh64("top eigenpairs equal cyclic Jacobi's, also for repeated values and low rank", () => {
  const r = inputs(21);
  const symmetric = (n: number, fill: (i: number, j: number) => number) => {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = fill(i, j);
    return a;
  };
  const gramOf = (rows: number, n: number) => {
    const x = r.uniform(rows * n);
    return symmetric(n, (i, j) => { let s = 0; for (let t = 0; t < rows; t++) s += x[t * n + i] * x[t * n + j]; return s; });
  };
  const cases: [string, number, Float64Array, number][] = [
    ["1×1", 1, Float64Array.from([2]), 1],
    ["3×3", 3, symmetric(3, (i, j) => (i === j ? 3 - i : 0.5)), 3],
    ["full-rank Gram 17", 17, gramOf(30, 17), 17],
    ["rank-5 Gram 20", 20, gramOf(5, 20), 5],
    ["identity 6 (all values repeated)", 6, symmetric(6, (i, j) => (i === j ? 1 : 0)), 6],
    ["Gram 64", 64, gramOf(80, 64), 64],
  ];
  for (const [what, n, a, rank] of cases) {
    const count = Math.min(n, 5);
    const oracle = jacobiEigen(Float64Array.from(a), n);
    const order = Array.from(oracle.values.keys()).sort((i, j) => oracle.values[j] - oracle.values[i]);
    const got = topEigen(Float64Array.from(a), n, count);
    assert.is(got.rank, rank, `${what}: rank`);
    const scale = Math.abs(oracle.values[order[0]]);
    for (let e = 0; e < count; e++) {
      assertClose(got.values[e], oracle.values[order[e]], 1e-10 * scale, `${what}: value ${e}`);
      // A·v = λ·v for the returned vector, unit length.
      let residual = 0, length = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * got.vectors[e * n + j];
        residual += (s - got.values[e] * got.vectors[e * n + i]) ** 2;
        length += got.vectors[e * n + i] ** 2;
      }
      assertClose(Math.sqrt(length), 1, 1e-10, `${what}: length of vector ${e}`);
      assert.ok(Math.sqrt(residual) <= 1e-9 * scale, `${what}: residual of pair ${e} is ${Math.sqrt(residual)}`);
    }
  }
});

Eigh64.run();
