// Every public function rejects bad input with a FwdgradError that names the operation and the
// shapes or values at fault, before doing any work (the heap does not move).
import {
  add, broadcast, conv1d, conv1dTranspose, conv2d, conv2dTranspose, div, exp, gatherRows, heapBytes, log, matmul, max, mean, mul, neg, relu, reshape, scale, softmaxCrossEntropy, sub, sum,
  tensor, transpose, useKernels, zeros, type Tensor,
} from "../../index.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Errors = suite("errors");

const notATensor = [1, 2] as unknown as Tensor;
// Inputs are made up front, so that `rejects` can check the failing call itself allocates nothing.
const [z3, z6, z0, zScalar] = [zeros([3]), zeros([6]), zeros([0]), zeros([])];
const [z2x2, z2x3, z3x3, z2x5, z4x5, z3x2, z2x0, z0x3] = [[2, 2], [2, 3], [3, 3], [2, 5], [4, 5], [3, 2], [2, 0], [0, 3]].map((s) => zeros(s));
const z2x3x4 = zeros([2, 3, 4]);

/** The error is thrown and nothing was allocated first. */
function rejects(fn: () => unknown, pattern: RegExp): void {
  const before = heapBytes();
  assertFwdgradError(fn, pattern);
  assert.is(heapBytes(), before, `no allocation before the error ${pattern}`);
}

Errors("tensor and zeros: bad data and shapes", () => {
  rejects(() => tensor([1, 2, 3], [2, 2]), /tensor: shape \[2, 2\] holds 4 values but data has 3/);
  rejects(() => tensor([1, 2], [2, -1]), /tensor: shape \[2, -1\] has -1/);
  rejects(() => tensor([1, 2], [2, 1.5]), /tensor: shape \[2, 1.5\]/);
  rejects(() => tensor([1, 2], [2, NaN]), /tensor: shape \[2, NaN\]/);
  rejects(() => tensor([1, 2], [Infinity]), /tensor: shape \[Infinity\]/);
  rejects(() => tensor("ab" as never), /tensor: data must be a Float32Array or an array of numbers/);
  rejects(() => tensor([1, "x" as never]), /tensor: data\[1\] is string/);
  rejects(() => zeros([3, -2]), /zeros: shape \[3, -2\]/);
});

Errors("conv1d, conv2d and their transposes: ranks, channels, options, kernels that do not fit", () => {
  const x1 = zeros([2, 3, 10]), w1 = zeros([4, 3, 5]), x2 = zeros([2, 3, 8, 8]), w2 = zeros([4, 3, 3, 3]);
  const [w1c2, w1k11, w1k0, w2c2, y2, y1] = [[4, 2, 5], [4, 3, 11], [4, 3, 0], [4, 2, 3, 3], [2, 4, 5, 6], [2, 4, 7]].map((s) => zeros(s));
  rejects(() => conv1d(x2, w1), /conv1d: expects x \[B, C_in, L\] and w \[C_out, C_in, K\], got \[2, 3, 8, 8\] and \[4, 3, 5\]/);
  rejects(() => conv1d(x1, w1c2), /conv1d: x has 3 channels, w takes 2/);
  rejects(() => conv1d(x1, w1, { stride: 0 }), /conv1d: stride must be an integer ≥ 1 or 1 of them, got 0/);
  rejects(() => conv1d(x1, w1, { padding: -1 }), /conv1d: padding must be an integer ≥ 0/);
  rejects(() => conv1d(x1, w1, { dilation: 1.5 }), /conv1d: dilation must be an integer ≥ 1/);
  rejects(() => conv1d(x1, w1k11), /conv1d: a kernel of 11 \(dilation 1\) does not fit an input of length 10 with padding 0/);
  rejects(() => conv1d(x1, w1k0), /conv1d: the weight \[4, 3, 0\] has an empty axis/);
  rejects(() => conv2d(x2, w2, { stride: [1, 2, 3] }), /conv2d: stride must be an integer ≥ 1 or 2 of them, got \[1,2,3\]/);
  rejects(() => conv2d(x2, w2, { dilation: [1, 5] }), /conv2d: a kernel of 3×3 \(dilation 1×5\) does not fit an input of 8×8/);
  rejects(() => conv2d(x2, w2c2), /conv2d: x has 3 channels, w takes 2/);
  rejects(() => conv2d(notATensor, w2), /conv2d: expected a Tensor/);
  rejects(() => conv2dTranspose(y2, w2, [8, 8]), /conv2dTranspose: y \[2, 4, 5, 6\] is not conv2d's output of an input \[·, 3, 8, 8\] by w \[4, 3, 3, 3\] \(expected \[·, 4, 6, 6\]\)/);
  rejects(() => conv1dTranspose(y1, w1, 10), /conv1dTranspose: y \[2, 4, 7\] is not conv1d's output of an input \[·, 3, 10\]/);
});

Errors("elementwise ops: shapes that do not broadcast, non-tensors", () => {
  const a = zeros([2, 3]), b = zeros([4]);
  rejects(() => add(a, b), /add: shapes \[2, 3\] and \[4\] do not broadcast/);
  rejects(() => sub(a, z3x3), /sub: shapes \[2, 3\] and \[3, 3\] do not broadcast/);
  rejects(() => mul(a, z2x2), /mul: shapes \[2, 3\] and \[2, 2\]/);
  rejects(() => div(b, a), /div: shapes \[4\] and \[2, 3\]/);
  rejects(() => add(notATensor, a), /add: expected a Tensor, got an array/);
  rejects(() => neg(notATensor), /neg: expected a Tensor/);
  rejects(() => exp(undefined as never), /exp: expected a Tensor, got undefined/);
  rejects(() => log(null as never), /log: expected a Tensor, got null/);
  rejects(() => relu(3 as never), /relu: expected a Tensor, got number/);
  rejects(() => scale(a, NaN), /scale: factor must be a finite number, got NaN/);
});

Errors("matmul, transpose, reshape, broadcast: ranks and sizes", () => {
  rejects(() => matmul(z2x3, z4x5), /matmul: inner sizes differ for a·b with a \[2, 3\] and b \[4, 5\] \(3 vs 4\)/);
  rejects(() => matmul(z2x3, z2x5, { transB: true }), /matmul: inner sizes differ for a·bᵀ/);
  rejects(() => matmul(z2x3x4, z3), /matmul: expects matrices or stacks of matrices \(rank 2 or 3\), got \[2, 3, 4\] and \[3\]/);
  rejects(() => transpose(z3), /transpose: needs rank ≥ 2, got shape \[3\]/);
  rejects(() => reshape(z2x3, [4, 2]), /reshape: \[2, 3\] has 6 values, \[4, 2\] holds 8/);
  rejects(() => reshape(z2x3, [-1, -1]), /reshape: cannot reshape \[2, 3\] to \[-1, -1\]/);
  rejects(() => reshape(z2x3, [4, -1]), /reshape: cannot reshape \[2, 3\] to \[4, -1\]/);
  rejects(() => broadcast(z2x3, [3]), /broadcast: cannot broadcast \[2, 3\] to the lower-rank shape \[3\]/);
  rejects(() => broadcast(z2x3, [4, 3]), /broadcast: cannot broadcast \[2, 3\] to \[4, 3\] \(axis 0: 2 vs 4\)/);
});

Errors("reductions: axes and empty inputs", () => {
  const x = zeros([2, 3]);
  rejects(() => sum(x, 2), /sum: axis 2 is out of range for shape \[2, 3\]/);
  rejects(() => sum(x, -3), /sum: axis -3 is out of range/);
  rejects(() => mean(x, 0.5), /mean: axis 0.5 is out of range/);
  rejects(() => max(z2x0, 1), /max: axis 1 of \[2, 0\] is empty/);
  rejects(() => max(z0), /max: the tensor is empty/);
  rejects(() => mean(z0x3, 0), /mean: nothing to average over in \[0, 3\]/);
});

Errors("gatherRows and softmaxCrossEntropy: indices and labels", () => {
  rejects(() => gatherRows(z3x2, [0, 3]), /gatherRows: index 1 is 3; expected an integer in \[0, 3\)/);
  rejects(() => gatherRows(z3x2, [-1]), /gatherRows: index 0 is -1/);
  rejects(() => gatherRows(zScalar, [0]), /gatherRows: needs rank ≥ 1/);
  rejects(() => softmaxCrossEntropy(z2x3, [0]), /softmaxCrossEntropy: 1 labels for logits \[2, 3\]/);
  rejects(() => softmaxCrossEntropy(z2x3, [0, 3]), /softmaxCrossEntropy: index 1 is 3; expected an integer in \[0, 3\)/);
  rejects(() => softmaxCrossEntropy(z6, [0]), /softmaxCrossEntropy: logits must be \[rows, classes\]/);
  rejects(() => softmaxCrossEntropy(z2x3, [0, 1.5]), /index 1 is 1.5/);
});

Errors("useKernels accepts only the known kernel sets", () => {
  assertFwdgradError(() => useKernels("gpu" as never), /useKernels: expected "wasm" or "ts", got gpu/);
});

Errors.run();
