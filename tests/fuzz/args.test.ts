// Property-based fuzzing of the CLI's flag parser against the real command specs (Node only,
// fast-check): arbitrary argv arrays either parse into values that honour every spec (kind, bounds,
// choices, defaults) or fail with a UsageError; any other exception is a bug.
import fc from "fast-check";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseFlags, UsageError, type Flags, type FlagSpec } from "../../cli/args.ts";
import { COMMANDS } from "../../cli/fwdgrad.ts";
import { FwdgradError } from "../../engine/errors.ts";
import { COMBINES, isMethodId, MAX_GUESSES, METHOD_IDS, parseMethodSpec } from "../../estimators/index.ts";

const Fuzz = suite("fuzz: flag parser");
const RUNS = 2500;

const DECIMAL_INTEGER = /^[+-]?\d+$/;
const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Values in every spelling a user or a script might pass, good and bad. */
const value = fc.oneof(
  fc.integer({ min: -3, max: 600 }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.double().map(String),
  fc.double({ min: 1e-12, max: 1e3, noNaN: true }).map((v) => v.toExponential(2)),
  fc.constantFrom("", " ", "0x10", "0o7", "0b1", "1e1", "1e400", "1e-400", "-0", "+8", "8.", ".5", "1_0", " 8", "8 ", "Infinity", "NaN", "fast", "exact", "slow", "wt", "mnist1d", "table1", "٨", "--", "-1"),
  fc.string({ maxLength: 6 }),
);

/** Tokens for one command: its flags in both forms, unknown and prototype-named flags, values. */
function tokens(specs: Record<string, FlagSpec>): fc.Arbitrary<string> {
  const names = Object.keys(specs);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names).map((name) => `--${name}`) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...names), value).map(([name, v]) => `--${name}=${v}`) },
    { weight: 4, arbitrary: value },
    { weight: 1, arbitrary: fc.constantFrom("--", "---", "--nope", "--__proto__", "--toString", "--constructor", "--hasOwnProperty", "-x", "--help=1", "--WIDTH") },
  );
}

/** Everything a successful parse promises about its flags. */
function checkParsed(argv: string[], specs: Record<string, FlagSpec>, flags: Flags, positional: string[]): void {
  assert.is(Object.getPrototypeOf(flags), Object.prototype, "the flags object keeps its prototype");
  for (const name of Object.keys(flags)) assert.ok(Object.hasOwn(specs, name), `--${name} is not a declared flag`);
  for (const p of positional) assert.not.ok(p.startsWith("--"), `positional ${p} looks like a flag`);
  for (const [name, spec] of Object.entries(specs)) {
    const v = flags[name];
    const given = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (!given) assert.is(v, spec.default, `--${name} not given: its default`);
    if (v === undefined) continue;
    if (spec.kind === "boolean") assert.is(v, true, `--${name}`);
    else if (spec.kind === "pairs") {
      // Repeatable name=value pairs, in the order given, one per occurrence.
      assert.ok(Array.isArray(v), `--${name} is a list`);
      const occurrences = argv.filter((a) => a === `--${name}` || a.startsWith(`--${name}=`)).length;
      assert.is((v as string[]).length, occurrences, `--${name}: one pair per occurrence`);
      for (const pair of v as string[]) assert.ok(/^[A-Za-z][A-Za-z0-9]*=./.test(pair), `--${name} ${JSON.stringify(pair)} is not name=value`);
    } else if (spec.kind === "string") {
      assert.type(v, "string");
      assert.ok((v as string).length > 0, `--${name} is empty`);
      if (spec.choices) assert.ok(spec.choices.includes(v as string), `--${name} ${v} is not a choice`);
    } else {
      assert.type(v, "number");
      const n = v as number;
      assert.ok(spec.kind === "int" ? Number.isSafeInteger(n) : Number.isFinite(n), `--${name} ${n}`);
      assert.not.ok(Object.is(n, -0), `--${name} is -0`);
      if (spec.min !== undefined) assert.ok(n >= spec.min, `--${name} ${n} < ${spec.min}`);
      if (spec.max !== undefined) assert.ok(n <= spec.max, `--${name} ${n} > ${spec.max}`);
      if (spec.greaterThan !== undefined) assert.ok(n > spec.greaterThan, `--${name} ${n} ≤ ${spec.greaterThan}`);
    }
  }
  // Each flag appears once, so an accepted --name=raw is the value itself: plain decimal.
  for (const arg of argv) {
    const eq = arg.indexOf("=");
    if (!arg.startsWith("--") || eq < 0) continue;
    const name = arg.slice(2, eq), raw = arg.slice(eq + 1);
    const spec = specs[name];
    if (spec.kind === "int" || spec.kind === "number") {
      assert.ok((spec.kind === "int" ? DECIMAL_INTEGER : DECIMAL_NUMBER).test(raw), `--${name}=${raw} accepted`);
      assert.is(flags[name], Number(raw) + 0, `--${name}=${raw}`);
    } else if (spec.kind === "string") assert.is(flags[name], raw);
  }
}

function parsesOrRefuses(argv: string[], specs: Record<string, FlagSpec>): void {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, specs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw new Error(`not a UsageError: ${String(error)}`);
    return;
  }
  checkParsed(argv, specs, parsed.flags, parsed.positional);
}

Fuzz("every command's flags: arbitrary argv parse within the specs or fail with a UsageError", () => {
  const started = performance.now();
  let cases = 0;
  // A find of this test's (seed 102658646): accepted name=value pairs, which the checker once took for numbers.
  parsesOrRefuses(["--option=A= ", "--option", "tol=0.03"], COMMANDS.train.flags);
  for (const command of Object.values(COMMANDS)) {
    fc.assert(fc.property(fc.array(tokens(command.flags), { maxLength: 10 }), (argv) => parsesOrRefuses(argv, command.flags)), { numRuns: RUNS });
    fc.assert(fc.property(fc.array(fc.string({ unit: "binary", maxLength: 12 }), { maxLength: 6 }), (argv) => parsesOrRefuses(argv, command.flags)), { numRuns: RUNS });
    cases += 2 * RUNS;
  }
  console.log(`  parseFlags: ${cases} cases over ${Object.keys(COMMANDS).length} commands in ${((performance.now() - started) / 1000).toFixed(2)} s`);
});

Fuzz("well-formed argv always parse", () => {
  const started = performance.now();
  const specs = COMMANDS.train.flags;
  const goodArgv = fc
    .record({
      width: fc.integer({ min: 1, max: 4096 }),
      depth: fc.integer({ min: 1, max: 10 }),
      lr: fc.double({ min: 1e-8, max: 1, noNaN: true }),
      seed: fc.nat(),
      json: fc.boolean(),
      equals: fc.boolean(),
    })
    .map(({ width, depth, lr, seed, json, equals }) => {
      const pairs: Array<[string, string]> = [["method", "wt"], ["width", String(width)], ["depth", String(depth)], ["lr", lr.toExponential()], ["seed", String(seed)]];
      return [...pairs.flatMap(([k, v]) => (equals ? [`--${k}=${v}`] : [`--${k}`, v])), ...(json ? ["--json"] : [])];
    });
  fc.assert(fc.property(goodArgv, (argv) => {
    const { flags, positional } = parseFlags(argv, specs);
    assert.equal(positional, []);
    checkParsed(argv, specs, flags, positional);
  }), { numRuns: 10_000 });
  console.log(`  parseFlags (well-formed train argv): 10000 cases in ${((performance.now() - started) / 1000).toFixed(2)} s`);
});

Fuzz.run();

const SpecFuzz = suite("fuzz: method entries");

/** Entries in every spelling: valid ids and options in any order, near misses, junk. */
const entry = fc.oneof(
  fc.tuple(
    fc.constantFrom(...METHOD_IDS, "", "wperp ", "WT", "toString", "__proto__"),
    fc.array(fc.oneof(fc.constantFrom("mean", "project", "Project", "", "0", "1", "10", "1024", "1025", "-1", "1e1", "+3", " 3", "0x10"), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  ).map(([id, options]) => [id, ...options].join(":")),
  fc.string({ maxLength: 12 }),
);

SpecFuzz("an entry parses to a known method with at most one combination and one count in range, or fails with a FwdgradError", () => {
  fc.assert(fc.property(entry, (text) => {
    let spec;
    try {
      spec = parseMethodSpec(text);
    } catch (error) {
      assert.instance(error, FwdgradError, `${JSON.stringify(text)}: ${String(error)}`);
      assert.not.match((error as Error).message, /\n/);
      return;
    }
    const [id, ...options] = text.split(":");
    assert.is(spec.label, text);
    assert.is(spec.method, id);
    assert.ok(isMethodId(id));
    assert.ok(options.length <= 2 && (id !== "backprop" || options.length === 0), text);
    assert.ok(spec.combine === undefined || COMBINES.includes(spec.combine));
    assert.ok(spec.guesses === undefined || (Number.isInteger(spec.guesses) && spec.guesses >= 1 && spec.guesses <= MAX_GUESSES));
    assert.is(options.length, Number(spec.combine !== undefined) + Number(spec.guesses !== undefined), `${text}: every option used once`);
    assert.equal(options.map((o) => (COMBINES.includes(o as never) ? o : Number(o))).sort(), [spec.combine, spec.guesses].filter((v) => v !== undefined).sort());
  }), { numRuns: RUNS });
});

SpecFuzz.run();
