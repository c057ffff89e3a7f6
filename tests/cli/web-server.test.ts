// The lab page's static server (scripts/web-server.mjs), driven with raw HTTP over a socket so
// malformed targets reach it unchanged: each gets a 4xx, and the server keeps serving after them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createLabServer } from "../../scripts/web-server.mjs";

const WebServer = suite("web server");
const outside = mkdtempSync(join(tmpdir(), "fwdgrad-web-"));
const root = join(outside, "web-dist");
mkdirSync(root);
writeFileSync(join(root, "index.html"), "<!doctype html><title>lab</title>");
writeFileSync(join(root, "main.js"), "console.log('lab');");
writeFileSync(join(outside, "secret.txt"), "not for the page");
const server = createLabServer(root);
let port = 0;

/** Sends `request` as is and resolves with the status code and the whole response (5 s at most). */
function send(request: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer within 5 s to ${JSON.stringify(request.slice(0, 60))}`)));
    socket.on("data", (chunk) => (text += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.write(request);
  });
}

const get = (target: string, method = "GET") => send(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

WebServer.before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

WebServer.after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(outside, { recursive: true, force: true });
});

WebServer("serves the page's files with their types", async () => {
  const index = await get("/");
  assert.is(index.status, 200);
  assert.match(index.text, /content-type: text\/html/i);
  assert.match(index.text, /<title>lab<\/title>/);
  const script = await get("/main.js?v=1");
  assert.is(script.status, 200);
  assert.match(script.text, /content-type: text\/javascript/i);
  const head = await get("/index.html", "HEAD");
  assert.is(head.status, 200);
  assert.not.match(head.text, /<title>/);
  assert.is((await get("/nope.js")).status, 404);
  assert.is((await get("/favicon.ico")).status, 204);
  assert.is((await get("/", "POST")).status, 405);
});

WebServer("malformed and escaping targets get a 4xx, and the server keeps serving", async () => {
  const cases: Array<[string, number]> = [
    ["//", 400],
    ["//x", 400],
    ["//index.html", 400],
    ["/a//b", 400],
    ["/%", 400],
    ["/%zz", 400],
    ["/%E0%A4%A", 400],
    ["/%00", 400],
    ["/.", 400],
    ["/..%5csecret.txt", 400],
    ["*", 400],
    ["http://127.0.0.1/index.html", 400],
    ["/../secret.txt", 403],
    ["/a/../../secret.txt", 403],
    ["/%2e%2e/secret.txt", 403],
    ["/..%2fsecret.txt", 403],
    ["/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", 403],
    [`/${"a".repeat(3000)}`, 414],
  ];
  for (const [target, status] of cases) {
    const answer = await get(target);
    assert.is(answer.status, status, `${JSON.stringify(target.slice(0, 40))}: ${answer.text.split("\r\n")[0]}`);
    assert.not.match(answer.text, /not for the page/);
  }
  // Past Node's header limit and plain garbage: Node's parser answers, the server lives on.
  const huge = await get(`/${"a".repeat(100_000)}`);
  assert.ok(huge.status >= 400 && huge.status < 500, `a 100 kB target: ${huge.text.split("\r\n")[0]}`);
  const garbage = await send("\x00\x01\x02 nonsense\r\n\r\n");
  assert.ok(garbage.status === 0 || (garbage.status >= 400 && garbage.status < 500), `garbage: ${garbage.text.split("\r\n")[0]}`);
  assert.ok(server.listening, "still listening");
  const after = await get("/");
  assert.is(after.status, 200);
  assert.match(after.text, /<title>lab<\/title>/);
});

WebServer("1,000 stalled connections (half a header each, then nothing) do not keep the page from being served", async () => {
  const stalled = Array.from({ length: 1000 }, () => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    return socket;
  });
  try {
    await Promise.all(stalled.map((s) => new Promise((resolve) => s.once("connect", resolve).once("error", resolve))));
    // `send` gives up after 5 s; scripts/server-load.mjs measures the time (docs/results.md).
    for (let i = 0; i < 5; i++) {
      const page = await get("/");
      assert.is(page.status, 200);
    }
    assert.ok(stalled.filter((s) => !s.destroyed).length > 900, "the stalled connections are still open");
  } finally {
    for (const s of stalled) s.destroy();
  }
});

WebServer.run();
