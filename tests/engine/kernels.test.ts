// Every WebAssembly kernel against its TypeScript twin, bit for bit, at sizes that cover the scalar
// tails and several SIMD iterations; the transcendental helpers against the host's f64 Math.
import { engine } from "../../engine/backend.ts";
import { expf32, logf32 } from "../../engine/kernels-ref.ts";
import type { Kernels } from "../../engine/kernels-ref.ts";
import { assert, assertSameBits, engineInfo, inputs, suite } from "../harness.ts";

const SIZES = [1, 3, 4, 5, 17, 64, 65];
const KernelsSuite = suite("kernels: wasm vs ts twin");

/** Writes `values` into fresh heap memory and returns the address. */
function put(values: Float32Array | Int32Array): number {
  const heap = engine().heap;
  const { ptr } = heap.alloc(values.length * 4);
  if (values instanceof Int32Array) heap.i32().set(values, ptr >>> 2);
  else heap.f32().set(values, ptr >>> 2);
  return ptr;
}

/** Runs `call` with each kernel set on a fresh output of n floats; returns [wasm, ts] outputs. */
function both(n: number, call: (k: Kernels, outPtr: number) => void): [Float32Array, Float32Array] {
  const b = engine();
  const results = [b.wasm!, b.ref].map((k) => {
    const out = put(new Float32Array(n).fill(NaN));
    call(k, out);
    return b.heap.f32().slice(out >>> 2, (out >>> 2) + n);
  });
  return [results[0], results[1]];
}

function compare(what: string, n: number, call: (k: Kernels, outPtr: number) => void): void {
  const heap = engine().heap;
  const m = heap.mark();
  const [wasm, ts] = both(n, call);
  assertSameBits(wasm, ts, what);
  heap.release(m);
}

KernelsSuite("SIMD kernels are loaded", () => {
  assert.ok(engineInfo.simd, "this runtime should support WebAssembly SIMD");
  assert.ok(engine().wasm, "wasm kernels instantiated");
});

for (const name of ["add_f32", "sub_f32", "mul_f32", "div_f32"] as const) {
  KernelsSuite(name, () => {
    for (const n of SIZES) {
      const r = inputs(n);
      const a = put(r.uniform(n, -3, 3)), b = put(r.uniform(n, 0.25, 2));
      compare(`${name} n=${n}`, n, (k, out) => k[name](out, a, b, n));
      compare(`${name} in place n=${n}`, n, (k, out) => {
        engine().heap.f32().copyWithin(out >>> 2, a >>> 2, (a >>> 2) + n);
        k[name](out, out, b, n);
      });
    }
  });
}

for (const name of ["neg_f32", "relu_f32", "exp_f32", "log_f32"] as const) {
  KernelsSuite(name, () => {
    for (const n of SIZES) {
      const r = inputs(100 + n);
      const x = r.uniform(n, name === "log_f32" ? 0 : -5, 5);
      if (n > 2) x[1] = 0;
      if (n > 3) x[2] = -0;
      compare(`${name} n=${n}`, n, (k, out) => k[name](out, put(x), n));
    }
  });
}

KernelsSuite("exp_f32 and log_f32 edge values", () => {
  const x = new Float32Array([
    0, -0, 1, -1, 88.7, 88.8, -103.9, -104, -87.3, 1e-30, 1e-45, 3.4e38, Infinity, -Infinity, NaN, -2, 0.5, 1e-8, -1e-8, 20,
  ]);
  compare("exp edges", x.length, (k, out) => k.exp_f32(out, put(x), x.length));
  compare("log edges", x.length, (k, out) => k.log_f32(out, put(x), x.length));
});

KernelsSuite("scale_f32, relu_jvp_f32", () => {
  for (const n of SIZES) {
    const r = inputs(200 + n);
    const x = r.uniform(n, -2, 2);
    if (n > 1) x[0] = 0;
    const xp = put(x), dx = put(r.uniform(n));
    compare(`scale n=${n}`, n, (k, out) => k.scale_f32(out, xp, -1.37, n));
    compare(`relu_jvp n=${n}`, n, (k, out) => k.relu_jvp_f32(out, xp, dx, n));
  }
});

KernelsSuite("sum_axis_f32, max_axis_f32, max_jvp_f32", () => {
  const shapes = [[1, 1, 1], [3, 5, 1], [2, 17, 1], [1, 65, 1], [4, 3, 4], [2, 5, 17], [3, 64, 65], [5, 4, 3], [1, 1, 65]];
  for (const [outer, len, inner] of shapes) {
    const r = inputs(outer * 1000 + len * 10 + inner);
    const x = r.uniform(outer * len * inner, -4, 4);
    x[0] = x[inner * Math.min(1, len - 1)]; // a tie along the axis
    const xp = put(x), dx = put(r.uniform(x.length));
    const n = outer * inner;
    const what = `[${outer}, ${len}, ${inner}]`;
    compare(`sum ${what}`, n, (k, out) => k.sum_axis_f32(out, xp, outer, len, inner));
    compare(`max ${what}`, n, (k, out) => k.max_axis_f32(out, xp, outer, len, inner));
    const mx = put(new Float32Array(n));
    engine().ref.max_axis_f32(mx, xp, outer, len, inner);
    compare(`max_jvp ${what}`, n, (k, out) => k.max_jvp_f32(out, xp, mx, dx, outer, len, inner));
  }
});

KernelsSuite("gemm_f32: every transposition, odd and square shapes", () => {
  const heap = engine().heap;
  assert.is(engine().wasm!.gemm_scratch_f32(), engine().ref.gemm_scratch_f32(), "scratch size agrees");
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  const shapes: number[][] = SIZES.map((s) => [s, s, s]);
  shapes.push([5, 17, 3], [17, 4, 65], [65, 3, 17], [1, 64, 9], [9, 1, 64], [64, 65, 5], [3, 7, 8], [4, 9, 12], [70, 300, 530], [3, 0, 5]);
  for (const [m, kk, n] of shapes) {
    const r = inputs(m * 7 + kk * 13 + n);
    const a = put(r.uniform(m * kk)), b = put(r.uniform(kk * n));
    for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      const mark = heap.mark();
      compare(`gemm ${m}x${kk}x${n} transA=${ta} transB=${tb}`, m * n, (k, out) => k.gemm_f32(out, a, b, 0, pack, 1, m, kk, n, 0, 0, ta, tb, 1, 0));
      heap.release(mark);
    }
  }
});

KernelsSuite("gemm_f32: batches, shared operands and the epilogue", () => {
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  for (const [batch, m, kk, n] of [[1, 5, 4, 3], [3, 17, 5, 9], [4, 64, 65, 17], [2, 1, 3, 1]]) {
    const r = inputs(batch + m + kk + n);
    const a = put(r.uniform(batch * m * kk)), b = put(r.uniform(batch * kk * n)), bias = put(r.uniform(n));
    for (const [aStride, bStride] of [[m * kk, kk * n], [0, kk * n], [m * kk, 0]]) {
      for (const [alpha, useBias, relu] of [[1, 0, 0], [0.5, 1, 0], [-2, 1, 1], [1, 0, 1]]) {
        compare(`gemm batch=${batch} ${m}x${kk}x${n} strides ${aStride},${bStride} alpha=${alpha} bias=${useBias} relu=${relu}`, batch * m * n,
          (k, out) => k.gemm_f32(out, a, b, useBias ? bias : 0, pack, batch, m, kk, n, aStride, bStride, 0, 1 - Number(aStride === 0), alpha, relu));
      }
    }
  }
});

KernelsSuite("gemv_f32, plain and transposed", () => {
  for (const [m, n] of [[1, 1], [3, 5], [4, 4], [17, 64], [65, 3], [64, 65], [5, 17]]) {
    const r = inputs(m * 31 + n);
    const a = put(r.uniform(m * n)), x = put(r.uniform(Math.max(m, n)));
    compare(`gemv ${m}x${n}`, m, (k, out) => k.gemv_f32(out, a, x, m, n, 0));
    compare(`gemvᵀ ${m}x${n}`, n, (k, out) => k.gemv_f32(out, a, x, m, n, 1));
  }
});

KernelsSuite("gemm_f32 against an f64 product", () => {
  const heap = engine().heap;
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  const [m, kk, n] = [33, 300, 21];
  const r = inputs(5);
  const av = r.uniform(m * kk), bv = r.uniform(kk * n);
  const out = put(new Float32Array(m * n));
  engine().wasm!.gemm_f32(out, put(av), put(bv), 0, pack, 1, m, kk, n, 0, 0, 0, 0, 1, 0);
  const got = heap.f32().slice(out >>> 2, (out >>> 2) + m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < kk; p++) s += av[i * kk + p] * bv[p * n + j];
      assert.ok(Math.abs(got[i * n + j] - s) < 1e-4, `element ${i},${j}: ${got[i * n + j]} vs ${s}`);
    }
  }
});

KernelsSuite("transpose_f32, repeat_axis_f32, gather_rows_f32", () => {
  for (const [batch, rows, cols] of [[1, 1, 1], [1, 3, 5], [2, 17, 4], [3, 64, 65], [1, 65, 17]]) {
    const x = put(inputs(rows + cols).uniform(batch * rows * cols));
    compare(`transpose ${batch}x${rows}x${cols}`, batch * rows * cols, (k, out) => k.transpose_f32(out, x, batch, rows, cols));
  }
  for (const [outer, times, inner] of [[1, 1, 1], [3, 4, 5], [2, 17, 1], [5, 3, 17], [1, 64, 65]]) {
    const x = put(inputs(outer + inner).uniform(outer * inner));
    compare(`repeat ${outer}x${times}x${inner}`, outer * times * inner, (k, out) => k.repeat_axis_f32(out, x, outer, times, inner));
  }
  for (const rowLen of SIZES) {
    const r = inputs(rowLen);
    const x = put(r.uniform(9 * rowLen));
    const idx = put(r.int(13, 9));
    compare(`gather rowLen=${rowLen}`, 13 * rowLen, (k, out) => k.gather_rows_f32(out, x, idx, 13, rowLen));
  }
});

KernelsSuite("softmax_xent_f32 and its tangent", () => {
  for (const [rows, cols] of [[1, 1], [3, 4], [5, 17], [17, 10], [64, 65]]) {
    const r = inputs(rows * cols);
    const z = r.uniform(rows * cols, -20, 20);
    const zp = put(z), labels = put(r.int(rows, cols)), dz = put(r.uniform(rows * cols));
    compare(`xent ${rows}x${cols}`, rows, (k, out) => k.softmax_xent_f32(out, zp, labels, rows, cols));
    compare(`xent_jvp ${rows}x${cols}`, rows, (k, out) => k.softmax_xent_jvp_f32(out, zp, labels, dz, rows, cols));
  }
});

KernelsSuite("philox kernels", () => {
  for (const n of [...SIZES, 1000]) {
    for (const [k0, k1, c0, c1] of [[0, 0, 0, 0], [123, 0xffffffff, 0xfffffffe, 7]]) {
      compare(`uniform n=${n}`, n, (k, out) => k.philox_uniform_f32(out, n, k0, k1, c0, c1));
      compare(`normal n=${n}`, n, (k, out) => k.philox_normal_f32(out, n, k0, k1, c0, c1));
    }
  }
  compare("block", 4, (k, out) => k.philox_block_u32(out, 0xa4093822, 0x299f31d0, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344));
});

KernelsSuite("expf32 and logf32 are accurate to about an ulp", () => {
  const r = inputs(7);
  let worstExp = 0, worstLog = 0;
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround(-87 + 175 * r.next());
    const e = Math.exp(x);
    worstExp = Math.max(worstExp, Math.abs(expf32(x) - e) / e);
    const y = Math.fround(2 ** (-120 + 240 * r.next()));
    const l = Math.log(y);
    worstLog = Math.max(worstLog, Math.abs(logf32(y) - l) / Math.max(Math.abs(l), 1e-30));
  }
  assert.ok(worstExp < 2.5e-7, `exp relative error ${worstExp}`);
  assert.ok(worstLog < 2.5e-7, `log relative error ${worstLog}`);
  assert.is(logf32(1), 0);
  assert.is(expf32(0), 1);
  assert.is(logf32(1e-45), Math.fround(Math.log(1.401298464324817e-45)));
});

KernelsSuite.run();
