// The package's entry under Node: everything index.ts exports, with worker threads started on Node's
// worker_threads (browsers, Deno and Bun use the web Worker that index.ts finds by itself).
import { setThreadHost } from "./engine/threads.ts";
import { nodeThreadHost } from "./platform/node.ts";

setThreadHost(nodeThreadHost);
export * from "./index.ts";
