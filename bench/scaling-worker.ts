// One single-threaded fwdgrad engine in a worker of its own, timing 512³ matmuls once every worker
// of the measurement is ready (bench/threads.ts): the hardware's own scaling, with no shared state.
import { parentPort, workerData } from "node:worker_threads";
import { mark, matmul, ready, release, rng } from "../index.ts";

const { control, calls } = workerData as { control: SharedArrayBuffer; calls: number };
const flags = new Int32Array(control);
await ready({ threads: 1 });
const n = 512;
const a = rng(1).normal([n, n]);
const b = rng(2).normal([n, n]);
const once = () => {
  const s = mark();
  matmul(a, b);
  release(s);
};
for (let i = 0; i < 5; i++) once();
Atomics.add(flags, 0, 1);
Atomics.notify(flags, 0);
while (Atomics.load(flags, 1) === 0) Atomics.wait(flags, 1, 0);
const started = performance.now();
for (let i = 0; i < calls; i++) once();
parentPort!.postMessage(performance.now() - started);
