// The test entry under Node: the engine's threads run on worker_threads, as with the package's Node entry.
import { setThreadHost } from "../engine/threads.ts";
import { nodeThreadHost } from "../platform/node.ts";

setThreadHost(nodeThreadHost);
await import("./index.ts");
