// Training off the main thread: starts a worker (Web Worker in Deno and Bun, worker_threads in
// Node), asks it to train, prints every epoch it reports and the final weights hash.
const settings = { method: "wt", width: 32, depth: 2, epochs: 3, lr: 1e-3, seed: 0 };

let worker;
let listen;
if (typeof Worker !== "undefined") {
  worker = new Worker(new URL("./training-worker.mjs", import.meta.url), { type: "module" });
  listen = (handler) => worker.addEventListener("message", (event) => handler(event.data));
} else {
  const { Worker: NodeWorker } = await import("node:worker_threads");
  worker = new NodeWorker(new URL("./training-worker-node.mjs", import.meta.url));
  listen = (handler) => worker.on("message", handler);
}

listen((event) => {
  if (event.type === "ready") worker.postMessage({ type: "start", settings });
  else if (event.type === "epoch") console.log(`epoch ${event.report.epoch}: train ${(event.report.trainAcc * 100).toFixed(1)} %, test ${(event.report.testAcc * 100).toFixed(1)} %`);
  else if (event.type === "done") {
    console.log(JSON.stringify({ done: event.reason, weightsHash: event.weightsHash }));
    worker.terminate();
  } else if (event.type === "error") {
    console.error(event.message);
    worker.terminate();
  }
});
