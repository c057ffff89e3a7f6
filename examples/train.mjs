// The example for Node, Deno and Bun: `node examples/train.mjs`, `deno run examples/train.mjs`,
// `bun examples/train.mjs` all print the same result.
import { runExample } from "./run.mjs";

console.log(JSON.stringify(await runExample()));
