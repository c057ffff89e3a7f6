// The engine's threads as a user meets them: ready({ threads }) validates its argument, reports the
// thread count and keeps it; shutdown() stops the workers and the engine goes on with one thread.
// This suite runs last and leaves the workers stopped, so runtimes whose workers keep a process
// alive (Deno) exit when the suite ends.
import { engineInfo, FwdgradError, matmul, ready, shutdown, tensor } from "../../index.ts";
import { splitRange } from "../../engine/parallel.ts";
import { assert, assertSameBits, inputs, suite } from "../harness.ts";

const Threads = suite("threads");

Threads("splitRange covers 0 .. total once, in aligned near-equal pieces", () => {
  for (const total of [0, 1, 3, 4, 5, 17, 64, 65, 1000]) {
    for (const parts of [1, 2, 3, 4, 7]) {
      for (const align of [1, 4]) {
        const ranges = splitRange(total, parts, align);
        let next = 0;
        for (const [from, to] of ranges) {
          assert.is(from, next, `total ${total}, ${parts} parts, align ${align}: contiguous`);
          assert.ok(to > from, "no empty range");
          assert.ok(from % align === 0, "aligned start");
          next = to;
        }
        assert.is(next, total, `total ${total}, ${parts} parts: covered`);
        assert.ok(ranges.length <= parts);
      }
    }
  }
});

Threads("ready({ threads }) refuses counts that are not integers from 1 to 64", async () => {
  for (const threads of [0, -1, 1.5, 65, NaN, Infinity]) {
    let error: unknown = null;
    try {
      await ready({ threads });
    } catch (e) {
      error = e;
    }
    assert.instance(error, FwdgradError, `threads ${threads}: ${String(error)}`);
    assert.match((error as Error).message, /threads must be an integer from 1 to 64/);
  }
});

Threads("shutdown stops the workers, the results stay the same, and ready() starts them again", async () => {
  const r = inputs(7);
  const a = tensor(r.uniform(96 * 80), [96, 80]);
  const b = tensor(r.uniform(80 * 72), [80, 72]);
  const info = await ready({ threads: 3 });
  assert.is(info.threads, 3);
  assert.is(engineInfo().threads, 3);
  const threaded = matmul(a, b).toArray();
  shutdown();
  assert.is(engineInfo().threads, 1);
  assertSameBits(matmul(a, b).toArray(), threaded, "matmul after shutdown");
  assert.is((await ready({ threads: 2 })).threads, 2);
  assertSameBits(matmul(a, b).toArray(), threaded, "matmul on 2 threads");
  shutdown();
  shutdown();
  assert.is(engineInfo().threads, 1);
});

Threads.run();
