// Node's thread host: Node has no web Worker, so the engine's workers run on worker_threads. This is
// the one module with Node imports that the package ships; its Node entry (node.ts) registers it,
// as do the CLI and the Node test runner. Workers are unref'd once ready: they never keep a process alive.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ThreadHost } from "../engine/threads.ts";

export const nodeThreadHost: ThreadHost = {
  cores: () => availableParallelism(),
  spawn(body) {
    const source =
      'const { parentPort } = require("node:worker_threads");\n' +
      'const port = { post: (m) => parentPort.postMessage(m), listen: (f) => parentPort.on("message", f), close: () => parentPort.close() };\n' +
      `(${body})(port);\n`;
    const worker = new Worker(source, { eval: true });
    return {
      postMessage: (message) => worker.postMessage(message),
      onMessage: (listener) => worker.on("message", listener),
      onError: (listener) => worker.on("error", listener),
      terminate: () => void worker.terminate(),
      // Listeners added later would ref it again, so this comes last, once the worker is ready.
      unref: () => worker.unref(),
    };
  },
};
