// End-to-end test of the lab page in headless Chromium (playwright-core, the browser
// scripts/find-browser.mjs finds): served cross-origin isolated (as scripts/web-server.mjs serves
// it), check that the worker trains on every core; start wt at width 64, wait for 3 epochs, check
// accuracy above chance and the plots, take a screenshot into .tmp/, pause; compare wt, wt with 4
// projected guesses and backprop side by side and check every run reports and the shared plots
// name them all; check that bad settings show an error; served without isolation (`/?plain`), check that the page says so and
// trains on one thread. uvu-style totals, or a `skipped:` line when there is no browser.
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { launchBrowser, reportSkipped } from "./find-browser.mjs";
import { ISOLATION_HEADERS } from "./web-server.mjs";

const browser = await launchBrowser({ viewport: { width: 1400, height: 1100 } });
if (!browser.context) {
  reportSkipped("the lab page in chromium", browser.reason);
  process.exit(0);
}
execFileSync(process.execPath, ["scripts/build-web.mjs"], { stdio: "inherit" });
// A page loaded as /?plain (and the worker script it loads, named by its Referer) goes without the
// isolation headers.
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const plain = url.search === "?plain" || /\?plain$/.test(req.headers.referer ?? "");
  const path = normalize(url.pathname).replace(/^\/+/, "") || "index.html";
  let body;
  try {
    body = readFileSync(join("web-dist", path));
  } catch {
    return res.writeHead(path === "favicon.ico" ? 204 : 404).end();
  }
  res.writeHead(200, { "content-type": extname(path) === ".html" ? "text/html" : "text/javascript", ...(plain ? {} : ISOLATION_HEADERS) }).end(body);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));

const checks = [];
const check = (name, ok, detail = "") => {
  checks.push(ok);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
};

try {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => !document.getElementById("start").disabled, null, { timeout: 60_000 });
  const status = await page.textContent("#status");
  check("the kernels load in the worker", /SIMD kernels ready/.test(status), status);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  check(`isolated: the page says so and the worker runs ${cores} threads`, / cross-origin isolated/.test(status) && status.includes(`${cores} thread`), status);
  // The estimators' option fields come from their tables; an option no listed method takes is refused.
  const fields = await page.locator("#options input, #options select").count();
  check("a field per estimator option, from the tables", fields >= 8, `${fields} fields`);
  await page.fill("#methods", "wt");
  await page.fill("#width", "64");
  await page.fill("#option-k", "4");
  await page.click("#start");
  const refused = await page.textContent("#error");
  check("an option none of the methods takes is refused", /option "k": none of wt takes it/.test(refused), refused);
  await page.fill("#option-k", "");
  await page.click("#start");
  await page.waitForFunction(() => /epoch ([3-9]|\d\d)/.test(document.getElementById("progress").textContent), null, { timeout: 120_000 });
  const progress = await page.textContent("#progress");
  const train = Number(/train ([\d.]+) %/.exec(progress)?.[1]);
  check("3 epochs shown, train accuracy above chance (10 %)", train > 10, progress);
  check("the accuracy plot drew", (await page.locator("#accuracy-plot svg path").count()) >= 2);
  check("examples with predicted labels", (await page.locator("#examples figure").count()) === 6);
  mkdirSync(".tmp", { recursive: true });
  await page.screenshot({ path: ".tmp/web-lab.png", fullPage: true });
  await page.click("#pause");
  // An epoch already running when the message arrives still reports; then nothing more.
  await page.waitForTimeout(1000);
  const pausedAt = await page.textContent("#progress");
  await page.waitForTimeout(1500);
  check("pause stops training", (await page.textContent("#progress")) === pausedAt);
  await page.fill("#methods", "wt,wt:project:4,backprop");
  await page.fill("#width", "32");
  await page.fill("#epochs", "2");
  await page.click("#start");
  await page.waitForFunction(() => (document.getElementById("progress").textContent.match(/finished 2 epochs/g) ?? []).length === 3, null, { timeout: 120_000 });
  const legend = await page.locator("#accuracy-plot svg text").allTextContents();
  check("side by side: three runs finish, the shared accuracy plot names each", ["wt train", "wt:project:4 train", "backprop train"].every((n) => legend.includes(n)), legend.join(" | "));
  check("side by side: one cosine line per estimator", (await page.locator("#cosine-plot svg path").count()) === 2);
  await page.screenshot({ path: ".tmp/web-lab-compare.png", fullPage: true });
  await page.fill("#epochs", "300");
  await page.fill("#width", "0");
  await page.click("#start");
  check("width 0 shows an error", /width must be/.test(await page.textContent("#error")), await page.textContent("#error"));
  await page.fill("#width", "8");
  await page.fill("#methods", "wperp");
  await page.fill("#option-k", "20");
  await page.click("#start");
  check("k larger than the width shows an error", /wperp: k = 20 is larger than the width 8 of hidden layer 0/.test(await page.textContent("#error")), await page.textContent("#error"));
  await page.fill("#methods", "wt:median");
  await page.click("#start");
  check("a bad method entry shows an error", /"median" is not a combination/.test(await page.textContent("#error")), await page.textContent("#error"));
  const plain = await browser.context.newPage();
  await plain.goto(`http://127.0.0.1:${server.address().port}/?plain`);
  await plain.waitForFunction(() => !document.getElementById("start").disabled, null, { timeout: 60_000 });
  const plainStatus = await plain.textContent("#status");
  check("not isolated: one thread, and the page says why", /1 thread · not cross-origin isolated \(running on 1 thread: .*(SharedArrayBuffer|isolat)/.test(plainStatus), plainStatus);
} catch (error) {
  check("the page runs", false, error.message.split("\n")[0]);
} finally {
  await browser.close();
  server.close();
}
const passed = checks.filter(Boolean).length;
console.log(`\n  Total:     ${checks.length}\n  Passed:    ${passed}\n`);
process.exit(passed === checks.length && checks.length > 0 ? 0 : 1);
