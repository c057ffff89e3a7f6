// The Chromium the browser runs drive through playwright-core (which downloads none): FWDGRAD_BROWSER
// if set, else the first of the usual install paths. A FWDGRAD_BROWSER that does not exist means no
// browser (no fallback), so `FWDGRAD_BROWSER=/nonexistent` shows what a machine without one does.
// A run without a browser prints a `skipped:` line, which scripts/test-all.mjs counts (and under
// CI=true turns into a failure).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];
const HINT = "apt-get install chromium or set FWDGRAD_BROWSER=/path/to/chrome";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];

/** `{ path }` of the browser to use, or `{ reason }` why there is none. */
export function findBrowser() {
  const chosen = process.env.FWDGRAD_BROWSER;
  if (chosen) return existsSync(chosen) ? { path: chosen } : { reason: `no browser found: FWDGRAD_BROWSER=${chosen} does not exist` };
  const path = CANDIDATES.find((candidate) => existsSync(candidate));
  return path ? { path } : { reason: "no browser found" };
}

/**
 * Starts headless Chromium with a fresh profile: `{ context, close }`, or `{ reason }` when there is
 * no browser or it does not start. `close` also removes the profile.
 */
export async function launchBrowser(options = {}) {
  const found = findBrowser();
  if (!found.path) return { reason: found.reason };
  const profile = mkdtempSync(join(tmpdir(), "fwdgrad-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: found.path, headless: true, args: ARGS, ...options });
    return {
      context,
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    return { reason: `${found.path} did not start: ${error.message.split("\n")[0]}` };
  }
}

/** The line scripts/test-all.mjs reads as one skipped run, or one skipped part of a run. */
export function reportSkipped(what, reason) {
  console.log(`skipped: ${what} (${reason}; ${HINT})`);
}
