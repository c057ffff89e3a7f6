// The lab server under load: starts it (scripts/web-server.mjs over web-dist/) in its own process,
// opens --stalled connections that send half a request header and then nothing, and times ordinary
// requests for the page while they hang on; then reports the server's peak RSS (VmHWM, Linux).
// The target (issue 29): a normal request answered within 1 s after 1,000 stalled connections.
// `node scripts/server-load.mjs [--stalled 1000] [--requests 20]` (after `npm run build`).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i >= 0 ? process.argv[i + 1] : fallback);
};
const stalled = arg("stalled", 1000);
const requests = arg("requests", 20);
if (!existsSync("web-dist/index.html")) throw new Error("web-dist/ is missing: run `npm run build:web` or `npm run build` first");

const SERVER = `
import { createLabServer } from "./scripts/web-server.mjs";
const server = createLabServer("web-dist");
server.listen(0, "127.0.0.1", () => process.send(server.address().port));
`;
const child = spawn(process.execPath, ["--input-type=module", "-e", SERVER], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
const port = await new Promise((resolve) => child.once("message", resolve));
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;

/** One ordinary GET of the page: resolves to [status, milliseconds]; fails after 5 s. */
function get(path = "/") {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer within 5 s to GET ${path}`)));
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    socket.on("data", (chunk) => (text += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve([Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), performance.now() - started]));
  });
}

const timings = async (label) => {
  const ms = [];
  for (let i = 0; i < requests; i++) {
    const [status, t] = await get();
    if (status !== 200) throw new Error(`${label}: status ${status}`);
    ms.push(t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], worst: ms[ms.length - 1] };
};

const idle = await timings("idle");
const rssIdle = rss();
const sockets = [];
for (let i = 0; i < stalled; i++) {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  sockets.push(socket);
}
await Promise.all(sockets.map((s) => new Promise((resolve) => (s.connecting ? s.once("connect", resolve).once("error", resolve) : resolve()))));
await new Promise((resolve) => setTimeout(resolve, 500));
const loaded = await timings(`with ${stalled} stalled`);
const open = sockets.filter((s) => !s.destroyed).length;
const report = {
  stalled, stillOpen: open, requests,
  idle: { medianMs: +idle.median.toFixed(2), worstMs: +idle.worst.toFixed(2) },
  loaded: { medianMs: +loaded.median.toFixed(2), worstMs: +loaded.worst.toFixed(2) },
  rssIdleMiB: +rssIdle.toFixed(1), peakRssMiB: +peakRss().toFixed(1),
};
for (const s of sockets) s.destroy();
child.kill();
console.log(JSON.stringify(report));
const ok = loaded.worst < 1000;
console.log(ok ? `every request answered within 1 s (worst ${loaded.worst.toFixed(1)} ms) with ${open} of ${stalled} stalled connections open` : `a request took ${loaded.worst.toFixed(0)} ms: over the 1 s target`);
process.exit(ok ? 0 : 1);
