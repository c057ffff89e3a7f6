// The real-MNIST conversion (data/mnist.ts) on small made-up digits, in every runtime: the split's
// counts (largest remainder), the classes interleaved, every image kept once, bytes scaled to [0, 1],
// and one FwdgradError naming the fault for bad input. tests/cli/baydin.test.ts runs it on the
// package's real digits.
import { mnistDataset } from "../../data/mnist.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Mnist = suite("mnist conversion");

/** Class c's images: `counts[c]` images of `pixels` values, image i's pixels all (c·100 + i) / 1000. */
const made = (counts: number[], pixels: number) => counts.map((n, c) => Float64Array.from({ length: n * pixels }, (_, k) => (c * 100 + Math.floor(k / pixels)) / 1000));

Mnist("the split apportions trainRows over the classes by largest remainder and interleaves them", () => {
  const counts = [5, 3, 4];
  const data = mnistDataset(made(counts, 2), { pixels: 2, trainRows: 9 });
  assert.equal([data.train.n, data.test.n, data.features, data.classes], [9, 3, 2, 3]);
  // Quotas 3.75, 2.25, 3: floors 3, 2, 3 (8), the one left goes to class 0 (remainder .75).
  assert.equal([...data.train.y], [0, 1, 2, 0, 1, 2, 0, 2, 0]);
  assert.equal([...data.test.y], [0, 1, 2]);
  // Each class's first images train, the rest test, in order.
  assert.equal([...data.train.x.subarray(0, 2)], [Math.fround(0), Math.fround(0)]);
  assert.is(data.test.x[0], Math.fround(0.004), "class 0's fifth image tests");
  assert.is(data.test.x[2], Math.fround(0.102), "class 1's third image tests");
  assert.is(data.test.x[4], Math.fround(0.203), "class 2's fourth image tests");
});

Mnist("by default 80 % train; pixel bytes are scaled to [0, 1]", () => {
  const bytes = [Uint8Array.from({ length: 10 * 4 }, (_, k) => (k * 37) % 256), Uint8Array.from({ length: 10 * 4 }, () => 255)];
  const data = mnistDataset(bytes, { pixels: 4 });
  assert.equal([data.train.n, data.test.n], [16, 4]);
  for (const v of [...data.train.x, ...data.test.x]) assert.ok(v >= 0 && v <= 1, `pixel ${v}`);
  assert.is(data.train.x[4], 1, "class 1's byte 255 is 1");
});

Mnist("bad input is one FwdgradError naming the fault", () => {
  assertFwdgradError(() => mnistDataset([new Float64Array(4)], { pixels: 4 }), /^mnist: expected one array of images per class \(at least 2 classes\), got 1$/);
  assertFwdgradError(() => mnistDataset([new Float64Array(4), new Float64Array(3)], { pixels: 4 }), /^mnist: class 1 has 3 values, not a whole, non-zero number of 4-pixel images$/);
  assertFwdgradError(() => mnistDataset([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, NaN, 0, 0, 0, 0, 0]], { pixels: 4 }), /^mnist: class 1, image 1, pixel 3 is NaN, not a number in \[0, 255\]$/);
  assertFwdgradError(() => mnistDataset([[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 300, 0, 0]], { pixels: 4 }), /^mnist: class 1, image 2, pixel 2 is 300/);
  assertFwdgradError(() => mnistDataset(made([4, 4], 2), { pixels: 2, trainRows: 8 }), /^mnist: trainRows must be an integer in \[1, 7\] \(8 images in all\), got 8$/);
  assertFwdgradError(() => mnistDataset(made([1, 9], 2), { pixels: 2 }), /^mnist: 8 training rows of 10 leave class 0 \(1 images\) with no (training|test) image$/);
});

Mnist.run();
