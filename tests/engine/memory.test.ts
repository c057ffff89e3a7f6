// The heap: arena scopes return to their baseline, repeated work does not grow memory, released
// tensors cannot be read, tidy keeps only what it returns, and views survive memory growth.
import { engine } from "../../engine/backend.ts";
import {
  add, heapBytes, jvp, mark, matmul, mean, relu, release, rng, softmaxCrossEntropy, tensor, tidy, type Tensor,
} from "../../index.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Memory = suite("memory");

const w = () => rng(1).normal([40, 64]);
const step = (x: Tensor, weights: Tensor, dw: Tensor) =>
  jvp((v) => mean(softmaxCrossEntropy(relu(matmul(x, v)), [1, 2, 3, 4, 5, 6, 7, 8])), [weights], [dw]);

Memory("a released scope returns the heap to its baseline", () => {
  const x = rng(2).uniform([8, 40]);
  const weights = w();
  const dw = rng(3).normal([4, 40, 64]);
  const baseline = heapBytes();
  const m = mark();
  const [loss, dloss] = step(x, weights, dw);
  assert.equal(loss.shape, []);
  assert.equal(dloss.shape, [4]);
  assert.ok(heapBytes() > baseline);
  release(m);
  assert.is(heapBytes(), baseline);
});

Memory("1000 repeated steps neither grow the heap nor the memory", () => {
  const x = rng(2).uniform([8, 40]);
  const weights = w();
  const dw = rng(3).normal([2, 40, 64]);
  const baseline = heapBytes();
  let first = 0;
  let memoryAfterFirst = 0;
  for (let i = 0; i < 1000; i++) {
    const m = mark();
    const [loss] = step(x, weights, dw);
    if (i === 0) first = loss.toArray()[0];
    else if (i === 999) assert.is(loss.toArray()[0], first, "same result every time");
    release(m);
    assert.is(heapBytes(), baseline);
    if (i === 0) memoryAfterFirst = engine().memory.buffer.byteLength;
  }
  assert.is(engine().memory.buffer.byteLength, memoryAfterFirst, "the memory did not grow after the first step");
});

Memory("using a tensor after its scope was released throws", () => {
  const m = mark();
  const t = tensor([1, 2, 3]);
  release(m);
  tensor([9, 9, 9]);
  assertFwdgradError(() => t.toArray(), /released/);
  assertFwdgradError(() => add(t, t), /add: tensor \[3\] was freed/);
  const outer = mark();
  tensor([1]);
  const inner = mark();
  release(outer);
  assertFwdgradError(() => release(inner));
});

Memory("tidy keeps what it returns (with tangents and views) and frees the rest", () => {
  const a = tensor([1, 2, 3, 4], [2, 2]);
  const baseline = heapBytes();
  const { sum2, pair } = tidy(() => {
    const big = rng(4).normal([256, 256]);
    const s = add(a, a);
    return { sum2: s, pair: [matmul(a, a), big.toArray().length] };
  });
  assert.is(heapBytes(), baseline + 2 * 16);
  assert.equal([...sum2.toArray()], [2, 4, 6, 8]);
  assert.equal([...(pair[0] as Tensor).toArray()], [7, 10, 15, 22]);
  const [y, dy] = tidy(() => jvp((v) => add(v, v), [a], [a]));
  assert.equal([...y.toArray()], [2, 4, 6, 8]);
  assert.equal([...dy.toArray()], [2, 4, 6, 8]);
});

Memory("tensors stay readable after the memory grows", () => {
  const small = tensor([1.5, -2.5, 3.5]);
  const before = engine().memory.buffer.byteLength;
  const m = mark();
  const big = rng(5).uniform([8 * 1024 * 1024]);
  assert.ok(engine().memory.buffer.byteLength > before, "memory grew");
  assert.equal([...small.toArray()], [1.5, -2.5, 3.5]);
  assert.is(big.toArray().length, 8 * 1024 * 1024);
  release(m);
});

Memory.run();
