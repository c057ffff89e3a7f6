// Differentiation with JAX's contracts: jvp(f, primals, tangents) -> [outputs, output tangents], and
// reverse mode (linearize, vjp, grad) by transposing the recorded linear tangent program. Tangents
// ride on the tensors themselves (Tensor.dt), so f is ordinary code over the ops.
import { FwdgradError, fmt } from "./errors.ts";
import { apply, emit, recording, setRecorder, transposeEquation, type Equation } from "./prims.ts";
import { assertLive, empty, Tensor, tensor, view, zeros } from "./tensor.ts";

type Outputs = Tensor | readonly Tensor[];

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Evaluates `f(...primals)` and its directional derivatives along `tangents`, in one forward pass.
 *
 * Each tangent is null (a zero tangent), a tensor of its primal's shape (one direction), or of shape
 * `[D, ...primal.shape]` for D directions at once; then every output tangent has a leading D axis too.
 * Returns `[outputs, outputTangents]` in the structure `f` returned (one tensor or an array).
 * Tensors that `f` closes over count as constants. Nested `jvp` is not supported.
 * @throws {FwdgradError} when `f` is not a function, primals and tangents differ in number, a tangent's shape is neither its primal's nor [D, ...primal.shape] (or the D differ), a primal already carries a tangent (nested jvp), the call is inside linearize, vjp or grad, or a primal is a released tensor.
 * @example
 * ```ts
 * const x = tensor([1, 2, 3]);
 * const [y, dy] = jvp((v) => sum(mul(v, v)), [x], [tensor([1, 0, 0])]); // y = 14, dy = 2
 * const [, cols] = jvp((v) => mul(v, v), [x], [tensor([1,0,0, 0,1,0, 0,0,1], [3, 3])]); // Jacobian rows
 * ```
 */
export function jvp<R extends Outputs>(f: (...args: Tensor[]) => R, primals: readonly Tensor[], tangents: readonly (Tensor | null)[]): [R, R] {
  if (typeof f !== "function") throw new FwdgradError("jvp: f must be a function");
  if (recording()) throw new FwdgradError("jvp: not supported inside linearize, vjp or grad");
  if (!Array.isArray(primals) || !Array.isArray(tangents) || primals.length !== tangents.length) {
    throw new FwdgradError(`jvp: primals and tangents must be arrays of the same length`);
  }
  let directions: number | null = null;
  let stacked = false;
  primals.forEach((p, i) => {
    assertLive("jvp", p);
    if (p.dt) throw new FwdgradError("jvp: primal already carries a tangent; nested jvp is not supported");
    const t = tangents[i];
    if (t === null) return;
    assertLive("jvp", t);
    const many = t.rank === p.rank + 1 && sameShape(t.shape.slice(1), p.shape);
    if (!many && !sameShape(t.shape, p.shape)) {
      throw new FwdgradError(`jvp: tangent ${i} has shape ${fmt(t.shape)}; expected ${fmt(p.shape)} or [D, ...${fmt(p.shape)}]`);
    }
    const d = many ? t.shape[0] : 1;
    if (directions !== null && (many !== stacked || d !== directions)) {
      throw new FwdgradError(`jvp: tangent ${i} has shape ${fmt(t.shape)}, inconsistent with the directions of earlier tangents`);
    }
    directions = d;
    stacked = many;
  });
  const D: number = directions ?? 1;
  const inputs = primals.map((p, i) => {
    const x = view(p, p.shape);
    const t = tangents[i];
    x.dt = t && (stacked ? t : view(t, [1, ...t.shape]));
    return x;
  });
  const result = f(...inputs);
  const outs: readonly Tensor[] = Array.isArray(result) ? result : [result as Tensor];
  const values: Tensor[] = [];
  const derivs: Tensor[] = [];
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new FwdgradError(`jvp: f must return a Tensor or an array of Tensors (output ${i} is not)`);
    values.push(view(o, o.shape));
    // Without input tangents, directions come only from injected tangents (`inject`): keep their axis.
    const dshape = stacked ? [D, ...o.shape] : directions === null && o.dt ? o.dt.shape : o.shape;
    derivs.push(o.dt ? view(o.dt, dshape) : zeros(dshape));
  });
  return Array.isArray(result) ? [values as unknown as R, derivs as unknown as R] : [values[0] as R, derivs[0] as R];
}

// ---- Reverse mode by transposition (autodidax, part 4): linearize f once, recording only its
// linear tangent program, then walk that program backwards with each linear primitive's transpose
// rule. No second set of derivative rules exists; a new nonlinear primitive needs none.

/** A recorded linear program: the tangent map of f at its primals, as `linearize` leaves it. */
export interface LinearProgram {
  /** The tangents of f's inputs, in order: each [0, ...primal.shape], a variable of the program. */
  readonly inputs: readonly Tensor[];
  /** The tangents of f's outputs, in order; null where an output does not depend on the inputs. */
  readonly outputs: readonly (Tensor | null)[];
  /** The linear primitives applied, in order. */
  readonly equations: readonly Equation[];
}

function checkPrimals(op: string, f: unknown, primals: unknown): asserts primals is readonly Tensor[] {
  if (typeof f !== "function") throw new FwdgradError(`${op}: f must be a function`);
  if (!Array.isArray(primals)) throw new FwdgradError(`${op}: primals must be an array of Tensors`);
  primals.forEach((p) => {
    assertLive(op, p);
    if (p.dt) throw new FwdgradError(`${op}: primal already carries a tangent; nesting with jvp is not supported`);
  });
}

function outputsOf(op: string, result: unknown): Tensor[] {
  const outs = Array.isArray(result) ? result : [result];
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new FwdgradError(`${op}: f must return a Tensor or an array of Tensors (output ${i} is not)`);
  });
  return outs as Tensor[];
}

/**
 * Runs `f(...primals)` once and records its linear tangent program (JAX's `linearize`): the outputs,
 * and the program, whose tangents have zero directions while recording so that nothing but shapes is
 * computed. Use `applyLinear` to push tangents through it and `transposeLinear` to pull cotangents back.
 * Returns `[outputs, program]`.
 * @throws {FwdgradError} when called inside another linearize, vjp or grad, or a primal is a released tensor.
 * @example
 * ```ts
 * const [y, program] = linearize((v) => sum(mul(v, v)), [tensor([1, 2, 3])]);
 * const [dy] = applyLinear(program, [tensor([1, 0, 0], [1, 3])]); // [2]: shape [1], one direction
 * ```
 */
export function linearize<R extends Outputs>(f: (...args: Tensor[]) => R, primals: readonly Tensor[]): [R, LinearProgram] {
  checkPrimals("linearize", f, primals);
  if (recording()) throw new FwdgradError("linearize: already recording a linear program; nested linearize is not supported");
  const equations: Equation[] = [];
  const inputs = primals.map((p) => {
    const x = view(p, p.shape);
    x.dt = empty([0, ...p.shape]);
    return x;
  });
  // An inspector listening to primal applications keeps hearing them (engine/inspect.ts).
  const listener = setRecorder({ linearizing: true, linear: (eq) => equations.push(eq) });
  if (listener?.primal) setRecorder({ linearizing: true, linear: (eq) => equations.push(eq), primal: listener.primal });
  let result: R;
  try {
    result = f(...inputs);
  } finally {
    setRecorder(listener);
  }
  const outs = outputsOf("linearize", result);
  const values = outs.map((o) => view(o, o.shape));
  const program = { inputs: inputs.map((x) => x.dt!), outputs: outs.map((o) => o.dt), equations };
  return [(Array.isArray(result) ? values : values[0]) as R, program];
}

/** Cotangents [D, ...] summed where a variable is used twice (symbolic zeros stay null). */
function accumulate(into: Map<Tensor, Tensor>, variable: Tensor, ct: Tensor | null): void {
  if (!ct) return;
  const had = into.get(variable);
  into.set(variable, had ? emit("add", [had, ct], [true, true], {}) : ct);
}

/**
 * Transposes a linear program: from cotangents of its outputs ([D, ...outShape] each, null for zero),
 * the cotangents of its inputs (null where none reaches an input), and of any intermediate tangent
 * listed in `wanted` (e.g. a layer's pre-activation tangent, for per-example activation gradients).
 * Returns `{ inputs, wanted }`: the cotangents of the program's inputs and of the `wanted` variables.
 * @throws {FwdgradError} when the cotangents are not one per output, or a cotangent's shape is not [D, ...output shape].
 */
export function transposeLinear(
  program: LinearProgram,
  cotangents: readonly (Tensor | null)[],
  wanted: readonly Tensor[] = [],
): { inputs: (Tensor | null)[]; wanted: (Tensor | null)[] } {
  if (cotangents.length !== program.outputs.length) {
    throw new FwdgradError(`transpose: ${cotangents.length} cotangents for a program with ${program.outputs.length} outputs`);
  }
  const cts = new Map<Tensor, Tensor>();
  program.outputs.forEach((o, i) => o && accumulate(cts, o, cotangents[i]));
  const keep = new Set<Tensor>([...program.inputs, ...wanted]);
  const found = new Map<Tensor, Tensor>();
  for (let e = program.equations.length - 1; e >= 0; e--) {
    const eq = program.equations[e];
    const ct = cts.get(eq.out);
    if (!ct) continue;
    if (keep.has(eq.out)) found.set(eq.out, ct);
    cts.delete(eq.out);
    transposeEquation(eq, ct).forEach((c, i) => eq.linear[i] && accumulate(cts, eq.args[i], c));
  }
  return { inputs: program.inputs.map((x) => cts.get(x) ?? null), wanted: wanted.map((w) => found.get(w) ?? cts.get(w) ?? null) };
}

/**
 * Pushes tangents ([D, ...primal.shape] each, or null) through a recorded linear program.
 * Returns one tangent per output of the program (null for a symbolic zero).
 * @throws {FwdgradError} when the tangents are not one per input of the program, or a shape does not match.
 */
export function applyLinear(program: LinearProgram, tangents: readonly (Tensor | null)[]): (Tensor | null)[] {
  if (tangents.length !== program.inputs.length) {
    throw new FwdgradError(`linear program: ${tangents.length} tangents for ${program.inputs.length} inputs`);
  }
  const values = new Map<Tensor, Tensor>();
  program.inputs.forEach((x, i) => tangents[i] && values.set(x, tangents[i]!));
  const directions = tangents.find((t) => t)?.shape[0] ?? 0;
  for (const eq of program.equations) {
    const args = eq.args.map((a, i) => (eq.linear[i] ? values.get(a) ?? null : a));
    if (args.every((a, i) => !eq.linear[i] || a === null)) continue;
    // Only additions have two linear inputs; a missing one is a zero of its shape.
    const filled = args.map((a, i) => a ?? zeros([directions, ...eq.args[i].shape.slice(1)]));
    values.set(eq.out, emit(eq.name, filled, eq.linear, eq.attrs as never));
  }
  return program.outputs.map((o) => (o ? values.get(o) ?? null : null));
}

/**
 * Reverse mode (JAX's `vjp`): `[outputs, pullback]`, where `pullback(cotangents)` takes one cotangent
 * per output (its shape, or null for zero) and returns the cotangent of every primal (zeros where f
 * does not depend on it). Derived by transposing f's linearization.
 * @throws {FwdgradError} as `linearize` does; the pullback throws when the cotangents are not one per output or a cotangent's shape is not its output's.
 * @example
 * ```ts
 * const [y, pullback] = vjp((a, b) => sum(mul(a, b)), [tensor([1, 2]), tensor([3, 4])]);
 * const [da, db] = pullback([tensor([1], [])]); // da = [3, 4], db = [1, 2]
 * ```
 */
export function vjp<R extends Outputs>(f: (...args: Tensor[]) => R, primals: readonly Tensor[]): [R, (cotangents: Tensor | readonly (Tensor | null)[]) => Tensor[]] {
  const [outputs, program] = linearize(f, primals);
  const outs: readonly Tensor[] = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const pullback = (cotangents: Tensor | readonly (Tensor | null)[]): Tensor[] => {
    const list = cotangents instanceof Tensor ? [cotangents] : cotangents;
    if (!Array.isArray(list) || list.length !== outs.length) {
      throw new FwdgradError(`vjp: pullback takes ${outs.length} cotangent(s), one per output, got ${Array.isArray(list) ? list.length : typeof list}`);
    }
    const cts = list.map((c, i) => {
      if (c === null) return null;
      assertLive("vjp", c);
      if (!sameShape(c.shape, outs[i].shape)) throw new FwdgradError(`vjp: cotangent ${i} has shape ${fmt(c.shape)}; output ${i} is ${fmt(outs[i].shape)}`);
      return view(c, [1, ...c.shape]);
    });
    const { inputs } = transposeLinear(program, cts);
    return inputs.map((ct, i) => (ct ? view(ct, primals[i].shape) : zeros(primals[i].shape)));
  };
  return [outputs, pullback];
}

/**
 * The gradient of a scalar-valued f (one value, any shape of size 1), by reverse mode: with respect to
 * argument `argnums` (default 0), or each of several when it is an array (as JAX's `grad`).
 * Returns a function of the primals returning the gradient (one tensor), or an array of them when `argnums` is an array.
 * @throws {FwdgradError} (from the returned function) when an argnum is out of range or `f` does not return a single value.
 * @example
 * ```ts
 * const dx = grad((x) => sum(mul(x, x)))(tensor([1, 2, 3])) as Tensor; // [2, 4, 6]
 * const [dw, db] = grad(loss, { argnums: [1, 2] })(x, w, b) as Tensor[];
 * ```
 */
export function grad(f: (...args: Tensor[]) => Tensor, options: { argnums?: number | readonly number[] } = {}): (...primals: Tensor[]) => Tensor | Tensor[] {
  const argnums = options.argnums ?? 0;
  const wanted = typeof argnums === "number" ? [argnums] : argnums;
  return (...primals) => {
    wanted.forEach((a) => {
      if (!Number.isInteger(a) || a < 0 || a >= primals.length) throw new FwdgradError(`grad: argnums ${a} is out of range for ${primals.length} argument(s)`);
    });
    const [y, pullback] = vjp(f, primals);
    if (!(y instanceof Tensor) || y.size !== 1) throw new FwdgradError(`grad: f must return a single value (a tensor of size 1), got ${y instanceof Tensor ? fmt(y.shape) : "an array"}`);
    const all = pullback([tensor([1], y.shape)]);
    return typeof argnums === "number" ? all[argnums] : wanted.map((a) => all[a]);
  };
}

/**
 * Inside `jvp`: `x`, whose tangent gains `tangent` ([D, ...x.shape], D the pass's directions), so an
 * estimator can add its guesses at a point of one forward-mode pass. The value is `x` itself.
 * @throws {FwdgradError} when `tangent` is not [D, ...x.shape] or carries a tangent itself, its D differs from the pass's, the call is under linearize, vjp or grad, or a tensor is released.
 * @example
 * ```ts
 * jvp((w) => sum(inject(matmul(x, w), guesses)), [w], [null]); // the guesses alone drive the tangent
 * ```
 */
export function inject(x: Tensor, tangent: Tensor): Tensor {
  assertLive("inject", x);
  assertLive("inject", tangent);
  if (recording()) throw new FwdgradError("inject: a given tangent makes the pass affine, not linear; inject only inside jvp, not under linearize, vjp or grad");
  if (tangent.dt) throw new FwdgradError("inject: the injected tangent must not carry a tangent itself");
  if (tangent.rank !== x.rank + 1 || !sameShape(tangent.shape.slice(1), x.shape)) {
    throw new FwdgradError(`inject: tangent has shape ${fmt(tangent.shape)}; expected [D, ...${fmt(x.shape)}]`);
  }
  if (x.dt && x.dt.shape[0] !== tangent.shape[0]) {
    throw new FwdgradError(`inject: tangent has ${tangent.shape[0]} directions, the pass ${x.dt.shape[0]}`);
  }
  const carrier = view(x, x.shape);
  carrier.dt = tangent;
  return apply("inject", [x, carrier], {});
}

/**
 * `x`'s value without its tangent (JAX's `stop_gradient`): a constant to every derivative after it.
 * @throws {FwdgradError} when `x` is a released tensor.
 * @example
 * ```ts
 * jvp((v) => mul(v, stopGradient(v)), [x], [dx]); // tangent x·dx, not 2x·dx
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  assertLive("stopGradient", x);
  return view(x, x.shape);
}

/**
 * Under `linearize`: the program variable that holds `x`'s tangent (null when x does not depend on
 * the inputs), to name in `transposeLinear`'s `wanted` for the cotangent at that point of f.
 * @throws {FwdgradError} when called outside `linearize`, or `x` is a released tensor.
 * @example
 * ```ts
 * let site: Tensor | null = null;
 * const [, program] = linearize((w) => { const s = matmul(x, w); site = tangentVariable(s); return sum(relu(s)); }, [w]);
 * const { wanted } = transposeLinear(program, [tensor([1], [1])], [site!]); // ∂L/∂s
 * ```
 */
export function tangentVariable(x: Tensor): Tensor | null {
  assertLive("tangentVariable", x);
  if (!recording()) throw new FwdgradError("tangentVariable: only under linearize (outside it tangents are values, not program variables)");
  return x.dt;
}
