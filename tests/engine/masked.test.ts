// The engine's building blocks for masked eigenproblems (engine/linalg/masked.ts): the masked Gram
// products against the gemm they replace, row dots against float64 sums, and the Lanczos bases:
// orthonormal, zero off their units, and giving VᵀGV = T (the tridiagonal of their α and β).
import { matmul, mul, reshape, rng, tensor, tidy, mark, release } from "../../index.ts";
import { LanczosBases, maskedProducts, rowDots } from "../../engine/linalg/masked.ts";
import { assert, assertSameBits, suite } from "../harness.ts";

const Masked = suite("masked");

Masked("masked Gram products: for rows that vanish off their masks, the bits of the gemm x·G masked (G = WᵀW)", () => {
  for (const [batch, rows, d] of [[1, 1, 1], [3, 12, 17], [2, 5, 64], [4, 13, 65], [2, 3, 5]]) {
    const m = mark();
    const r = rng(batch * 1000 + rows * 10 + d);
    const w = r.normal([d + 3, d]);
    const gram = matmul(w, w, { transA: true });
    // Example 0 with every unit active, the last with none, the others about half.
    const maskValues = r.uniform([batch, d]).toArray().map((u, i) => (i < d ? 1 : i >= (batch - 1) * d && batch > 1 ? 0 : u < 0.5 ? 1 : 0));
    const masks = tensor(Float32Array.from(maskValues), [batch, d]);
    const x = mul(r.normal([batch, rows, d]), reshape(masks, [batch, 1, d]));
    const viaGemm = mul(reshape(matmul(reshape(x, [batch * rows, d]), gram), [batch, rows, d]), reshape(masks, [batch, 1, d]));
    // The gemm's masked-out entries are ±0 (a negative sum times 0); the kernel writes +0.
    assertSameBits(maskedProducts(x, gram, masks).toArray(), viaGemm.toArray().map((v) => (v === 0 ? 0 : v)), `batch ${batch}, ${rows} rows, width ${d}`);
    release(m);
  }
});

Masked("row dots: a·cᵀ per example, as float64 sums of the f32 inputs", () => {
  for (const [batch, m, n, k] of [[1, 1, 1, 1], [3, 5, 7, 17], [2, 12, 12, 64], [4, 3, 14, 65]]) {
    const scope = mark();
    const r = rng(batch * 100 + k);
    const a = r.normal([batch, m, k]), c = r.normal([batch, n, k]);
    const got = rowDots(a, c).toArray(), av = a.toArray(), cv = c.toArray();
    for (let b = 0; b < batch; b++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0, size = 0;
      for (let t = 0; t < k; t++) {
        s += av[(b * m + i) * k + t] * cv[(b * n + j) * k + t];
        size += Math.abs(av[(b * m + i) * k + t] * cv[(b * n + j) * k + t]);
      }
      assert.ok(Math.abs(got[(b * m + i) * n + j] - s) <= 1e-6 * size, `[${batch}, ${m}, ${n}, ${k}] entry ${b}, ${i}, ${j}`);
    }
    release(scope);
  }
});

Masked("Lanczos bases: run to the whole space on each example's units, orthonormal, zero off them, VᵀGV = T; a restart is orthogonal to the basis", () => {
  const d = 12;
  const w = rng(5).normal([20, d]);
  const gram = matmul(w, w, { transA: true });
  const g = gram.toArray();
  const units = [Int32Array.from({ length: d }, (_, i) => i), Int32Array.from([0, 2, 3, 5, 8, 9, 11]), Int32Array.from([1, 4, 10])];
  const steps = units.map((u) => u.length);
  tidy(() => {
    const bases = new LanczosBases(d, units, steps, [0, 1, 2]);
    units.forEach((u, b) => bases.set(b, 0, new Float64Array(u.length).fill(1 / Math.sqrt(u.length))));
    const alpha = units.map((u) => new Float64Array(u.length)), beta = units.map((u) => new Float64Array(u.length));
    const live = [0, 1, 2];
    for (let j = 0; j < d; j++) {
      const examples = live.filter((b) => j < steps[b]);
      const rows = bases.rows(examples, j).toArray();
      examples.forEach((b, r) => {
        for (let u = 0; u < d; u++) if (!units[b].includes(u)) assert.is(rows[r * d + u], 0, `example ${b}, v_${j} off its units`);
      });
      const images = matmul(tensor(rows, [examples.length, d]), gram).toArray();
      examples.forEach((b, r) => {
        const { alpha: a, length } = bases.extend(b, j, images, r * d, j > 0 ? beta[b][j - 1] : 0);
        alpha[b][j] = a;
        if (j + 1 < steps[b]) {
          beta[b][j] = length;
          bases.normalize(b, j + 1, length);
        }
      });
    }
    units.forEach((u, b) => {
      const n = u.length;
      const identity = new Float64Array(n * n);
      for (let i = 0; i < n; i++) identity[i * n + i] = 1;
      const v = new Float32Array(n * d);
      bases.ritz(b, n, identity, n, v, 0);
      let top = 0;
      for (const x of g) top = Math.max(top, Math.abs(x));
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let dot = 0, vgv = 0;
        for (let p = 0; p < d; p++) {
          dot += v[i * d + p] * v[j * d + p];
          for (let q = 0; q < d; q++) vgv += v[i * d + p] * g[p * d + q] * v[j * d + q];
        }
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) <= 1e-5, `example ${b}: v_${i}·v_${j} = ${dot}`);
        const t = i === j ? alpha[b][i] : Math.abs(i - j) === 1 ? beta[b][Math.min(i, j)] : 0;
        assert.ok(Math.abs(vgv - t) <= 1e-4 * top, `example ${b}: (VᵀGV)[${i}, ${j}] = ${vgv}, T has ${t}`);
      }
    });
    // A fresh direction for v_3 of example 1 (7 units): orthogonal to v_0 … v_2, unit length once normalised.
    bases.restart(1, 2, Float32Array.from([1, 2, 3, 4, 5, 6, 7]));
    bases.normalize(1, 3, 0);
    const identity = new Float64Array(16);
    for (let i = 0; i < 4; i++) identity[i * 4 + i] = 1;
    const v = new Float32Array(4 * d);
    bases.ritz(1, 4, identity, 4, v, 0);
    for (let i = 0; i < 4; i++) {
      let dot = 0;
      for (let p = 0; p < d; p++) dot += v[3 * d + p] * v[i * d + p];
      assert.ok(Math.abs(dot - (i === 3 ? 1 : 0)) <= 1e-5, `restarted v_3·v_${i} = ${dot}`);
    }
  });
});

Masked.run();
