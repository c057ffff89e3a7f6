// End-to-end test of the lab page in headless Chromium (playwright-core, the browser
// scripts/find-browser.mjs finds): served cross-origin isolated (as scripts/web-server.mjs serves
// it), check that the worker trains on every core; start wt at width 64, wait for 3 epochs, check
// accuracy above chance and the plots, take a screenshot into .tmp/, pause; compare wt, wt with 4
// projected guesses and backprop side by side and check every run reports and the shared plots
// name them all; train the MNIST-1D CNN from the model menu; check that bad settings show an error; open a generated CSV file (4 separable
// classes) and check the worker parses it and backprop and wt learn it, a malformed one shows the
// CLI's one-line error, a file too large is refused before it is read, and MNIST-1D comes back;
// served without isolation (`/?plain`), check that the page says so and
// trains on one thread. uvu-style totals, or a `skipped:` line when there is no browser.
import { execFileSync, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
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
  // The model menu: the MNIST-1D CNN, whose width is its channel count.
  await page.selectOption("#model", "cnn");
  check("the CNN's width field is its channels, ConvBase's 25", (await page.textContent("#width-label")) === "channels" && (await page.inputValue("#width")) === "25");
  await page.fill("#width", "8");
  await page.fill("#methods", "wperp,backprop");
  await page.click("#start");
  await page.waitForFunction(() => (document.getElementById("progress").textContent.match(/finished 2 epochs/g) ?? []).length === 2, null, { timeout: 120_000 });
  const cnnLegend = await page.locator("#accuracy-plot svg text").allTextContents();
  check("the CNN trains: wperp and backprop finish side by side", ["wperp train", "backprop train"].every((n) => cnnLegend.includes(n)), cnnLegend.join(" | "));
  await page.selectOption("#model", "mlp");
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
  await page.close();
  await csvChecks(browser.context, `http://127.0.0.1:${server.address().port}/`);
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

/**
 * Your own data: CSV files written into .tmp/web-csv/ and opened in a fresh page whose worker's
 * events are recorded (an init script wraps Worker), so each run's accuracy per epoch can be read.
 */
async function csvChecks(context, url) {
  const dir = resolve(".tmp/web-csv");
  mkdirSync(dir, { recursive: true });
  // 4 classes in 8 features: class c lifts features c and c + 4 by 1.2, uniform noise in ±1; rows shuffled (the first 80 % train).
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows = Array.from({ length: 1000 }, (_, i) => {
    const c = i % 4;
    return [...Array.from({ length: 8 }, (_, j) => ((j % 4 === c ? 1.2 : 0) + 2 * (random() - 0.5)).toFixed(4)), c].join(",");
  });
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const header = [...Array.from({ length: 8 }, (_, j) => `f${j + 1}`), "label"].join(",");
  writeFileSync(join(dir, "blobs.csv"), `${header}\n${rows.join("\n")}\n`);
  writeFileSync(join(dir, "bad.csv"), `${header}\n${rows.slice(0, 2).join("\n")}\n1.5,abc,0,0,0,0,0,0,1\n${rows.slice(2, 5).join("\n")}\n`);

  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.addInitScript(() => {
    window.workerEvents = [];
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (e) => window.workerEvents.push(e.data));
      }
    };
  });
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("start").disabled, null, { timeout: 60_000 });
  check("the page names MNIST-1D's shape at first", /MNIST-1D: 4000 training \+ 1000 test rows, 40 features, 10 classes/.test(await page.textContent("#dataset")), await page.textContent("#dataset"));
  await page.setInputFiles("#csv-file", join(dir, "blobs.csv"));
  await page.waitForFunction(() => /^blobs\.csv:/.test(document.getElementById("dataset").textContent), null, { timeout: 30_000 });
  const shape = await page.textContent("#dataset");
  check("an opened CSV file is parsed in the worker: its name, rows, features and classes shown", shape === "blobs.csv: 800 training + 200 test rows, 8 features, 4 classes", shape);
  await page.fill("#methods", "backprop,wt");
  await page.fill("#width", "32");
  await page.fill("#depth", "2");
  await page.fill("#batch", "32");
  await page.fill("#lr", "0.002");
  await page.fill("#epochs", "6");
  await page.click("#start");
  await page.waitForFunction(() => (document.getElementById("progress").textContent.match(/finished 6 epochs/g) ?? []).length === 2, null, { timeout: 120_000 });
  const epochs = await page.evaluate(() => window.workerEvents.filter((e) => e.type === "epoch").map((e) => ({ label: e.label, epoch: e.report.epoch, testAcc: e.report.testAcc })));
  for (const label of ["backprop", "wt"]) {
    const acc = epochs.filter((e) => e.label === label).map((e) => e.testAcc);
    const rising = acc.length === 6 && acc[5] > acc[0] && acc[5] > (label === "backprop" ? 0.9 : 0.5);
    check(`${label} learns the CSV data: test accuracy rises over 6 epochs, well above chance (25 %)`, rising, acc.map((a) => (a * 100).toFixed(1)).join(" → "));
  }
  const captions = await page.locator("#examples figcaption").allTextContents();
  check("examples from the CSV test rows, by class", captions.length === 6 && captions.every((c) => /^class [0-3] → predicted [0-3]$/.test(c)), captions.join(" | "));
  await page.screenshot({ path: ".tmp/web-lab-csv.png", fullPage: true });
  // The trained weights download as a safetensors file: 8-byte header length, JSON header, f32 data.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#downloads button >> text=wt")]);
  const file = readFileSync(await download.path());
  const headerBytes = Number(file.readBigUInt64LE(0));
  const tensors = Object.entries(JSON.parse(file.subarray(8, 8 + headerBytes).toString("utf8"))).filter(([name]) => name !== "__metadata__");
  const values = tensors.reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  // width 32, depth 2 on 8 features and 4 classes: 8·32 + 32·32 + 32·4 weights, and the biases if the model has them.
  const weights = 8 * 32 + 32 * 32 + 32 * 4;
  check("the trained weights download as <data>-<method>.safetensors", download.suggestedFilename() === "blobs-wt.safetensors" && tensors.every(([, t]) => t.dtype === "F32") && [weights, weights + 32 + 32 + 4].includes(values) && file.length === 8 + headerBytes + 4 * values, `${download.suggestedFilename()}: ${tensors.map(([n, t]) => `${n} [${t.shape}]`).join(", ")}`);

  // A malformed file: the parser's one line, the same as the CLI prints for it (after "fwdgrad: ").
  await page.setInputFiles("#csv-file", join(dir, "bad.csv"));
  await page.waitForFunction(() => document.getElementById("error").textContent !== "", null, { timeout: 30_000 });
  const shown = await page.textContent("#error");
  const cli = spawnSync(process.execPath, [resolve("node_modules/tsx/dist/cli.mjs"), resolve("cli/fwdgrad.ts"), "train", "--method", "wt", "--width", "8", "--data", "bad.csv"], { cwd: dir, encoding: "utf8" });
  const cliLine = cli.stderr.split("\n")[0];
  check("a malformed CSV shows the parser's one-line error, the CLI's text", shown === 'bad.csv: line 4, column 2 is "abc", not a finite float32 number' && cliLine === `fwdgrad: ${shown}` && cli.status === 2, `page: ${shown} · cli (exit ${cli.status}): ${cliLine}`);
  check("a file that fails keeps the data set before it", (await page.textContent("#dataset")).startsWith("blobs.csv: 800 training"), await page.textContent("#dataset"));

  // Too large: refused from its size, before it is read; dropped on the page like an opened file.
  const huge = await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(256 * 2 ** 20 + 1)], "huge.csv"));
    document.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    return { error: document.getElementById("error").textContent, sent: window.workerEvents.length };
  });
  check("a CSV file over 256 MiB is refused before it is read", huge.error === "huge.csv: 268435457 bytes is too large for CSV (at most 268435456 bytes, 256 MiB)", huge.error);

  // A small file dropped on the page opens too; then back to MNIST-1D.
  await page.evaluate((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], "dropped.csv"));
    document.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, `x,y,label\n${rows.slice(0, 50).map((r) => r.split(",").slice(6).join(",")).join("\n")}\n`);
  await page.waitForFunction(() => /^dropped\.csv:/.test(document.getElementById("dataset").textContent), null, { timeout: 30_000 });
  check("a file dropped on the page opens", (await page.textContent("#dataset")) === "dropped.csv: 40 training + 10 test rows, 2 features, 4 classes", await page.textContent("#dataset"));
  await page.click("#use-mnist1d");
  await page.waitForFunction(() => /^MNIST-1D:/.test(document.getElementById("dataset").textContent), null, { timeout: 30_000 });
  await page.fill("#batch", "");
  await page.fill("#methods", "backprop");
  await page.fill("#epochs", "1");
  await page.click("#start");
  await page.waitForFunction(() => /finished 1 epochs/.test(document.getElementById("progress").textContent), null, { timeout: 60_000 });
  const back = await page.evaluate(() => window.workerEvents.filter((e) => e.type === "examples").at(-1).signals[0].length);
  check("use MNIST-1D: back to its 40 features, and it trains", back === 40 && (await page.locator("#use-mnist1d").isDisabled()), `${back} features per example`);
  await page.close();
}

const passed = checks.filter(Boolean).length;
console.log(`\n  Total:     ${checks.length}\n  Passed:    ${passed}\n`);
process.exit(passed === checks.length && checks.length > 0 ? 0 : 1);
