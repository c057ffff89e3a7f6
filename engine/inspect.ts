// The engine's programs as text, in the manner of JAX's make_jaxpr: the primitives f runs (with
// shapes, and which carry tangents), the linear tangent program, and its transpose. Recording runs f
// once; the linear programs are shape-only (zero directions), so printing costs one primal pass.
import { FwdgradError } from "./errors.ts";
import { jvp, linearize, transposeLinear } from "./jvp.ts";
import { setRecorder, type Equation, type PrimName } from "./prims.ts";
import { empty, Tensor } from "./tensor.ts";

type Outputs = Tensor | readonly Tensor[];

/** Names tensors in order of appearance: a, b, …, z, ba, …; tangents and cotangents by their primal's name. */
class Names {
  private readonly names = new Map<Tensor, string>();
  private count = 0;
  readonly constants: string[] = [];

  fresh(): string {
    let n = this.count++;
    let name = "";
    do {
      name = String.fromCharCode(97 + (n % 26)) + name;
      n = Math.floor(n / 26);
    } while (n > 0);
    return name;
  }

  set(t: Tensor, name: string): string {
    this.names.set(t, name);
    return name;
  }

  /** The name of `t`, naming it as a constant (a tensor f closes over) if it has none yet. */
  of(t: Tensor, shapeOf: (t: Tensor) => readonly number[] = (x) => x.shape): string {
    const had = this.names.get(t);
    if (had) return had;
    const name = this.set(t, this.fresh());
    this.constants.push(`${name}:${type(shapeOf(t))}`);
    return name;
  }

  has(t: Tensor): boolean {
    return this.names.has(t);
  }
}

const type = (shape: readonly number[]) => `f32[${shape.join(",")}]`;

/** Attributes worth reading: numbers, true flags and shapes; heap addresses are left out. */
function attrText(attrs: object): string {
  const parts = Object.entries(attrs).flatMap(([key, v]) => {
    if (key.endsWith("Ptr")) return [];
    if (v === true) return [key];
    if (v === false) return [];
    if (Array.isArray(v)) return [`${key}=[${v.join(",")}]`];
    return [`${key}=${String(v)}`];
  });
  return parts.length ? `{${parts.join(" ")}}` : "";
}

function block(title: string, header: string, lines: string[], footer: string): string {
  return [`${title}`, `{ lambda ${header} .`, ...lines.map((l) => `    ${l}`), `  in ${footer} }`].join("\n");
}

/** Lines of a linear program; `names` already knows its inputs. Tangent shapes drop the direction axis. */
function linearLines(equations: readonly Equation[], names: Names, prefix: string): string[] {
  const shape = (t: Tensor) => t.shape.slice(1);
  let temp = 0;
  return equations.map((eq) => {
    const args = eq.args.map((a, i) => (eq.linear[i] ? names.of(a, shape) : names.of(a)));
    const out = names.has(eq.out) ? names.of(eq.out) : names.set(eq.out, `${prefix}${++temp}`);
    return `${out}:${type(shape(eq.out))} = ${eq.name}${attrText(eq.attrs)} ${args.join(" ")}`;
  });
}

function text(names: Names, sections: string[]): string {
  const constants = names.constants.length ? [`constants (tensors f closes over): ${names.constants.join(" ")}`] : [];
  return `${[...constants, ...sections].join("\n\n")}\n`;
}

/**
 * f's programs as text, in the manner of JAX's `make_jaxpr`. With `tangents` (as `jvp` takes them):
 * the primal program, marking with `*` each value that carries a tangent, and the tangent program the
 * jvp ran, injected tangents included. Without: the primal program, f's linearization (JAX's
 * linearize) and its transpose (the reverse pass `vjp` and `grad` run).
 * @throws {FwdgradError} when `f` is not a function, or as `jvp` and `linearize` do for bad primals or tangents.
 * @example
 * ```ts
 * console.log(inspect((x, w) => sum(relu(matmul(x, w))), [x, w]));
 * ```
 */
export function inspect(f: (...args: Tensor[]) => Outputs, primals: readonly Tensor[], tangents?: readonly (Tensor | null)[]): string {
  if (typeof f !== "function") throw new FwdgradError("inspect: f must be a function");
  const names = new Names();
  const primalLines: string[] = [];
  const linear: Equation[] = [];
  let inputs: string[] = [];
  let captured: Outputs = [];
  const injected: string[] = [];
  const wrapped = (...args: Tensor[]) => {
    inputs = args.map((a, i) => {
      const name = names.set(a, names.fresh());
      if (a.dt) names.set(a.dt, `d${name}`);
      return `${name}:${type(a.shape)}${tangents && !tangents[i] ? "" : "*"}`;
    });
    captured = f(...args);
    return captured;
  };
  const listen = <R>(linearizing: boolean, run: () => R): R => {
    const previous = setRecorder({
      linearizing,
      linear: (eq) => linear.push(eq),
      primal: (name: PrimName, xs, out, attrs) => {
        if (name === "inject" && xs[1].dt) {
          const guess = names.set(xs[1], `guess${injected.length + 1}`);
          injected.push(`${names.set(xs[1].dt, guess)}:${type(xs[1].dt.shape.slice(1))}`);
        }
        const args = xs.map((x) => names.of(x));
        const o = names.set(out, names.fresh());
        if (out.dt && !names.has(out.dt)) names.set(out.dt, `d${o}`);
        primalLines.push(`${o}:${type(out.shape)}${out.dt ? "*" : ""} = ${name}${attrText(attrs)} ${args.join(" ")}`);
      },
    });
    try {
      return run();
    } finally {
      setRecorder(previous);
    }
  };
  const sections: string[] = [];
  const list = (outs: Outputs): readonly Tensor[] => (outs instanceof Tensor ? [outs] : outs);
  const outNames = (outs: Outputs) => list(outs).map((o) => names.of(o)).join(" ");
  if (tangents) {
    listen(false, () => jvp(wrapped, primals, tangents));
    sections.push(block(`primal program (${primalLines.length} primitives; * carries tangents)`, inputs.join(" "), primalLines, outNames(captured)));
    const tangentLines = linearLines(linear, names, "t");
    const outTangents = list(captured).map((o) => (o.dt ? names.of(o.dt) : "0"));
    sections.push(block(`tangent program (${linear.length} linear primitives)`, [...inputs.filter((i) => i.endsWith("*")).map((i) => `d${i.replace("*", "")}`), ...injected].join(" "), tangentLines, outTangents.join(" ")));
    return text(names, sections);
  }
  // linearize records the linear program itself; the listener adds the primal lines around it.
  const [, program] = listen(false, () => linearize(wrapped, primals));
  sections.push(block(`primal program (${primalLines.length} primitives; * carries tangents)`, inputs.join(" "), primalLines, outNames(captured)));
  const linearText = linearLines(program.equations, names, "t");
  sections.push(block(`linearization (${program.equations.length} linear primitives)`, program.inputs.map((x) => `${names.of(x)}:${type(x.shape.slice(1))}`).join(" "),
    linearText, program.outputs.map((o) => (o ? names.of(o) : "0")).join(" ")));
  const transposed: Equation[] = [];
  const cts = program.outputs.map((o) => {
    if (!o) return null;
    const ct = empty(o.shape);
    names.set(ct, `ct_${names.of(o)}`);
    return ct;
  });
  const previous = setRecorder({ linearizing: false, linear: (eq) => transposed.push(eq) });
  let result: ReturnType<typeof transposeLinear>;
  try {
    result = transposeLinear(program, cts);
  } finally {
    setRecorder(previous);
  }
  result.inputs.forEach((ct, i) => ct && !names.has(ct) && names.set(ct, `ct_${names.of(program.inputs[i])}`));
  const transposeText = linearLines(transposed, names, "u");
  sections.push(block(`transpose (${transposed.length} linear primitives)`, cts.filter((c): c is Tensor => c !== null).map((c) => `${names.of(c)}:${type(c.shape.slice(1))}`).join(" "),
    transposeText, result.inputs.map((ct) => (ct ? names.of(ct) : "0")).join(" ")));
  return text(names, sections);
}
