// fwdgrad against jax-js (@jax-js/jax), each with all its threads, side by side in one Deno process
// (`npm run bench` runs it after the Node cases). Deno, because jax-js starts its wasm workers with
// the web Worker, which Node 20 lacks; fwdgrad runs its own workers there too. jax-js works
// asynchronously when it uses its workers: each timed call awaits its result (`await data()`), and
// its functions are jit-compiled, its fastest mode. Cases: matmul 512³, the MLP 40-512-512-512-10 at
// batch 512 (a jvp along 1 direction, along 8 directions as stacked tangents vs vmap(jvp), the exact
// gradient as backprop vs grad), SVD and eigh of 256×256.
import { grad, init, jit, jvp as jaxJvp, numpy as np, vmap, type Array as JaxArray } from "@jax-js/jax";
import {
  add, backprop, createMlp, jvp, mark, matmul, mean, ready, relu, release, rng, shutdown, softmaxCrossEntropy, svd, eigh, tensor, type Tensor,
} from "../index.ts";
import { timeMs, timeMsAsync } from "./timing.ts";

// This file runs in Deno only; the type checker sees Node types.
declare const Deno: { args: string[]; version: { deno: string }; exit(code: number): never };

const JSON_OUTPUT = Deno.args.includes("--json");
const FILTER = (() => {
  const i = Deno.args.indexOf("--filter");
  return i >= 0 ? Deno.args[i + 1] ?? "" : "";
})();

const SIZES = [40, 512, 512, 512, 10];
const BATCH = 512;

function values(n: number, seed: number): Float32Array {
  return rng(seed).normal([n]).toArray();
}

interface Row {
  case: string;
  ours_ms: number;
  peer: string;
  peer_ms: number;
  ratio: number;
}

const rows: Row[] = [];
function report(name: string, oursMs: number, peerMs: number): void {
  const row = { case: name, ours_ms: oursMs, peer: "jax-js (wasm, jit, all threads)", peer_ms: peerMs, ratio: peerMs / oursMs };
  rows.push(row);
  if (JSON_OUTPUT) console.log(JSON.stringify(row));
  else console.log(`${name.padEnd(44)} fwdgrad ${oursMs.toFixed(2).padStart(9)} ms   jax-js ${peerMs.toFixed(2).padStart(9)} ms   jax-js/fwdgrad ${(peerMs / oursMs).toFixed(2)}×`);
}

/** The MLP's parameters as [W1, b1, W2, b2, ...] values, the same for both libraries. */
function parameters(): Float32Array[] {
  const out: Float32Array[] = [];
  for (let l = 0; l + 1 < SIZES.length; l++) {
    const w = values(SIZES[l] * SIZES[l + 1], 10 + l).map((v) => v * Math.sqrt(2 / SIZES[l]));
    out.push(w, new Float32Array(SIZES[l + 1]));
  }
  return out;
}

function shapeOf(i: number): number[] {
  const l = i >> 1;
  return i % 2 === 0 ? [SIZES[l], SIZES[l + 1]] : [SIZES[l + 1]];
}

async function main(): Promise<void> {
  const devices = await init();
  const info = await ready();
  const header = `fwdgrad vs jax-js: deno ${Deno.version.deno}, fwdgrad ${info.threads} threads (${info.kernels}); jax-js devices ${devices.join(", ")}, ${navigator.hardwareConcurrency} cores`;
  if (JSON_OUTPUT) console.log(JSON.stringify({ header }));
  else console.log(`\n${header}\nmedian ms per call; jax-js/fwdgrad > 1 means fwdgrad is faster`);
  const want = (name: string) => name.includes(FILTER);

  if (want("matmul 512x512*512x512")) {
    const n = 512;
    const av = values(n * n, 1), bv = values(n * n, 2);
    const a = tensor(av, [n, n]), b = tensor(bv, [n, n]);
    const ja = np.array(av).reshape([n, n]), jb = np.array(bv).reshape([n, n]);
    const ours = timeMs(() => {
      const s = mark();
      matmul(a, b);
      release(s);
    });
    const peer = await timeMsAsync(async () => void (await np.matmul(ja.ref, jb.ref).data()));
    report("matmul 512x512*512x512", ours, peer);
  }

  const params = parameters();
  const xv = values(BATCH * SIZES[0], 3);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  const oneHot = new Float32Array(BATCH * 10);
  labels.forEach((c, i) => (oneHot[i * 10 + c] = 1));

  // fwdgrad: the loss of the MLP as a function of its parameters.
  const x = tensor(xv, [BATCH, SIZES[0]]);
  const ourParams = params.map((p, i) => tensor(p, shapeOf(i)));
  const ourLoss = (...ps: Tensor[]): Tensor => {
    let h = x;
    for (let l = 0; l < ps.length; l += 2) {
      const z = add(matmul(h, ps[l]), ps[l + 1]);
      h = l + 2 < ps.length ? relu(z) : z;
    }
    return mean(softmaxCrossEntropy(h, labels));
  };
  // jax-js: the same function, jit-compiled.
  const jx = np.array(xv).reshape([BATCH, SIZES[0]]);
  const jy = np.array(oneHot).reshape([BATCH, 10]);
  const jaxLoss = (ps: JaxArray[]): JaxArray => {
    let h = jx.ref;
    for (let l = 0; l < ps.length; l += 2) {
      const z = np.matmul(h, ps[l]).add(ps[l + 1]);
      h = l + 2 < ps.length ? np.maximum(z, 0) : z;
    }
    const shifted = h.ref.sub(np.max(h, -1, { keepdims: true }));
    const logSoftmax = shifted.ref.sub(np.log(np.sum(np.exp(shifted), -1, { keepdims: true })));
    return np.mean(np.sum(logSoftmax.mul(jy.ref), -1)).neg();
  };
  const jaxParams = () => params.map((p, i) => np.array(p).reshape(shapeOf(i)));
  const jp = jaxParams();

  for (const directions of [1, 8]) {
    const name = `MLP jvp ${directions} direction${directions > 1 ? "s" : ""} 40-512x3-10 batch ${BATCH}`;
    if (!want(name)) continue;
    const tangents = params.map((p, i) => tensor(values(directions * p.length, 100 + i), directions > 1 ? [directions, ...shapeOf(i)] : shapeOf(i)));
    const ours = timeMs(() => {
      const s = mark();
      jvp(ourLoss, ourParams, tangents);
      release(s);
    });
    const jt = params.map((p, i) => np.array(values(directions * p.length, 100 + i)).reshape(directions > 1 ? [directions, ...shapeOf(i)] : shapeOf(i)));
    const one = (t: JaxArray[]) => jaxJvp(jaxLoss, [jp.map((p) => p.ref)], [t])[1];
    const fn = jit(directions > 1 ? (t: JaxArray[]) => vmap(one)(t) : one);
    const peer = await timeMsAsync(async () => void (await fn(jt.map((t) => t.ref)).data()), { minSamples: 3 });
    report(directions > 1 ? `${name} (jax-js vmap(jvp))` : name, ours, peer);
    if (directions > 1) {
      // jax-js's vmap(jvp) is far slower here than one jvp per direction, so time that too.
      const single = jit(one);
      const slices = Array.from({ length: directions }, (_, d) => params.map((p, i) => np.array(values(directions * p.length, 100 + i).subarray(d * p.length, (d + 1) * p.length)).reshape(shapeOf(i))));
      const looped = await timeMsAsync(async () => {
        for (const t of slices) await single(t.map((a) => a.ref)).data();
      });
      report(`${name} (jax-js ${directions} jvp calls)`, ours, looped);
    }
  }

  const gradName = `exact gradient 40-512x3-10 batch ${BATCH}`;
  if (want(gradName)) {
    const model = createMlp(SIZES, { seed: 0 });
    const ours = timeMs(() => {
      const s = mark();
      backprop(model, x, labels);
      release(s);
    });
    const g = jit(grad(jaxLoss));
    const peer = await timeMsAsync(async () => {
      const grads = g(jp.map((p) => p.ref));
      for (const a of grads) await a.data();
    });
    report(gradName, ours, peer);
  }

  for (const [name, run] of [
    ["svd 256x256", (a: Tensor) => svd(a)],
    ["eigh 256x256", (a: Tensor) => eigh(matmul(a, a, { transB: true }))],
  ] as const) {
    if (!want(name)) continue;
    const n = 256;
    const av = values(n * n, 4);
    const a = tensor(av, [n, n]);
    const ours = timeMs(() => {
      const s = mark();
      run(a);
      release(s);
    }, { maxTime: 2, minSamples: 3 });
    const ja = np.array(av).reshape([n, n]);
    const peer = name.startsWith("svd")
      ? await timeMsAsync(async () => {
        const [u, s, vt] = np.linalg.svd(ja.ref);
        await u.data(), await s.data(), await vt.data();
      }, { maxTime: 2, minSamples: 3 })
      : await timeMsAsync(async () => {
        const sym = np.matmul(ja.ref, ja.ref.transpose());
        const [w, v] = np.linalg.eigh(sym);
        await w.data(), await v.data();
      }, { maxTime: 2, minSamples: 3 });
    report(name, ours, peer);
  }
  shutdown();
}

await main();
// jax-js has no call that stops its workers, and Deno stays alive while any worker exists.
Deno.exit(0);
