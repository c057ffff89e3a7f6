// Every WebAssembly kernel against its TypeScript twin, bit for bit, at sizes that cover the scalar
// tails and several SIMD iterations, on one thread and split over 2, 3 and 4 threads (every call
// that can be split is, however small); the transcendental helpers against the host's f64 Math.
// The comparisons record which kernels they ran, and the last test fails for a declared kernel none ran.
import { engine } from "../../engine/backend.ts";
import { KERNELS, type Kernels } from "../../engine/kernel-abi.ts";
import { threadedKernels } from "../../engine/parallel.ts";
import { simdPeakGflops } from "../../engine/probe.ts";
import { ThreadPool } from "../../engine/threads.ts";
import { expf32, logf32 } from "../../engine/kernels-ref/math.ts";
import { assert, assertSameBits, engineInfo, inputs, suite } from "../harness.ts";

const SIZES = [1, 3, 4, 5, 17, 64, 65];
const KernelsSuite = suite("kernels: wasm vs ts twin");

// Three workers of the tests' own serve 2, 3 and 4 threads, where this runtime can run threads
// (in a browser: a cross-origin isolated worker, as scripts/browser-run.mjs serves the suite). They
// start in the first test: a top-level await here would let uvu start running suites early.
const THREAD_COUNTS = [2, 3, 4];
let testPool: ThreadPool | null = null;
const threaded: Array<[string, Kernels]> = [];

/** Writes `values` into fresh heap memory and returns the address. */
function put(values: Float32Array | Int32Array): number {
  const heap = engine().heap;
  const { ptr } = heap.alloc(values.length * 4);
  if (values instanceof Int32Array) heap.i32().set(values, ptr >>> 2);
  else heap.f32().set(values, ptr >>> 2);
  return ptr;
}

/** The kernels some comparison has run. */
const compared = new Set<string>();

/** `k`, recording the name of every kernel taken from it. */
function recording(k: Kernels): Kernels {
  return new Proxy(k, {
    get(target, name) {
      compared.add(String(name));
      return target[name as keyof Kernels];
    },
  });
}

/**
 * Runs `call` with each kernel set on fresh NaN-filled outputs of the given lengths (one, or several
 * for kernels with several outputs), and asserts the outputs and the return values agree bit for bit.
 */
function compare(what: string, lengths: number | number[], call: (k: Kernels, ...outPtrs: number[]) => number | void): void {
  const b = engine();
  const sizes = typeof lengths === "number" ? [lengths] : lengths;
  const m = b.heap.mark();
  const [ts, ...others] = [b.ref, b.wasm!, ...threaded.map(([, k]) => k)].map((k) => {
    const outs = sizes.map((n) => put(new Float32Array(n).fill(NaN)));
    const result = call(recording(k), ...outs);
    return { result, outputs: outs.map((ptr, i) => b.heap.f32().slice(ptr >>> 2, (ptr >>> 2) + sizes[i])) };
  });
  others.forEach((run, r) => {
    const label = r === 0 ? what : `${what} (${threaded[r - 1][0]})`;
    assert.is(run.result, ts.result, `${label}: result`);
    run.outputs.forEach((out, i) => assertSameBits(out, ts.outputs[i], sizes.length > 1 ? `${label} output ${i}` : label));
  });
  b.heap.release(m);
}

/** Fresh f64 scratch of `count` values (8-byte aligned: allocations are 16-aligned). */
function scratch(count: number): number {
  return engine().heap.alloc(Math.max(count, 1) * 8).ptr;
}

KernelsSuite("SIMD kernels are loaded; workers for 2, 3 and 4 threads start", async () => {
  assert.ok(engineInfo.simd, "this runtime should support WebAssembly SIMD");
  const b = engine();
  assert.ok(b.wasm, "wasm kernels instantiated");
  assert.is(b.unavailable, null, "threads should run in every runtime the suite runs in");
  testPool = await ThreadPool.start(b.host!, THREAD_COUNTS.length, b.memory);
  for (const t of THREAD_COUNTS) threaded.push([`${t} threads`, threadedKernels(b.wasm!, testPool, b.heap, t, 1)]);
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
  compare("gemm scratch size", [], (k) => k.gemm_scratch_f32());
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  const shapes: number[][] = SIZES.map((s) => [s, s, s]);
  shapes.push([5, 17, 3], [17, 4, 65], [65, 3, 17], [1, 64, 9], [9, 1, 64], [64, 65, 5], [3, 7, 8], [4, 9, 12], [70, 300, 530], [3, 0, 5]);
  for (const [m, kk, n] of shapes) {
    const r = inputs(m * 7 + kk * 13 + n);
    const a = put(r.uniform(m * kk)), b = put(r.uniform(kk * n));
    for (const [ta, tb] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      const mark = heap.mark();
      compare(`gemm ${m}x${kk}x${n} transA=${ta} transB=${tb}`, m * n, (k, out) => k.gemm_f32(out, a, b, pack, 1, m, kk, n, 0, 0, ta, tb, 0, m));
      heap.release(mark);
    }
  }
});

KernelsSuite("gemm_f32: batches and shared operands", () => {
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  for (const [batch, m, kk, n] of [[1, 5, 4, 3], [3, 17, 5, 9], [4, 64, 65, 17], [2, 1, 3, 1]]) {
    const r = inputs(batch + m + kk + n);
    const a = put(r.uniform(batch * m * kk)), b = put(r.uniform(batch * kk * n));
    for (const [aStride, bStride] of [[m * kk, kk * n], [0, kk * n], [m * kk, 0]]) {
      for (const transB of [0, 1]) {
        compare(`gemm batch=${batch} ${m}x${kk}x${n} strides ${aStride},${bStride} transB=${transB}`, batch * m * n,
          (k, out) => k.gemm_f32(out, a, b, pack, batch, m, kk, n, aStride, bStride, 0, transB, 0, m));
      }
    }
  }
});

KernelsSuite("gemm_drawn_f32: against its twin, and against gemm_f32 over the same draws stored", () => {
  const heap = engine().heap;
  compare("gemm_drawn scratch size", [], (k) => k.gemm_drawn_scratch_f32());
  const pack = put(new Float32Array(engine().ref.gemm_drawn_scratch_f32()));
  const shapes: number[][] = SIZES.map((s) => [1, s, s, s]);
  shapes.push([1, 5, 17, 3], [2, 17, 4, 65], [3, 65, 3, 17], [1, 9, 1, 64], [1, 64, 300, 530], [2, 3, 0, 5], [1, 4, 257, 9]);
  for (const [batch, m, kk, n] of shapes) {
    const r = inputs(batch + m * 7 + kk * 13 + n);
    const a = put(r.uniform(m * kk));
    for (const [dist, draw] of [[0, "philox_normal_f32"], [1, "philox_sign_f32"]] as const) {
      for (const transA of [0, 1]) {
        const mark = heap.mark();
        const keys = [0x1234567, 89, 0xfffffff0, 2] as const;
        const label = `gemm_drawn batch=${batch} ${m}x${kk}x${n} dist=${dist} transA=${transA}`;
        compare(label, batch * m * n, (k, out) => k.gemm_drawn_f32(out, a, pack, batch, m, kk, n, 0, transA, dist, ...keys, 0, n));
        // The same product with V drawn into memory first: the fused kernel changes no bit.
        const v = put(new Float32Array(batch * n * kk));
        engine().wasm![draw](v, batch * n * kk, ...keys);
        const plain = put(new Float32Array(batch * m * n)), fused = put(new Float32Array(batch * m * n));
        const gemmPack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
        engine().wasm!.gemm_f32(plain, a, v, gemmPack, batch, m, kk, n, 0, n * kk, transA, 1, 0, m);
        engine().wasm!.gemm_drawn_f32(fused, a, pack, batch, m, kk, n, 0, transA, dist, ...keys, 0, n);
        const f = heap.f32();
        assertSameBits(f.slice(fused >>> 2, (fused >>> 2) + batch * m * n), f.slice(plain >>> 2, (plain >>> 2) + batch * m * n), `${label}: fused vs stored`);
        heap.release(mark);
      }
    }
  }
});

KernelsSuite("drawn_combination_f32: against its twin, and against gemm_f32 then scale_f32 over the draws stored", () => {
  const heap = engine().heap;
  compare("drawn_combination scratch size", [], (k) => k.drawn_combination_scratch_f32());
  const work = put(new Float32Array(engine().ref.drawn_combination_scratch_f32()));
  for (const count of [1, 3]) {
    for (const size of [...SIZES, 1031, 2500]) {
      for (const [dist, draw] of [[0, "philox_normal_f32"], [1, "philox_sign_f32"]] as const) {
        const mark = heap.mark();
        const keys = [77, 0xabcdef01, 0xfffffffa, 0] as const;
        const coef = put(inputs(count + size).uniform(count, -2, 2));
        const label = `combination count=${count} size=${size} dist=${dist}`;
        compare(label, size, (k, out) => k.drawn_combination_f32(out, work, coef, count, size, 0, size, 1 / 3, dist, ...keys));
        const v = put(new Float32Array(count * size));
        engine().wasm![draw](v, count * size, ...keys);
        const product = put(new Float32Array(size)), stored = put(new Float32Array(size)), fused = put(new Float32Array(size));
        engine().wasm!.gemm_f32(product, coef, v, put(new Float32Array(engine().ref.gemm_scratch_f32())), 1, 1, count, size, 0, 0, 0, 0, 0, 1);
        engine().wasm!.scale_f32(stored, product, 1 / 3, size);
        engine().wasm!.drawn_combination_f32(fused, work, coef, count, size, 0, size, 1 / 3, dist, ...keys);
        const f = heap.f32();
        assertSameBits(f.slice(fused >>> 2, (fused >>> 2) + size), f.slice(stored >>> 2, (stored >>> 2) + size), `${label}: fused vs stored`);
        heap.release(mark);
      }
    }
  }
});

KernelsSuite("simd_peak_f32: the probe's chains, against its twin", () => {
  compare("simd_peak_flops_f32", [], (k) => k.simd_peak_flops_f32());
  for (const iterations of [0, 1, 3, 17, 1000]) compare(`simd_peak iterations=${iterations}`, 12, (k, out) => k.simd_peak_f32(out, iterations));
  const peak = simdPeakGflops(1000, 1);
  assert.ok(Number.isFinite(peak) && peak > 0, `simdPeakGflops: ${peak}`);
});

KernelsSuite("gemv_f32, plain and transposed", () => {
  for (const [m, n] of [[1, 1], [3, 5], [4, 4], [17, 64], [65, 3], [64, 65], [5, 17]]) {
    const r = inputs(m * 31 + n);
    const a = put(r.uniform(m * n)), x = put(r.uniform(Math.max(m, n)));
    compare(`gemv ${m}x${n}`, m, (k, out) => k.gemv_f32(out, a, x, m, n, 0));
    compare(`gemvᵀ ${m}x${n}`, n, (k, out) => k.gemv_f32(out, a, x, m, n, 1));
  }
});

KernelsSuite("rowdots_f32: every example's rows against another set, odd lengths and counts", () => {
  for (const [batch, m, n, kk] of [[1, 1, 1, 1], [1, 3, 5, 4], [2, 4, 4, 17], [3, 5, 7, 64], [2, 12, 12, 65], [1, 17, 3, 5], [4, 1, 9, 3], [2, 6, 0, 8], [1, 2, 2, 0]]) {
    const r = inputs(batch * 97 + m * 31 + n * 7 + kk);
    const a = put(r.uniform(Math.max(1, batch * m * kk))), c = put(r.uniform(Math.max(1, batch * n * kk)));
    compare(`rowdots ${batch}x${m}x${n}x${kk}`, batch * m * n, (k, out) => k.rowdots_f32(out, a, c, batch, m, n, kk));
  }
});

KernelsSuite("masked_products_f32: rows times the Gram on each example's active units, odd widths, row counts and masks", () => {
  for (const d of SIZES) {
    for (const c of [1, 3, 4, 5, 12, 13, 16, 17, 20, 28]) {
      const batch = 3;
      const r = inputs(d * 131 + c);
      const g = r.uniform(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) g[j * d + i] = g[i * d + j];
      // Example 0 about half active, example 1 all active, example 2 none.
      const coin = r.uniform(d);
      const mask = new Float32Array(batch * d);
      for (let j = 0; j < d; j++) mask[j] = coin[j] > 0 ? 1 : 0;
      mask.fill(1, d, 2 * d);
      const [x, gram, m] = [put(r.uniform(batch * c * d)), put(g), put(mask)];
      compare(`masked products scratch d=${d} c=${c}`, [], (k) => k.masked_products_scratch(d, c));
      const work = scratch(engine().ref.masked_products_scratch(d, c));
      compare(`masked products d=${d} c=${c}`, batch * c * d, (k, out) => k.masked_products_f32(out, x, gram, m, work, batch, d, c));
    }
  }
});

KernelsSuite("gemm_f32 against an f64 product", () => {
  const heap = engine().heap;
  const pack = put(new Float32Array(engine().ref.gemm_scratch_f32()));
  const [m, kk, n] = [33, 300, 21];
  const r = inputs(5);
  const av = r.uniform(m * kk), bv = r.uniform(kk * n);
  const out = put(new Float32Array(m * n));
  engine().wasm!.gemm_f32(out, put(av), put(bv), pack, 1, m, kk, n, 0, 0, 0, 0, 0, m);
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

KernelsSuite("im2col_f32, col2im_f32 (convolution lowering)", () => {
  // [batch, channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW]:
  // 1-D signals (height 1) of the sizes the suite uses, the MNIST-1D CNN's layers, and odd 2-D shapes.
  const cases: number[][] = [
    ...SIZES.map((len) => [3, 2, 1, len, 1, 1, 1, 1, 0, 0, 1, 1]),
    ...SIZES.map((len) => [2, 1, 1, len + 4, 1, 5, 1, 2, 0, 1, 1, 1]),
    [5, 1, 1, 40, 1, 5, 1, 2, 0, 1, 1, 1], [5, 25, 1, 19, 1, 3, 1, 2, 0, 1, 1, 1], [4, 25, 1, 10, 1, 3, 1, 2, 0, 1, 1, 1],
    [3, 3, 7, 6, 3, 2, 2, 1, 1, 2, 1, 2], [2, 4, 17, 5, 3, 3, 1, 1, 1, 1, 1, 1], [1, 1, 65, 3, 4, 1, 3, 1, 2, 0, 2, 1],
    [2, 5, 9, 9, 5, 5, 2, 2, 2, 2, 1, 1], [3, 2, 4, 4, 4, 4, 1, 1, 0, 0, 1, 1],
  ];
  for (const [batch, channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw] of cases) {
    const oh = Math.floor((height + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, ow = Math.floor((width + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    const geometry = [batch, channels, height, width, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw] as const;
    const label = `${batch}x${channels}x${height}x${width} * ${kh}x${kw} s${sh}x${sw} p${ph}x${pw} d${dh}x${dw}`;
    const patches = batch * oh * ow * channels * kh * kw;
    const x = put(inputs(height * width + channels).uniform(batch * channels * height * width));
    const cols = put(inputs(patches).uniform(patches));
    compare(`im2col ${label}`, patches, (k, out) => k.im2col_f32(out, x, ...geometry));
    compare(`col2im ${label}`, batch * channels * height * width, (k, out) => k.col2im_f32(out, cols, ...geometry));
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
      compare(`sign n=${n}`, n, (k, out) => k.philox_sign_f32(out, n, k0, k1, c0, c1));
    }
  }
  // Past 512 signs (four blocks a call) and across a 2^32 block-counter wrap mid-call.
  for (const n of [129, 513, 1031]) compare(`sign n=${n} wrapping`, n, (k, out) => k.philox_sign_f32(out, n, 9, 8, 0xfffffffe, 3));
  compare("block", 4, (k, out) => k.philox_block_u32(out, 0xa4093822, 0x299f31d0, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344));
});

/** A symmetric n×n matrix per batch entry, (x + xᵀ)/2 rounded to f32. */
function symmetric(r: ReturnType<typeof inputs>, batch: number, n: number): Float32Array {
  const x = r.uniform(batch * n * n, -2, 2);
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[b * n * n + i * n + j] = (x[b * n * n + i * n + j] + x[b * n * n + j * n + i]) / 2;
  }
  return out;
}

KernelsSuite("svd_f32 and svd_scratch_f64, thin and full", () => {
  const mark = engine().heap.mark();
  const shapes = [[1, 1, 1], [3, 1, 1], [4, 3, 2], [5, 5, 1], [17, 4, 1], [17, 17, 1], [64, 5, 2], [65, 17, 1], [65, 64, 1]];
  for (const [m, n, batch] of shapes) {
    const r = inputs(m * 100 + n);
    const a = r.uniform(batch * m * n, -3, 3);
    if (n > 2) for (let i = 0; i < m; i++) a[i * n + 1] = a[i * n]; // two equal columns: rank deficient
    const ap = put(a);
    for (const full of [0, 1]) {
      const nu = full ? m : n;
      compare(`svd scratch ${m}x${n} full=${full}`, [], (k) => k.svd_scratch_f64(m, n, full));
      const work = scratch(engine().ref.svd_scratch_f64(m, n, full));
      compare(`svd ${batch}x${m}x${n} full=${full}`, [batch * m * nu, batch * n, batch * n * n], (k, u, sv, v) => k.svd_f32(u, sv, v, ap, work, batch, m, n, full, 75));
    }
  }
  const zeros = put(new Float32Array(12 * 5));
  const work = scratch(engine().ref.svd_scratch_f64(12, 5, 0));
  compare("svd of zeros", [12 * 5, 5, 25], (k, u, sv, v) => k.svd_f32(u, sv, v, zeros, work, 1, 12, 5, 0, 75));
  const hard = put(inputs(9).uniform(30 * 20));
  const hardWork = scratch(engine().ref.svd_scratch_f64(30, 20, 0));
  compare("svd out of sweeps", [30 * 20, 20, 400], (k, u, sv, v) => k.svd_f32(u, sv, v, hard, hardWork, 1, 30, 20, 0, 1));
  engine().heap.release(mark);
});

KernelsSuite("eigh_f32 and eigh_scratch_f64", () => {
  const mark = engine().heap.mark();
  for (const [n, batch] of [...SIZES.map((n) => [n, 1]), [5, 3], [17, 2]]) {
    const ap = put(symmetric(inputs(n * 10 + batch), batch, n));
    compare(`eigh scratch n=${n}`, [], (k) => k.eigh_scratch_f64(n));
    const work = scratch(engine().ref.eigh_scratch_f64(n));
    compare(`eigh ${batch}x${n}x${n}`, [batch * n, batch * n * n], (k, values, vectors) => k.eigh_f32(values, vectors, ap, work, batch, n, 75));
  }
  const identity = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) identity[i * 17] = 1;
  const ip = put(identity);
  const work = scratch(engine().ref.eigh_scratch_f64(16));
  compare("eigh of the identity", [16, 256], (k, values, vectors) => k.eigh_f32(values, vectors, ip, work, 1, 16, 75));
  const hard = put(symmetric(inputs(3), 1, 40));
  const hardWork = scratch(engine().ref.eigh_scratch_f64(40));
  compare("eigh out of iterations", [40, 1600], (k, values, vectors) => k.eigh_f32(values, vectors, hard, hardWork, 1, 40, 1));
  engine().heap.release(mark);
});

KernelsSuite("qr_f32 and qr_scratch_f64, tall, square and wide", () => {
  const mark = engine().heap.mark();
  for (const [m, n, batch] of [[1, 1, 1], [3, 5, 1], [5, 3, 2], [4, 4, 1], [17, 5, 1], [64, 65, 1], [65, 17, 2], [65, 64, 1]]) {
    const kk = Math.min(m, n);
    const a = inputs(m * 7 + n).uniform(batch * m * n, -2, 2);
    if (n > 1) for (let i = 0; i < m; i++) a[i * n + n - 1] = 0; // a zero column
    const ap = put(a);
    compare(`qr scratch ${m}x${n}`, [], (k) => k.qr_scratch_f64(m, n));
    const work = scratch(engine().ref.qr_scratch_f64(m, n));
    compare(`qr ${batch}x${m}x${n}`, [batch * m * kk, batch * kk * n], (k, q, rr) => k.qr_f32(q, rr, ap, work, batch, m, n));
  }
  engine().heap.release(mark);
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

KernelsSuite("both kernel sets have exactly the declared kernels, with the declared arities", () => {
  for (const [set, k] of [["wasm", engine().wasm!], ["ts", engine().ref]] as const) {
    const fns = k as unknown as Record<string, (...args: number[]) => unknown>;
    assert.equal(Object.keys(fns).filter((name) => typeof fns[name] === "function").sort(), KERNELS.map((d) => d.name).sort(), `${set} kernel names`);
    for (const { name, params } of KERNELS) assert.is(fns[name].length, params.length, `${set} ${name} arity`);
  }
});

// Keep this test last: it reads what the comparisons above recorded.
KernelsSuite("every declared kernel is compared with its twin", () => {
  const missing = KERNELS.filter((k) => !compared.has(k.name)).map((k) => `${k.name} (kernels-as/${k.file}.ts)`);
  assert.equal(missing, [], `kernels with no wasm-vs-twin comparison: ${missing.join(", ")}`);
});

KernelsSuite("the comparisons ran split over 2, 3 and 4 threads; the workers stop", () => {
  assert.ok(testPool);
  assert.is(testPool!.size, 3);
  testPool!.close();
  assert.is(testPool!.size, 0);
});

KernelsSuite.run();
