// The training service (`serveTraining`) through an in-memory endpoint, no worker needed: resume
// never starts a second epoch loop, start→reset cycles leave the heap flat, and messages that are
// not TrainingMessages are answered with an error event while the service keeps working.
import { heapBytes, serveTraining, type TrainingEvent, type TrainingSettings } from "../../index.ts";
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
    [{}, /^training: unknown message type undefined; known: start, compare, pause, resume, reset$/],
    [{ type: "launch" }, /unknown message type "launch"/],
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

Worker.run();
