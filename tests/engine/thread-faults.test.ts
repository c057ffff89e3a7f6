// Threads under fault (issue 29): a worker that dies, throws or stalls ends the call with a
// FwdgradFault naming the thread and the kernel within a bounded time; the engine retires it and
// goes on with the threads left, engineInfo() says so, a retried call gives the unfaulted bits, and
// ready({ threads }) starts fresh workers. The faults come from the test seam in engine/threads.ts.
import { engineInfo, FwdgradFault, grad, jvp, matmul, mean, ready, relu, rng, softmaxCrossEntropy, tensor, type Tensor } from "../../index.ts";
import { engine } from "../../engine/backend.ts";
import { injectThreadFault, resetThreadFaults, setStallDeadline, type ThreadFault } from "../../engine/threads.ts";
import { assert, assertSameBits, inputs, suite } from "../harness.ts";

const Faults = suite("thread faults");
// Small enough that a stall costs half a second, large enough that a busy machine's healthy worker
// answers in time.
const FLOOR_MS = 500;
const unavailable = engine().unavailable ?? (engine().wasm ? null : "no WebAssembly SIMD kernels");
let before = 1;

const r = inputs(29);
const a = tensor(r.uniform(96 * 80), [96, 80]);
const b = tensor(r.uniform(80 * 72), [80, 72]);
// Each call splits over 3 threads at the engine's own part sizes (engine/parallel.ts MIN_PART_WORK).
const CASES: Record<string, { kernel: ThreadFault["kernel"]; call: () => Tensor }> = {
  matmul: { kernel: "gemm_f32", call: () => matmul(a, b) },
  "rng.normal": { kernel: "philox_normal_f32", call: () => stream.normal([64, 512]) },
};
// Reset before each case: a faulted draw leaves its Rng where it was, so the retry draws the same.
let stream = rng(7);

// A forward-gradient step and its exact gradient on a small MLP: several split gemm calls each.
const x = tensor(r.uniform(128 * 96), [128, 96]);
const w1 = tensor(r.uniform(96 * 64, -0.2, 0.2), [96, 64]);
const w2 = tensor(r.uniform(64 * 10, -0.3, 0.3), [64, 10]);
const labels = Array.from({ length: 128 }, (_, i) => (i * 7) % 10);
const loss = (u: Tensor, v: Tensor) => mean(softmaxCrossEntropy(matmul(relu(matmul(x, u)), v), labels));
/** The loss, its directional derivative and the gradient, as one array. */
function step(): Float32Array {
  const noise = rng(5);
  const [l, dl] = jvp(loss, [w1, w2], [noise.normal([96, 64]), noise.normal([64, 10])]);
  return new Float32Array([l, dl, ...(grad(loss, { argnums: [0, 1] })(w1, w2) as Tensor[])].flatMap((t) => [...t.toArray()]));
}

Faults.before(async () => {
  before = engineInfo().threads;
  setStallDeadline(FLOOR_MS);
});

Faults.after(async () => {
  resetThreadFaults();
  if (!unavailable) await ready({ threads: before });
});

if (unavailable) {
  Faults(`skipped: threads are unavailable here (${unavailable})`, () => {});
} else {
  const expected: Record<string, Float32Array> = {};
  Faults("unfaulted results on one thread", async () => {
    await ready({ threads: 1 });
    for (const [name, { call }] of Object.entries(CASES)) {
      stream = rng(7);
      expected[name] = call().toArray();
    }
    expected.step = step();
  });

  for (const kind of ["die", "throw", "stall"] as const) {
    for (const [name, { kernel, call }] of Object.entries(CASES)) {
      const worker = kind === "throw" ? 0 : 1;
      Faults(`${kind} in ${kernel} (${name}): a FwdgradFault in bounded time, 2 threads left, same bits on retry`, async () => {
        assert.is((await ready({ threads: 3 })).threads, 3);
        stream = rng(7);
        assertSameBits(call().toArray(), expected[name], `${name} on 3 threads`);
        stream = rng(7);
        injectThreadFault({ worker, kernel, kind });
        const started = performance.now();
        let fault: unknown = null;
        try {
          call();
        } catch (e) {
          fault = e;
        }
        const elapsed = performance.now() - started;
        assert.instance(fault, FwdgradFault, `expected a FwdgradFault, got ${String(fault)}`);
        const message = (fault as FwdgradFault).message;
        assert.is((fault as FwdgradFault).kind, "thread");
        assert.match(message, `worker ${worker} (thread ${worker + 2} of 3) failed in ${kernel}`);
        assert.match(message, kind === "throw" ? "its kernel threw" : "died or stalled");
        assert.ok(elapsed < 3000, `the fault took ${elapsed.toFixed(0)} ms`);
        const info = engineInfo();
        assert.is(info.threads, 2);
        assert.is(info.threadsNote, message);
        assert.match(message, /running on 2 threads$/);
        assertSameBits(call().toArray(), expected[name], `${name} retried on 2 threads`);
      });
    }
  }

  Faults("a fault after some calls, on the last worker, leaves one thread; ready({ threads }) restores them", async () => {
    assert.is((await ready({ threads: 2 })).threads, 2);
    injectThreadFault({ worker: 0, kind: "stall", afterCalls: 2 });
    for (let i = 0; i < 2; i++) assertSameBits(matmul(a, b).toArray(), expected.matmul, `call ${i} before the fault`);
    let fault: unknown = null;
    try {
      matmul(a, b);
    } catch (e) {
      fault = e;
    }
    assert.instance(fault, FwdgradFault);
    assert.match((fault as Error).message, /worker 0 \(thread 2 of 2\) failed in gemm_f32 .* running on 1 thread$/);
    assert.equal([engineInfo().threads, engine().pool], [1, null]);
    assertSameBits(matmul(a, b).toArray(), expected.matmul, "matmul on the one thread left");
    const info = await ready({ threads: 3 });
    assert.equal([info.threads, info.threadsNote], [3, null]);
    assertSameBits(matmul(a, b).toArray(), expected.matmul, "matmul on 3 fresh threads");
  });

  Faults("a fault in the middle of a step: the retried step gives the unfaulted bits", async () => {
    await ready({ threads: 3 });
    injectThreadFault({ worker: 0, kernel: "gemm_f32", kind: "stall", afterCalls: 2 });
    let fault: unknown = null;
    try {
      step();
    } catch (e) {
      fault = e;
    }
    assert.instance(fault, FwdgradFault, `expected a FwdgradFault, got ${String(fault)}`);
    assert.is(engineInfo().threads, 2);
    assertSameBits(step(), expected.step, "the step retried on 2 threads");
  });

  Faults("a trap on every thread is the call's own error, not a fault: no worker is retired", async () => {
    await ready({ threads: 3 });
    const n = 1 << 18;
    const outside = engine().memory.buffer.byteLength;
    let error: unknown = null;
    try {
      engine().k.add_f32(outside, outside, outside, n);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof WebAssembly.RuntimeError, `expected a trap, got ${String(error)}`);
    assert.equal([engineInfo().threads, engineInfo().threadsNote], [3, null]);
  });
}

Faults.run();
