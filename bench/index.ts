// `npm run bench [-- --json] [--filter <substring>] [--full]`: fwdgrad against its peers, side by side;
// then the thread scaling (bench/threads.ts) and the jax-js comparison (bench/jax.ts, in Deno).
import { mark, ready, release } from "../index.ts";
import type { Case, Peer, Setup } from "./case.ts";
import { CASES } from "./cases.ts";
import { initTf, tf } from "./peers.ts";
import { Printer } from "./print.ts";
import { WARMUP_CALLS, timeMs } from "./timing.ts";
import { threadScaling } from "./threads.ts";
import { spawnSync } from "node:child_process";
import { setThreadHost } from "../engine/threads.ts";
import { simdPeakGflops } from "../engine/probe.ts";
import { nodeThreadHost } from "../platform/node.ts";

const USAGE = "usage: tsx bench/index.ts [--json] [--filter <substring>] [--full]";

function parseArgs(argv: string[]): { json: boolean; full: boolean; filter: string } {
  const flags = { json: false, full: false, filter: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") flags.json = true;
    else if (arg === "--full") flags.full = true;
    else if (arg === "--filter" && i + 1 < argv.length) flags.filter = argv[++i];
    else if (arg.startsWith("--filter=")) flags.filter = arg.slice("--filter=".length);
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return flags;
}

async function runCase(c: Case, full: boolean, out: Printer): Promise<void> {
  const scope = mark();
  try {
    await timeCase(c, c.setup({ full }), out);
  } finally {
    release(scope);
  }
}

/** Milliseconds of peers timed so far, by `Peer.key`. */
const peerTimes = new Map<string, number>();

async function timePeer(peer: Peer): Promise<number> {
  const known = peer.key === undefined ? undefined : peerTimes.get(peer.key);
  if (known !== undefined) return known;
  if (peer.backend) await tf.setBackend(peer.backend);
  const { run, dispose } = peer.setup();
  const ms = timeMs(run, { minSamples: peer.minSamples }) * (peer.scale ?? 1);
  dispose?.();
  if (peer.key !== undefined) peerTimes.set(peer.key, ms);
  return ms;
}

/** GFLOP/s at most on the cores a run uses: the per-core peak times the engine's threads. */
let peakGflops = 0;

async function timeCase(c: Case, setup: Setup, out: Printer): Promise<void> {
  const oursMs = timeMs(setup.ours);
  const gflops = c.flops === null ? null : c.flops / (oursMs * 1e6);
  for (const peer of setup.peers) {
    const peerMs = await timePeer(peer);
    out.row({ case: c.name, ours_ms: oursMs, peer: peer.name, peer_ms: peerMs, ratio: peerMs / oursMs, gflops });
  }
  if (gflops !== null && peakGflops > 0) out.note(`${c.name}: ${gflops.toFixed(1)} GFLOP/s, ${((100 * gflops) / peakGflops).toFixed(0)} % of the SIMD peak of the cores it runs on`);
  for (const note of setup.notes ?? []) out.note(note);
}

async function main(): Promise<void> {
  const flags = parseArgs(process.argv.slice(2));
  const out = new Printer(flags.json);
  setThreadHost(nodeThreadHost);
  const engine = await ready();
  const tfInfo = await initTf();
  const cases = CASES.filter((c) => c.name.includes(flags.filter));
  const perCore = simdPeakGflops();
  peakGflops = perCore * engine.threads;
  out.header([
    `per-core SIMD peak: ${perCore.toFixed(1)} GFLOP/s (f32x4 multiply then add, no FMA, as the kernels compute); products report their fraction of it × ${engine.threads} threads`,
    `fwdgrad bench: node ${process.version} ${process.platform}-${process.arch}, kernels ${engine.kernels}${engine.simd ? " (SIMD)" : ""}, ${engine.threads} threads; ` +
      `tfjs ${tfInfo.version} (wasm threads: ${tfInfo.wasmThreads}); ml-matrix f64`,
    `median of benchmark.js samples (maxTime 1 s) after ${WARMUP_CALLS} untimed warm-up calls; peer/ours > 1 means fwdgrad is faster`,
  ]);
  for (const c of cases) {
    try {
      await runCase(c, flags.full, out);
    } catch (error) {
      out.note(`${c.name}: failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
  await threadScaling(out, flags.filter);
  // jax-js starts its threads with the web Worker, which Node 20 lacks: its comparison runs in Deno.
  const jax = spawnSync("node_modules/.bin/deno", ["run", "--allow-all", "bench/jax.ts", ...(flags.json ? ["--json"] : []), ...(flags.filter ? ["--filter", flags.filter] : [])], { stdio: "inherit" });
  if (jax.status !== 0) {
    out.note(`bench/jax.ts (fwdgrad vs jax-js in Deno) failed: exit ${jax.status}`);
    process.exitCode = 1;
  }
}

await main();
