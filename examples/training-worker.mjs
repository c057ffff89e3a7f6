// A training worker for runtimes with Web Workers (browsers, Deno, Bun).
import { serveTraining, workerScopeEndpoint } from "../dist/index.js";

serveTraining(workerScopeEndpoint(self));
