// The heap: arena scopes return to their baseline, repeated work does not grow memory, released
// tensors cannot be read, tidy keeps only what it returns, and views survive memory growth.
import { engine } from "../../engine/backend.ts";
import { Heap, type Mark } from "../../engine/heap.ts";
import {
  add, heapBytes, heapPeakBytes, jvp, mark, matmul, mean, relu, release, resetHeapPeak, rng, softmaxCrossEntropy, tensor, tidy, type Tensor,
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

Memory("the heap's peak keeps the most bytes in use at once, until it is reset", () => {
  const baseline = heapBytes();
  resetHeapPeak();
  assert.is(heapPeakBytes(), baseline);
  const m = mark();
  tensor(new Float32Array(1000));
  const inner = mark();
  tensor(new Float32Array(3000));
  const top = heapBytes();
  release(inner);
  tensor(new Float32Array(10));
  assert.is(heapPeakBytes(), top, "the peak is where the inner scope reached");
  assert.ok(top - baseline >= 4 * 4000);
  release(m);
  assert.is(heapBytes(), baseline);
  assert.is(heapPeakBytes(), top, "releasing keeps the peak");
  resetHeapPeak();
  assert.is(heapPeakBytes(), baseline);
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

Memory("release refuses anything but a live mark of this heap, and changes nothing when it does", () => {
  const kept = tensor([4, 5, 6]);
  const baseline = heapBytes();
  const forged = [
    null, undefined, 0, 65536, "mark", [], {}, { top: 0, serial: 0 }, { ...mark() }, Object.create(mark()), new Heap(1).mark(),
  ];
  for (const m of forged) {
    assertFwdgradError(() => release(m as unknown as Mark), /^release: expected a mark returned by mark\(\), got /);
    assert.is(heapBytes(), baseline);
  }
  assertFwdgradError(() => release(null as unknown as Mark), /got null$/);
  assertFwdgradError(() => release(65536 as unknown as Mark), /got number 65536$/);
  assert.equal([...kept.toArray()], [4, 5, 6]);
  assert.ok(Object.isFrozen(mark()), "a mark cannot be edited into another position");
});

Memory("a mark is released at most once", () => {
  const baseline = heapBytes();
  const m = mark();
  tensor([1, 2]);
  release(m);
  const after = tensor([7, 8, 9]);
  assertFwdgradError(() => release(m), /already released/);
  assert.equal([...after.toArray()], [7, 8, 9], "the failed release freed nothing");
  assert.is(heapBytes(), baseline + 16);
});

Memory("a mark taken inside a released scope cannot pull the top into live memory", () => {
  const baseline = heapBytes();
  const outer = mark();
  tensor(new Float32Array(64));
  const inner = mark();
  release(outer);
  const live = tensor(new Float32Array(128).fill(3));
  assertFwdgradError(() => release(inner), /taken inside a scope that has since been released/);
  assert.is(heapBytes(), baseline + 512);
  assert.ok(live.toArray().every((v) => v === 3));
  // Also when nothing was allocated between the outer mark and the inner one.
  const first = mark();
  const second = mark();
  release(first);
  tensor([1]);
  assertFwdgradError(() => release(second));
});

Memory("outer marks release after inner ones, and marks taken at the same place stay independent", () => {
  const baseline = heapBytes();
  const outer = mark();
  tensor([1, 2, 3]);
  const middle = mark();
  tensor([4]);
  const inner = mark();
  tensor([5]);
  release(inner);
  release(middle);
  release(outer);
  assert.is(heapBytes(), baseline);
  const a = mark();
  const b = mark();
  tensor([1]);
  release(b);
  release(a);
  assert.is(heapBytes(), baseline);
  const loop = mark();
  for (let i = 0; i < 100; i++) {
    const step = mark();
    tensor(new Float32Array(32));
    release(step);
  }
  release(loop);
  assert.is(heapBytes(), baseline);
});

Memory("tidy works with marks: inside it, around it, and after it", () => {
  const baseline = heapBytes();
  const outer = mark();
  let inside: Mark | null = null;
  const kept = tidy(() => {
    inside = mark();
    const scratch = tensor([1, 2]);
    const step = mark();
    add(scratch, scratch);
    release(step);
    return add(scratch, 1);
  });
  assert.equal([...kept.toArray()], [2, 3]);
  assert.is(heapBytes(), baseline + 16);
  assertFwdgradError(() => release(inside!), /already released|since been released/);
  const nested = tidy(() => tidy(() => tensor([8, 9])));
  assert.equal([...nested.toArray()], [8, 9]);
  release(outer);
  assert.is(heapBytes(), baseline);
  assertFwdgradError(() => kept.toArray(), /released/);
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
