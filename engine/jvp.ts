// Forward-mode differentiation with JAX's contract: jvp(f, primals, tangents) -> [outputs, output
// tangents]. Tangents ride on the tensors themselves (Tensor.dt), so f is ordinary code over the ops.
import { FwdgradError, fmt } from "./errors.ts";
import { assertLive, Tensor, view, zeros } from "./tensor.ts";

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
 * @example
 * ```ts
 * const x = tensor([1, 2, 3]);
 * const [y, dy] = jvp((v) => sum(mul(v, v)), [x], [tensor([1, 0, 0])]); // y = 14, dy = 2
 * const [, cols] = jvp((v) => mul(v, v), [x], [tensor([1,0,0, 0,1,0, 0,0,1], [3, 3])]); // Jacobian rows
 * ```
 */
export function jvp<R extends Outputs>(f: (...args: Tensor[]) => R, primals: readonly Tensor[], tangents: readonly (Tensor | null)[]): [R, R] {
  if (typeof f !== "function") throw new FwdgradError("jvp: f must be a function");
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
    const dshape = stacked ? [D, ...o.shape] : o.shape;
    derivs.push(o.dt ? view(o.dt, dshape) : zeros(dshape));
  });
  return Array.isArray(result) ? [values as unknown as R, derivs as unknown as R] : [values[0] as R, derivs[0] as R];
}
