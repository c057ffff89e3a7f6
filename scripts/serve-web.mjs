// `npm run web`: builds the lab page and serves web-dist/ on 127.0.0.1, printing the address.
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";

execFileSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript" };
const port = Number(process.env.PORT ?? 8080);
createServer((req, res) => {
  const path = normalize(new URL(req.url, "http://x").pathname).replace(/^\/+/, "") || "index.html";
  if (path.startsWith("..")) return res.writeHead(403).end();
  let body;
  try {
    body = readFileSync(join("web-dist", path));
  } catch {
    return res.writeHead(404).end();
  }
  res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
}).listen(port, "127.0.0.1", () => console.log(`fwdgrad lab: http://127.0.0.1:${port}/`));
