// The tridiagonal top-k eigensolver (bisection and inverse iteration, engine/linalg/tridiagonal.ts)
// against a float64 oracle (cyclic Jacobi, written independently), with repeated and clustered values.
import { denseTop } from "../oracles.ts";
import { tridiagonalTop } from "../../engine/linalg/tridiagonal.ts";
import { assert, inputs, suite } from "../harness.ts";

const Tridiagonal = suite("tridiagonal");

function tridiagonalCase(alpha: number[], beta: number[]) {
  const n = alpha.length;
  const dense = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    dense[i * n + i] = alpha[i];
    if (i + 1 < n) dense[i * n + i + 1] = dense[(i + 1) * n + i] = beta[i];
  }
  return { n, dense, alpha: Float64Array.from(alpha), beta: Float64Array.from([...beta, 0]) };
}

Tridiagonal("tridiagonal top-k: values and vectors match Jacobi; repeated and clustered values keep orthonormal vectors", () => {
  const r = inputs(11);
  const cases = [
    tridiagonalCase([2], []),
    tridiagonalCase([1, 2, 3], [0.5, 0.25]),
    ...[4, 5, 17, 64, 65].map((n) => tridiagonalCase(Array.from(r.uniform(n, -2, 2)), Array.from(r.uniform(n - 1, -1, 1)))),
    // Two identical decoupled blocks: every eigenvalue twice.
    tridiagonalCase([1, 3, 2, 1, 3, 2], [0.7, 0.2, 0, 0.7, 0.2]),
    // A cluster: nearly equal diagonal, tiny couplings.
    tridiagonalCase([1, 1 + 1e-6, 1 + 2e-6, 1 + 3e-6, 0.5], [1e-7, 1e-7, 1e-7, 1e-7]),
  ];
  for (const { n, dense, alpha, beta } of cases) {
    const count = Math.min(n, 4);
    const oracle = denseTop(dense, n);
    const { values, vectors } = tridiagonalTop(alpha, beta, n, count);
    // Bisection started from a leading submatrix's values (interlacing bounds) finds the same.
    const m = Math.max(1, n - 3);
    const bounded = tridiagonalTop(alpha, beta, n, count, tridiagonalTop(alpha, beta, m, Math.min(count, m)).values);
    for (let i = 0; i < count; i++) assert.ok(Math.abs(bounded.values[i] - values[i]) <= 1e-9 * Math.max(1e-300, Math.abs(values[0])), `n ${n}: bounded value ${i}`);
    const norm = Math.max(...oracle.values.map(Math.abs));
    for (let i = 0; i < count; i++) {
      assert.ok(Math.abs(values[i] - oracle.values[i]) <= 1e-9 * norm, `n ${n}: value ${i} ${values[i]} vs ${oracle.values[i]}`);
      // Residual ‖T·v − θ·v‖ and unit length; orthogonal to the vectors before it.
      let residual = 0;
      for (let row = 0; row < n; row++) {
        let tv = 0;
        for (let c = 0; c < n; c++) tv += dense[row * n + c] * vectors[i * n + c];
        residual += (tv - values[i] * vectors[i * n + row]) ** 2;
      }
      assert.ok(Math.sqrt(residual) <= 1e-8 * norm, `n ${n}: residual of pair ${i} is ${Math.sqrt(residual)}`);
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let c = 0; c < n; c++) dot += vectors[i * n + c] * vectors[j * n + c];
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-8, `n ${n}: vectors ${i}, ${j} have dot ${dot}`);
      }
      // A simple eigenvalue's vector is the oracle's, up to sign.
      const gap = Math.min(i > 0 ? oracle.values[i - 1] - oracle.values[i] : Infinity, i + 1 < n ? oracle.values[i] - oracle.values[i + 1] : Infinity);
      if (gap > 1e-3 * norm) {
        const v = oracle.vector(i);
        let dot = 0;
        for (let c = 0; c < n; c++) dot += v[c] * vectors[i * n + c];
        assert.ok(Math.abs(Math.abs(dot) - 1) <= 1e-8, `n ${n}: vector ${i} is off the oracle's by |dot| = ${Math.abs(dot)}`);
      }
    }
  }
});

Tridiagonal.run();
