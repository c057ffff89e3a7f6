// The same training worker for Node's worker_threads.
import { parentPort } from "node:worker_threads";
import { serveTraining } from "../dist/index.js";

serveTraining({ postMessage: (event) => parentPort.postMessage(event), onMessage: (handler) => parentPort.on("message", handler) });
