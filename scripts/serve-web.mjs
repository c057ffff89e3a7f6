// `npm run web`: builds the lab page and serves web-dist/ on 127.0.0.1, printing the address.
import { execFileSync } from "node:child_process";
import { createLabServer } from "./web-server.mjs";

execFileSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
const port = Number(process.env.PORT ?? 8080);
createLabServer("web-dist").listen(port, "127.0.0.1", () => console.log(`fwdgrad lab: http://127.0.0.1:${port}/`));
