// Options declared once: every estimator's table is well formed (each default passes its own check,
// every row has a doc line), and resolution refuses what a table does not declare, checks ranges and
// kinds, and fills defaults, rule defaults included.
import { createEstimator, ESTIMATORS, methodOptions, METHOD_IDS, sharedOptions } from "../../index.ts";
import { checkOption, describeDefault, describeRange, resolveOptions, type OptionTable } from "../../estimators/options.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Options = suite("estimator options");

Options("every estimator's table is well formed, and every method has one", () => {
  for (const id of METHOD_IDS) {
    const table = methodOptions(id);
    for (const [name, spec] of Object.entries(table)) {
      assert.ok(spec.doc.length > 10 && !spec.doc.includes("\n"), `${id}.${name}: one line of doc`);
      if (spec.kind === "choice") assert.ok(spec.choices && spec.choices.length > 1, `${id}.${name}: choices`);
      assert.ok(describeRange(spec).length > 0 && describeDefault(spec).length > 0);
    }
    // The defaults resolve and pass their own checks.
    const resolved = resolveOptions(id, table, {});
    for (const [name, value] of Object.entries(resolved)) checkOption(id, name, table[name], value);
  }
  assert.equal(Object.keys(methodOptions("backprop")), []);
  for (const id of Object.keys(ESTIMATORS)) assert.equal(Object.keys(methodOptions(id)).slice(0, 2), ["guesses", "combine"], `${id}: the common options first`);
});

Options("resolution: defaults, rule defaults, refusals and ranges", () => {
  const wperp = methodOptions("wperp");
  assert.is(resolveOptions("wperp", wperp, {}).maxIter, 100);
  assert.is(resolveOptions("wperp", wperp, { route: "exact" }).maxIter, 1000, "maxIter's default follows the route");
  assert.is(resolveOptions("wperp", wperp, { route: "exact", maxIter: 7 }).maxIter, 7);
  assert.is(resolveOptions("wperp", wperp, { k: undefined }).k, 10, "undefined counts as absent");
  assertFwdgradError(() => resolveOptions("wperp", wperp, { k: 2.5 }), /^wperp: k must be an integer ≥ 1, got 2\.5$/);
  assertFwdgradError(() => resolveOptions("wperp", wperp, { tol: 0 }), /^wperp: tol must be a number in \(0, 1\), got 0$/);
  assertFwdgradError(() => resolveOptions("wperp", wperp, { tol: "0.1" }), /^wperp: tol must be a number in \(0, 1\), got "0\.1"$/);
  assertFwdgradError(() => resolveOptions("wperp", wperp, { route: 1 }), /^wperp: route must be one of "fast", "exact", got 1$/);
  assertFwdgradError(() => resolveOptions("wperp", wperp, { kk: 1 }), /^wperp takes no option "kk"; its options: guesses, combine, passes, k, route/);
  assertFwdgradError(() => resolveOptions("wperp", wperp, [1]), /^wperp: options must be an object, got an array$/);
  const table: OptionTable = { n: { kind: "number", default: 1, max: 2, openMax: true, doc: "a test option of this suite" } };
  assertFwdgradError(() => resolveOptions("t", table, { n: 2 }), /^t: n must be a number < 2, got 2$/);
  assertFwdgradError(() => resolveOptions("t", table, { n: Infinity }), /^t: n must be a number < 2, got Infinity$/);
});

Options("quality and training make the same estimator from the same table: wp's route defaults to exact everywhere", () => {
  assert.is(resolveOptions("wp", methodOptions("wp"), {}).route, "exact");
  assertFwdgradError(() => createEstimator("forward-gradient", { route: "fast" }), /^forward-gradient takes no option "route"; its options: guesses, combine, passes, tangents, output$/);
});

Options("options shared by methods side by side: each takes its own, one that none takes is refused", () => {
  const forMethod = sharedOptions(["wt", "wperp", "backprop"], { k: 4, guesses: 2 });
  assert.equal(forMethod("wt"), { guesses: 2 });
  assert.equal(forMethod("wperp"), { k: 4, guesses: 2 });
  assert.equal(forMethod("backprop"), {});
  assertFwdgradError(() => sharedOptions(["wt", "backprop"], { k: 4 }), /^option "k": none of wt, backprop takes it$/);
});

Options.run();
