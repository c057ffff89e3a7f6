// The lab page's static file server, apart from building and listening so tests can drive it.
// Every request gets an answer and none can stop the server: a malformed path is a 400, a path
// reaching outside the root (also through encoded `..`) a 403, a missing file a 404.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
};
/** Cross-origin isolation, without which browsers give no SharedArrayBuffer and the engine one thread. */
export const ISOLATION_HEADERS = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
// Longer request targets than any file of the page could need are refused before decoding.
const MAX_TARGET = 2048;

/**
 * The file under `root` that a request target names, or the status to answer instead. Only
 * `/segment/segment…` with non-empty, decodable segments is accepted; `/` and `/api/` are
 * index.html.
 */
export function resolveTarget(root, target) {
  if (typeof target !== "string" || !target.startsWith("/")) return { status: 400 };
  if (target.length > MAX_TARGET) return { status: 414 };
  const rawPath = target.replace(/[?#].*$/s, "");
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { status: 400 };
  }
  if (path.endsWith("/")) path += "index.html";
  const segments = path.slice(1).split("/");
  if (segments.includes("..")) return { status: 403 };
  // Empty segments (`//`, `/a//b`), `.`, NUL and backslashes (a separator on Windows) name no file of ours.
  if (segments.some((s) => s === "" || s === "." || s.includes("\0") || s.includes("\\"))) return { status: 400 };
  const base = resolve(root);
  const file = resolve(join(base, ...segments));
  if (!file.startsWith(base + sep)) return { status: 403 };
  return { file };
}

/** An http.Server (not yet listening) serving the files under `root`: GET and HEAD only. */
export function createLabServer(root) {
  return createServer((req, res) => {
    answer(root, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}

async function answer(root, req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
  const { file, status } = resolveTarget(root, req.url);
  if (!file) return void res.writeHead(status).end();
  let body;
  try {
    body = await readFile(file);
  } catch {
    // Browsers ask for a favicon the page does not have; no content keeps their console quiet.
    return void res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": body.length, ...ISOLATION_HEADERS });
  res.end(req.method === "HEAD" ? undefined : body);
}
