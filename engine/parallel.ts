// The kernels split across threads. Each split gives every thread a disjoint part of the output
// (elementwise by ranges, gemm by batches or by row panels of C, a drawn gemm by columns, batched decompositions by
// examples), and each output element is computed by the same instructions in the same order as in
// a one-thread call, so the bits do not depend on the thread count. A call too small to repay a
// worker's wake-up, or a kernel without a split, runs on the calling thread.
import type { Heap } from "./heap.ts";
import { KERNELS, type KernelName, type Kernels } from "./kernel-abi.ts";
import type { ThreadPool } from "./threads.ts";

/** One part's arguments, and the bytes of private scratch it needs at argument `scratchArg`. */
interface Plan {
  parts: number[][];
  scratchArg?: number;
  scratchBytes?: number;
  combine?: (results: number[]) => number;
}

type Splitter = (args: readonly number[], threads: number, k: Kernels, minPartWork: number) => Plan | null;

/** Least work (roughly, multiply-adds) worth a part: waking a worker costs some microseconds. */
export const MIN_PART_WORK = 1 << 16;
// gemm row panels are split at multiples of its register tile's height (kernels-as/shared.ts MR).
const GEMM_ROW_ALIGN = 4;

/** How many parts `work` is worth, at most `threads` and at most `items`. */
function partCount(work: number, items: number, threads: number, minPartWork: number): number {
  return Math.max(1, Math.min(threads, items, Math.floor(work / minPartWork)));
}

/** [from, to) ranges covering 0 .. total in `parts` near-equal pieces, boundaries at multiples of `align`. */
export function splitRange(total: number, parts: number, align = 1): Array<[number, number]> {
  const units = Math.ceil(total / align);
  const ranges: Array<[number, number]> = [];
  for (let p = 0; p < parts; p++) {
    const from = Math.min(total, Math.floor((units * p) / parts) * align);
    const to = Math.min(total, Math.floor((units * (p + 1)) / parts) * align);
    if (to > from) ranges.push([from, to]);
  }
  return ranges;
}

/**
 * Splits along a leading count argument: part [from, to) advances each pointer argument by
 * from × its stride (bytes per item) and sets the count to to − from.
 */
function alongCount(args: readonly number[], countArg: number, strides: ReadonlyArray<[number, number]>, parts: number, align = 1): number[][] {
  return splitRange(args[countArg], parts, align).map(([from, to]) => {
    const part = args.slice();
    for (const [arg, stride] of strides) part[arg] += from * stride;
    part[countArg] = to - from;
    return part;
  });
}

/** Splits the range argument [args[fromArg], args[toArg]) into `parts` ranges with boundaries at multiples of `align`. */
function alongRange(args: readonly number[], fromArg: number, toArg: number, parts: number, align: number): number[][] {
  const from = args[fromArg];
  return splitRange(args[toArg] - from, parts, align).map(([a, b]) => {
    const part = args.slice();
    part[fromArg] = from + a;
    part[toArg] = from + b;
    return part;
  });
}

function elementwise(pointers: readonly number[], countArg: number): Splitter {
  const strides = pointers.map((arg): [number, number] => [arg, 4]);
  return (args, threads, _k, minPartWork) => {
    const n = args[countArg];
    const parts = partCount(n, n, threads, minPartWork);
    return parts < 2 ? null : { parts: alongCount(args, countArg, strides, parts, 4) };
  };
}

/** Over the `outer` argument, with each pointer's stride a function of the arguments. */
function outer(countArg: number, strides: (args: readonly number[]) => Array<[number, number]>, workPerItem: (args: readonly number[]) => number): Splitter {
  return (args, threads, _k, minPartWork) => {
    const parts = partCount(args[countArg] * workPerItem(args), args[countArg], threads, minPartWork);
    return parts < 2 ? null : { parts: alongCount(args, countArg, strides(args), parts) };
  };
}

/** The worst iteration count of a batched decomposition's parts, or −1 if any part failed. */
function worstStatus(results: number[]): number {
  return results.some((r) => r < 0) ? -1 : Math.max(...results);
}

// (out, x, outer, len, inner): each outer index reduces len × inner values to inner.
const axisReduction = outer(2, ([, , , len, inner]) => [[0, inner * 4], [1, len * inner * 4]], ([, , , len, inner]) => len * inner);

const SPLITTERS: Partial<Record<KernelName, Splitter>> = {
  add_f32: elementwise([0, 1, 2], 3),
  sub_f32: elementwise([0, 1, 2], 3),
  mul_f32: elementwise([0, 1, 2], 3),
  div_f32: elementwise([0, 1, 2], 3),
  scale_f32: elementwise([0, 1], 3),
  neg_f32: elementwise([0, 1], 2),
  relu_f32: elementwise([0, 1], 2),
  relu_jvp_f32: elementwise([0, 1, 2], 3),
  exp_f32: elementwise([0, 1], 2),
  log_f32: elementwise([0, 1], 2),
  sum_axis_f32: axisReduction,
  max_axis_f32: axisReduction,
  // (out, x, max, dx, outer, len, inner)
  max_jvp_f32: outer(4, ([, , , , , len, inner]) => [[0, inner * 4], [1, len * inner * 4], [2, inner * 4], [3, len * inner * 4]], ([, , , , , len, inner]) => len * inner),
  // (out, x, batch, rows, cols)
  transpose_f32: outer(2, ([, , , rows, cols]) => [[0, rows * cols * 4], [1, rows * cols * 4]], ([, , , rows, cols]) => rows * cols),
  // (out, x, outer, times, inner)
  repeat_axis_f32: outer(2, ([, , , times, inner]) => [[0, times * inner * 4], [1, inner * 4]], ([, , , times, inner]) => times * inner),
  // (out, x, index, count, rowLen)
  gather_rows_f32: outer(3, ([, , , , rowLen]) => [[0, rowLen * 4], [2, 4]], ([, , , , rowLen]) => rowLen),
  // (out, x, batch, channels, height, width, kernelH, kernelW, outH, outW, ...) and (out, cols, ...
  // the same): by examples, whose patch rows and images are disjoint.
  im2col_f32: outer(2, convStrides(true), convWork),
  col2im_f32: outer(2, convStrides(false), convWork),
  // (loss, z, labels, rows, cols) and (out, z, labels, dz, rows, cols): a row's exp costs ~16 multiply-adds per column.
  softmax_xent_f32: outer(3, ([, , , , cols]) => [[0, 4], [1, cols * 4], [2, 4]], ([, , , , cols]) => 16 * cols),
  softmax_xent_jvp_f32: outer(4, ([, , , , , cols]) => [[0, 4], [1, cols * 4], [2, 4], [3, cols * 4]], ([, , , , , cols]) => 16 * cols),

  // (out, a, b, pack, batch, m, k, n, aStride, bStride, transA, transB, rowFrom, rowTo): by batches
  // when they share out evenly, else by row panels of every C; each part packs into its own scratch.
  gemm_f32(args, threads, k, minPartWork) {
    const [, , , , batch, m, depth, n, aStride, bStride, , , rowFrom, rowTo] = args;
    const rows = rowTo - rowFrom;
    const work = batch * rows * Math.max(depth, 1) * n;
    const scratch = { scratchArg: 3, scratchBytes: k.gemm_scratch_f32() * 4 };
    if (batch >= 4 * threads || (batch >= threads && batch % threads === 0)) {
      const parts = partCount(work, batch, threads, minPartWork);
      if (parts < 2) return null;
      return { parts: alongCount(args, 4, [[0, m * n * 4], [1, aStride * 4], [2, bStride * 4]], parts), ...scratch };
    }
    const parts = partCount(work, Math.ceil(rows / GEMM_ROW_ALIGN), threads, minPartWork);
    if (parts < 2) return null;
    return { parts: alongRange(args, 12, 13, parts, GEMM_ROW_ALIGN), ...scratch };
  },
  // (out, a, c, batch, m, n, k): by batches, or by rows of a single batch.
  rowdots_f32(args, threads, _k, minPartWork) {
    const [, , , batch, m, n, depth] = args;
    const work = batch * m * n * depth;
    if (batch >= threads) {
      const parts = partCount(work, batch, threads, minPartWork);
      return parts < 2 ? null : { parts: alongCount(args, 3, [[0, m * n * 4], [1, m * depth * 4], [2, n * depth * 4]], parts) };
    }
    if (batch !== 1) return null;
    const parts = partCount(work, m, threads, minPartWork);
    return parts < 2 ? null : { parts: alongCount(args, 4, [[0, n * 4], [1, depth * 4]], parts) };
  },
  // (out, x, gram, mask, work, batch, d, c): by examples, each part with its own scratch.
  masked_products_f32(args, threads, k, minPartWork) {
    const [, , , , , batch, d, c] = args;
    const parts = partCount(batch * d * d * c, batch, threads, minPartWork);
    if (parts < 2) return null;
    return { parts: alongCount(args, 5, [[0, c * d * 4], [1, c * d * 4], [3, d * 4]], parts), scratchArg: 4, scratchBytes: k.masked_products_scratch(d, c) * 4 };
  },
  // (out, n, k0, k1, c0, c1): Philox blocks of 4 values; a part starting at value i starts at
  // block i / 4, that is at the 64-bit counter (c1, c0) + i / 4.
  philox_uniform_f32: philoxSplit(4),
  philox_normal_f32: philoxSplit(4),
  philox_sign_f32: philoxSplit(128),
  // (out, work, coef, count, size, from, to, scale, dist, k0, k1, c0, c1): by ranges of [from, to).
  drawn_combination_f32(args, threads, k, minPartWork) {
    const [, , , count, , from, to] = args;
    const parts = partCount(16 * count * (to - from), Math.ceil((to - from) / 4), threads, minPartWork);
    if (parts < 2) return null;
    return { parts: alongRange(args, 5, 6, parts, 4), scratchArg: 1, scratchBytes: k.drawn_combination_scratch_f32() * 4 };
  },
  // (out, a, pack, batch, m, k, n, aStride, transA, dist, k0, k1, c0, c1, colFrom, colTo): by columns
  // of every product, so that each thread draws only its own rows of V.
  gemm_drawn_f32(args, threads, k, minPartWork) {
    const [, , , batch, m, depth, , , , , , , , , colFrom, colTo] = args;
    const cols = colTo - colFrom;
    const parts = partCount(batch * m * Math.max(depth, 1) * cols + 16 * batch * depth * cols, Math.ceil(cols / 8), threads, minPartWork);
    if (parts < 2) return null;
    return { parts: alongRange(args, 14, 15, parts, 8), scratchArg: 2, scratchBytes: k.gemm_drawn_scratch_f32() * 4 };
  },

  // (u, s, v, a, work, batch, m, n, full, maxIter)
  svd_f32(args, threads, k, minPartWork) {
    const [, , , , , batch, m, n, full] = args;
    const nu = full ? m : n;
    const parts = partCount(batch * m * n * n * 4, batch, threads, minPartWork);
    if (parts < 2) return null;
    return {
      parts: alongCount(args, 5, [[0, m * nu * 4], [1, n * 4], [2, n * n * 4], [3, m * n * 4]], parts),
      scratchArg: 4,
      scratchBytes: k.svd_scratch_f64(m, n, full) * 8,
      combine: worstStatus,
    };
  },
  // (values, vectors, a, work, batch, n, maxIter)
  eigh_f32(args, threads, k, minPartWork) {
    const [, , , , batch, n] = args;
    const parts = partCount(batch * n * n * n * 4, batch, threads, minPartWork);
    if (parts < 2) return null;
    return {
      parts: alongCount(args, 4, [[0, n * 4], [1, n * n * 4], [2, n * n * 4]], parts),
      scratchArg: 3,
      scratchBytes: k.eigh_scratch_f64(n) * 8,
      combine: worstStatus,
    };
  },
  // (q, r, a, work, batch, m, n)
  qr_f32(args, threads, k, minPartWork) {
    const [, , , , batch, m, n] = args;
    const kk = Math.min(m, n);
    const parts = partCount(batch * m * n * kk * 2, batch, threads, minPartWork);
    if (parts < 2) return null;
    return { parts: alongCount(args, 4, [[0, m * kk * 4], [1, kk * n * 4], [2, m * n * 4]], parts), scratchArg: 3, scratchBytes: k.qr_scratch_f64(m, n) * 8 };
  },
};

/** Bytes per example of an im2col (out: patch rows, x: the image) or a col2im (out: the image, cols: patch rows). */
function convStrides(patchesOut: boolean): (args: readonly number[]) => Array<[number, number]> {
  return ([, , , channels, height, width, kernelH, kernelW, outH, outW]) => {
    const patches = outH * outW * channels * kernelH * kernelW * 4, image = channels * height * width * 4;
    return patchesOut ? [[0, patches], [1, image]] : [[0, image], [1, patches]];
  };
}
function convWork([, , , channels, , , kernelH, kernelW, outH, outW]: readonly number[]): number {
  return outH * outW * channels * kernelH * kernelW;
}

/**
 * (out, n, k0, k1, c0, c1), `perBlock` values to a Philox block: a part starting at value i (a
 * multiple of perBlock) starts at block i / perBlock, that is at the 64-bit counter (c1, c0) + i / perBlock.
 */
function philoxSplit(perBlock: number): Splitter {
  return (args, threads, _k, minPartWork) => {
    const [, n, , , c0, c1] = args;
    // A Box–Muller pair costs a log, a sqrt and a sine: ~16 multiply-adds per value.
    const parts = partCount(16 * n, Math.ceil(n / perBlock), threads, minPartWork);
    if (parts < 2) return null;
    return {
      parts: splitRange(n, parts, perBlock).map(([from, to]) => {
        const low = c0 + from / perBlock;
        return [args[0] + from * 4, to - from, args[2], args[3], low >>> 0, (c1 + (low >= 2 ** 32 ? 1 : 0)) >>> 0];
      }),
    };
  };
}

/**
 * The wasm kernels with every splittable kernel spread over `threads` threads: the calling one and
 * workers of `pool`. Scratch for the extra parts comes from `heap` for the duration of the call.
 * `minPartWork` 1 splits every call that can be split (the tests' setting).
 */
export function threadedKernels(wasm: Kernels, pool: ThreadPool, heap: Heap, threads = pool.size + 1, minPartWork = MIN_PART_WORK): Kernels {
  const kernels: Record<string, unknown> = {};
  KERNELS.forEach(({ name, result }, index) => {
    const direct = wasm[name] as (...args: number[]) => number | void;
    const split = SPLITTERS[name];
    if (!split || threads < 2) {
      kernels[name] = direct;
      return;
    }
    kernels[name] = (...args: number[]) => {
      const plan = split(args, threads, wasm, minPartWork);
      if (!plan) return direct(...args);
      const run = () => {
        const results = pool.run(index, plan.parts, (part) => direct(...part));
        if (result === "void") return undefined;
        return plan.combine ? plan.combine(results) : results[0];
      };
      if (plan.scratchArg === undefined) return run();
      // Part 0 uses the caller's scratch; the others get theirs for the duration of the call.
      const start = heap.mark();
      try {
        for (let p = 1; p < plan.parts.length; p++) plan.parts[p][plan.scratchArg] = heap.alloc(plan.scratchBytes!).ptr;
        return run();
      } finally {
        heap.release(start);
      }
    };
  });
  return kernels as Kernels;
}
