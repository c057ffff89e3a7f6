// Property-based fuzzing of the real-MNIST conversion (Node only, fast-check): arbitrary class
// arrays, image sizes and training counts, valid or not. The conversion either returns a split that
// keeps every image exactly once, each with its class, scaled into [0, 1], or throws a one-line
// FwdgradError starting "mnist: "; any other exception is a bug.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FwdgradError } from "../../engine/errors.ts";
import { mnistDataset } from "../../data/mnist.ts";

const Fuzz = suite("fuzz: mnist conversion");
const RUNS = 4000;

/** A class's images as arrays of pixel values: mostly in [0, 1] or bytes, sometimes anything. */
const pixelValue = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 1, arbitrary: fc.oneof(fc.double(), fc.constantFrom(-1, 256, NaN, Infinity)) },
);

/** Arbitrary arrays (mostly refused), or whole images of valid pixels (mostly converted), per class. */
const input = fc.integer({ min: 1, max: 5 }).chain((pixels) =>
  fc.record({
    pixels: fc.oneof({ weight: 9, arbitrary: fc.constant(pixels) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 6 }) }),
    digits: fc.oneof(
      fc.array(fc.array(pixelValue, { maxLength: 6 * pixels }), { maxLength: 5 }),
      fc.array(fc.array(fc.array(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: pixels, maxLength: pixels }), { minLength: 2, maxLength: 6 }).map((images) => images.flat()), { minLength: 2, maxLength: 5 }),
    ),
    trainRows: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 30 }) }),
  }));

Fuzz("mnistDataset: a consistent split or a clean FwdgradError", () => {
  const started = performance.now();
  let converted = 0;
  fc.assert(fc.property(input, ({ pixels, digits, trainRows }) => {
    let data: ReturnType<typeof mnistDataset>;
    try {
      data = mnistDataset(digits, { pixels, trainRows });
    } catch (error) {
      if (!(error instanceof FwdgradError)) throw new Error(`not a FwdgradError: ${String(error)}`);
      assert.match(error.message, /^mnist: /);
      assert.not.match(error.message, /[\r\n]/);
      return;
    }
    converted++;
    const total = digits.reduce((s, d) => s + d.length / pixels, 0);
    assert.is(data.train.n + data.test.n, total, "every image once");
    if (trainRows !== undefined) assert.is(data.train.n, trainRows);
    assert.is(data.classes, digits.length);
    const scale = digits.some((d) => d.some((v) => v > 1)) ? 1 / 255 : 1;
    // Each class's images, in order: its first ones in train, the rest in test.
    const seen = digits.map(() => 0);
    const rows: Array<[number, Float32Array]> = [];
    for (const split of [data.train, data.test]) for (let r = 0; r < split.n; r++) rows.push([split.y[r], split.x.subarray(r * pixels, (r + 1) * pixels)]);
    for (const [c, x] of rows.sort((a, b) => a[0] - b[0])) {
      const image = seen[c]++;
      for (let p = 0; p < pixels; p++) {
        assert.is(x[p], Math.fround(digits[c][image * pixels + p] * scale), `class ${c}, image ${image}, pixel ${p}`);
        assert.ok(x[p] >= 0 && x[p] <= 1);
      }
    }
    digits.forEach((d, c) => assert.is(seen[c], d.length / pixels, `class ${c}'s images`));
  }), { numRuns: RUNS });
  assert.ok(converted > RUNS / 10, `only ${converted} of ${RUNS} cases converted`);
  console.log(`  mnistDataset: ${RUNS} cases (${converted} converted) in ${((performance.now() - started) / 1000).toFixed(2)} s`);
});

Fuzz.run();
