// The training service (`serveTraining`) through an in-memory endpoint, no worker needed: resume
// never starts a second epoch loop, start→reset cycles leave the heap flat, and messages that are
// not TrainingMessages are answered with an error event while the service keeps working; a CSV
// file's rows replace MNIST-1D as the CLI reads them, and its parse error is the parser's line.
import { heapBytes, loadWeights, parseCsvSplit, serveTraining, type Mlp, type TrainingEvent, type TrainingSettings } from "../../index.ts";
import { checkCsvSize, MAX_CSV_BYTES } from "../../train/worker.ts";
import { hashArrays } from "../../train/trainer.ts";
import { assert, suite } from "../harness.ts";

const Worker = suite("training service");

const SETTINGS: TrainingSettings = { method: "wt", width: 8, depth: 2, epochs: 3, lr: 1e-3, seed: 0 };

/** One service on an endpoint whose messages go straight to its handler, and its events. */
function inMemoryService() {
  const events: TrainingEvent[] = [];
  let handler: ((message: unknown) => void) | null = null;
  let wake: (() => void) | null = null;
  serveTraining({
    postMessage: (event) => {
      events.push(event);
      wake?.();
    },
    onMessage: (h) => (handler = h),
  });
  const send = (message: unknown) => handler!(message);
  /** Resolves with the first event from index `from` on that satisfies `test` (30 s at most). */
  const next = async (test: (e: TrainingEvent) => boolean, from = 0): Promise<TrainingEvent> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = events.slice(from).find(test);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event in 30 s; got ${events.slice(from).map((e) => e.type).join(", ")}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  /** Lets the service run for a few turns, so a stray epoch loop would show. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
  return { events, send, next, settle };
}

const service = inMemoryService();
const is = <T extends TrainingEvent["type"]>(type: T) => (e: TrainingEvent): e is Extract<TrainingEvent, { type: T }> => e.type === type;

/** Starts a run, optionally sends more messages in the same turn, and returns the run's events once done. */
async function runToDone(...then: unknown[]): Promise<TrainingEvent[]> {
  const from = service.events.length;
  service.send({ type: "start", settings: SETTINGS });
  for (const message of then) service.send(message);
  await service.next(is("done"), from);
  await service.settle();
  return service.events.slice(from);
}

const dones = (events: TrainingEvent[]) => events.filter(is("done"));

Worker("an undisturbed run and runs sent resume, pause+resume or resume twice give one identical done", async () => {
  await service.next(is("ready"));
  const plain = await runToDone();
  assert.is(dones(plain).length, 1);
  assert.is(plain.filter(is("epoch")).length, SETTINGS.epochs);
  const hash = dones(plain)[0].weightsHash;
  for (const extra of [[{ type: "resume" }], [{ type: "pause" }, { type: "resume" }], [{ type: "pause" }, { type: "resume" }, { type: "resume" }]]) {
    const events = await runToDone(...extra);
    const label = extra.map((m) => m.type).join("+");
    assert.equal(dones(events).map((e) => e.weightsHash), [hash], `${label}: one done, same weights`);
    assert.equal(events.filter(is("epoch")).map((e) => e.report.epoch), [1, 2, 3], `${label}: epochs once each`);
  }
  // Paused across turns, then resumed: still the same run.
  const from = service.events.length;
  service.send({ type: "start", settings: SETTINGS });
  await service.next(is("epoch"), from);
  service.send({ type: "pause" });
  await service.settle();
  const pausedAt = service.events.filter(is("epoch")).length;
  await service.settle();
  assert.is(service.events.filter(is("epoch")).length, pausedAt, "no epoch while paused");
  service.send({ type: "resume" });
  service.send({ type: "resume" });
  await service.next(is("done"), from);
  await service.settle();
  assert.equal(dones(service.events.slice(from)).map((e) => e.weightsHash), [hash]);
  // Resume after the run finished does not train on.
  const after = service.events.length;
  service.send({ type: "pause" });
  service.send({ type: "resume" });
  await service.settle();
  assert.is(service.events.length, after);
});

Worker("start→reset cycles leave the heap flat", async () => {
  service.send({ type: "reset" });
  const baseline = heapBytes();
  for (let i = 0; i < 20; i++) {
    service.send({ type: "start", settings: { ...SETTINGS, width: 64 } });
    assert.ok(heapBytes() > baseline, "the run's model is on the heap");
    service.send({ type: "reset" });
    assert.is(heapBytes(), baseline, `cycle ${i + 1}`);
  }
  // Also after epochs ran, after a start replaced a running one, and after a failed start.
  for (let i = 0; i < 3; i++) {
    const from = service.events.length;
    service.send({ type: "start", settings: { ...SETTINGS, width: 64 } });
    await service.next(is("epoch"), from);
    service.send({ type: "start", settings: SETTINGS });
    service.send({ type: "start", settings: { ...SETTINGS, width: 0 } });
    service.send({ type: "reset" });
    assert.is(heapBytes(), baseline, `cycle with epochs ${i + 1}`);
  }
  await service.settle();
  assert.is(heapBytes(), baseline);
});

Worker("messages that are not TrainingMessages get an error event; the service keeps working", async () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /^training: expected a message object with a type, got null$/],
    [undefined, /got undefined$/],
    [42, /got number$/],
    ["start", /got string$/],
    [[{ type: "start" }], /got an array$/],
    [{}, /^training: unknown message type undefined; known: start, compare, pause, resume, reset, csv, mnist1d, weights$/],
    [{ type: "launch" }, /unknown message type "launch"/],
    [{ type: "csv", csv: "1,0" }, /^training: csv needs name, the file's name/],
    [{ type: "csv", name: "a.csv", csv: 42 }, /^training: csv needs csv, the file's text or a Blob/],
    [{ type: "csv", name: "a.csv", csv: "a,b\n" }, /^a.csv: no data rows after the header on line 1$/],
    [{ type: 7 }, /unknown message type 7/],
    [{ type: "start" }, /^training: start needs settings \(an object\), got undefined$/],
    [{ type: "start", settings: null }, /got null$/],
    [{ type: "start", settings: "wt" }, /got string$/],
    [{ type: "start", settings: [] }, /got an array$/],
    [{ type: "start", settings: {} }, /^train: width must be an integer ≥ 1, got undefined$/],
    [{ type: "start", settings: { ...SETTINGS, method: "magic" } }, /magic/],
    [{ type: "start", settings: { ...SETTINGS, lr: "fast" } }, /lr must be a positive number/],
    [{ type: "start", settings: { ...SETTINGS, batch: 1e9 } }, /batch/],
    [{ type: "compare", settings: SETTINGS }, /^training: compare needs methods, a list of 1 to 8 method entries \(strings\)$/],
    [{ type: "compare", settings: SETTINGS, methods: [] }, /compare needs methods/],
    [{ type: "compare", settings: SETTINGS, methods: ["wt", 3] }, /compare needs methods/],
    [{ type: "compare", settings: SETTINGS, methods: Array(9).fill("wt") }, /compare needs methods/],
    [{ type: "compare", settings: SETTINGS, methods: ["wt", "wt"] }, /^training: compare names "wt" twice$/],
    [{ type: "compare", settings: SETTINGS, methods: ["wt", "wt:sum"] }, /method entry "wt:sum": "sum" is not a combination/],
    [{ type: "compare", settings: SETTINGS, methods: ["backprop:project"] }, /backprop draws no guesses/],
    [{ type: "compare", settings: null, methods: ["wt"] }, /^training: compare needs settings/],
  ];
  const baseline = heapBytes();
  for (const [message, pattern] of cases) {
    const from = service.events.length;
    service.send(message);
    const got = service.events.slice(from);
    assert.is(got.length, 1, `${JSON.stringify(message)}: one event`);
    assert.is(got[0].type, "error", `${JSON.stringify(message)}: ${JSON.stringify(got[0])}`);
    const text = (got[0] as { message: string }).message;
    assert.match(text, pattern);
    assert.not.match(text, /\n/, "one line");
  }
  assert.is(heapBytes(), baseline, "failed starts leave nothing on the heap");
  const events = await runToDone();
  assert.is(dones(events).length, 1);
  assert.is(events.filter(is("error")).length, 0);
  service.send({ type: "reset" });
});

Worker("compare trains each method in turn on the same data, initialisation and batches: each run ends as it would alone", async () => {
  service.send({ type: "reset" });
  const alone = new Map<string, string>();
  for (const [label, settings] of [["wt", SETTINGS], ["wt:project:3", { ...SETTINGS, guesses: 3, combine: "project" as const }], ["backprop", { ...SETTINGS, method: "backprop" }]] as const) {
    const from = service.events.length;
    service.send({ type: "start", settings });
    await service.next(is("done"), from);
    alone.set(label, dones(service.events.slice(from))[0].weightsHash);
  }
  service.send({ type: "reset" });
  const baseline = heapBytes();
  const from = service.events.length;
  service.send({ type: "compare", settings: SETTINGS, methods: ["wt", "wt:project:3", "backprop"] });
  for (let run = 0; run < 3; run++) await service.next((e) => e.type === "done" && e.run === run, from);
  await service.settle();
  const events = service.events.slice(from);
  assert.equal(dones(events).map((e) => [e.run, e.label, e.weightsHash]), [...alone].map(([label, hash], run) => [run, label, hash]));
  const epochs = events.filter(is("epoch"));
  assert.equal(epochs.map((e) => `${e.run}:${e.report.epoch}`), ["0:1", "1:1", "2:1", "0:2", "1:2", "2:2", "0:3", "1:3", "2:3"], "one epoch of each in turn");
  assert.ok(events.filter(is("quality")).every((e) => e.run !== 2), "no quality for backprop");
  service.send({ type: "reset" });
  assert.is(heapBytes(), baseline, "reset frees every compared run");
});

Worker("csv: a file's rows (text or a Blob) replace MNIST-1D, split 80/20; a bad file keeps the data and says what the CLI says", async () => {
  service.send({ type: "reset" });
  const baseline = heapBytes();
  // 3 classes in 2 features, 20 rows after a header: 16 train, 4 test.
  const rows = Array.from({ length: 20 }, (_, i) => `${i % 3},${(i * 7) % 5},${i % 3}`);
  const text = `x,y,label\n${rows.join("\n")}\n`;
  let from = service.events.length;
  service.send({ type: "csv", name: "tiny.csv", csv: text });
  assert.equal(await service.next(is("dataset"), from), { type: "dataset", name: "tiny.csv", train: 16, test: 4, features: 2, classes: 3 });
  // A Blob is read in the service; a start sent meanwhile waits for it, and trains on its rows (batch: the 16 when fewer than 512).
  from = service.events.length;
  service.send({ type: "csv", name: "blob.csv", csv: new Blob([text.replace("x,y,label\n", "")]) });
  service.send({ type: "start", settings: SETTINGS });
  assert.equal(await service.next(is("dataset"), from), { type: "dataset", name: "blob.csv", train: 16, test: 4, features: 2, classes: 3 });
  await service.next(is("done"), from);
  const examples = service.events.slice(from).filter(is("examples")).at(-1)!;
  assert.equal(examples.signals.map((s) => s.length), [2, 2, 2, 2], "the 4 test rows, 2 features each");
  assert.equal(service.events.slice(from).filter(is("epoch")).map((e) => e.steps), [1, 2, 3], "one step per epoch");
  // A malformed file: the parser's error; the data stay.
  const bad = `x,y,label\n1,2,0\n1,oops,1\n`;
  let expected = "";
  try {
    parseCsvSplit("bad.csv", bad);
  } catch (error) {
    expected = (error as Error).message;
  }
  assert.is(expected, 'bad.csv: line 3, column 2 is "oops", not a finite float32 number');
  for (const csv of [bad, new Blob([bad])]) {
    from = service.events.length;
    service.send({ type: "csv", name: "bad.csv", csv });
    assert.is((await service.next(is("error"), from) as { message: string }).message, expected);
  }
  from = service.events.length;
  service.send({ type: "csv", name: "one.csv", csv: "1,0\n" });
  assert.match((await service.next(is("error"), from) as { message: string }).message, "one.csv: 1 data row cannot be split 80/20");
  from = service.events.length;
  service.send({ type: "csv", csv: text });
  assert.match((await service.next(is("error"), from) as { message: string }).message, "training: csv needs name");
  assert.throws(() => checkCsvSize("huge.csv", MAX_CSV_BYTES + 1), (e: Error) => e.message === "huge.csv: 268435457 bytes is too large for CSV (at most 268435456 bytes, 256 MiB)");
  checkCsvSize("fits.csv", MAX_CSV_BYTES);
  from = service.events.length;
  service.send({ type: "start", settings: { ...SETTINGS, epochs: 1 } });
  await service.next(is("done"), from);
  assert.is(service.events.slice(from).filter(is("examples"))[0].signals[0].length, 2, "still blob.csv");
  // Back to MNIST-1D; swapping the data frees the run's tensors.
  from = service.events.length;
  service.send({ type: "start", settings: { ...SETTINGS, epochs: 100 } });
  service.send({ type: "mnist1d" });
  assert.equal(await service.next(is("dataset"), from), { type: "dataset", name: "MNIST-1D", train: 4000, test: 1000, features: 40, classes: 10 });
  assert.is(heapBytes(), baseline, "the run stopped and its tensors are free");
});

Worker("weights: a run's model as a safetensors file that loads back to the run's weights; none before a start", async () => {
  const fresh = inMemoryService();
  await fresh.next(is("ready"));
  fresh.send({ type: "weights", run: 0 });
  const refused = await fresh.next(is("error"));
  assert.match((refused as { message: string }).message, /no run 0 to save the weights of; start one first/);
  const from = fresh.events.length;
  fresh.send({ type: "start", settings: SETTINGS });
  const done = (await fresh.next(is("done"), from)) as Extract<TrainingEvent, { type: "done" }>;
  fresh.send({ type: "weights", run: 0 });
  const file = (await fresh.next(is("weights"), from)) as Extract<TrainingEvent, { type: "weights" }>;
  assert.is(file.epoch, SETTINGS.epochs);
  const model = loadWeights(file.bytes) as Mlp;
  assert.is(hashArrays(model.layers.map((layer) => layer.w.toArray())), done.weightsHash, "the file holds the run's final weights");
  fresh.send({ type: "reset" });
  await fresh.settle();
});

Worker.run();
