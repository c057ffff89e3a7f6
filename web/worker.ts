// The lab page's worker: the library's training service on the Web Worker's scope.
import { serveTraining, workerScopeEndpoint } from "../train/worker.ts";

serveTraining(workerScopeEndpoint(self as unknown as Parameters<typeof workerScopeEndpoint>[0]));
