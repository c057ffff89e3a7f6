// Engine operations outside forward mode: they write tensors in place (stacking guesses, placing a
// chunk's rows, restoring weights, optimiser updates) or inspect them (masks, finiteness). They have
// no tangent rule, so a tensor that carries tangents is refused rather than its tangent dropped.
// Everything above the engine goes through these instead of touching the heap.
import { engine } from "./backend.ts";
import { FwdgradError, fmt } from "./errors.ts";
import { assertLive, empty, type Tensor } from "./tensor.ts";

function plain(op: string, ...tensors: Tensor[]): void {
  for (const t of tensors) {
    assertLive(op, t);
    if (t.dt) throw new FwdgradError(`${op}: Tensor${fmt(t.shape)} carries tangents, which ${op} has no rule for (use it outside jvp)`);
  }
}

/**
 * [n, ...shape] from n tensors of one shape (e.g. K guesses of [B, d] into [K, B, d]).
 * @throws {FwdgradError} when `parts` is empty, the shapes differ, or a part carries tangents (inside jvp) or is released.
 * @example
 * ```ts
 * stack([tensor([1, 2], [2]), tensor([3, 4], [2])]).toArray(); // [1, 2, 3, 4], shape [2, 2]
 * ```
 */
export function stack(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new FwdgradError("stack: no tensors to stack");
  plain("stack", ...parts);
  const shape = parts[0].shape;
  const odd = parts.findIndex((p) => p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i]));
  if (odd >= 0) throw new FwdgradError(`stack: tensor ${odd} has shape ${fmt(parts[odd].shape)}, tensor 0 ${fmt(shape)}`);
  const out = empty([parts.length, ...shape]);
  const f = engine().heap.f32();
  const size = parts[0].size;
  parts.forEach((p, i) => f.copyWithin((out.ptr >>> 2) + i * size, p.ptr >>> 2, (p.ptr >>> 2) + size));
  return out;
}

/**
 * Writes `src`'s values into `dst` from flat element `offset` on (e.g. one chunk's rows of a result).
 * @throws {FwdgradError} when `src` does not fit in `dst` from `offset`, or a tensor carries tangents or is released.
 */
export function assignAt(dst: Tensor, src: Tensor, offset: number): void {
  plain("assignAt", dst, src);
  if (!Number.isInteger(offset) || offset < 0 || offset + src.size > dst.size) {
    throw new FwdgradError(`assignAt: ${src.size} values at offset ${offset} do not fit in Tensor${fmt(dst.shape)} (${dst.size} values)`);
  }
  engine().heap.f32().copyWithin((dst.ptr >>> 2) + offset, src.ptr >>> 2, (src.ptr >>> 2) + src.size);
}

/**
 * Overwrites `dst`'s values with `values` (same count): restoring weights from a checkpoint or snapshot.
 * @throws {FwdgradError} when `values` does not hold `dst.size` values, or `dst` carries tangents or is released.
 * @example
 * ```ts
 * const w = zeros([2]);
 * assign(w, new Float32Array([1, 2])); // w holds [1, 2]
 * ```
 */
export function assign(dst: Tensor, values: Float32Array): void {
  plain("assign", dst);
  if (values.length !== dst.size) throw new FwdgradError(`assign: ${values.length} values for Tensor${fmt(dst.shape)} (${dst.size} values)`);
  engine().heap.f32().set(values, dst.ptr >>> 2);
}

/**
 * 1 where s > 0, else 0 (relu's subgradient choice at 0), as a new tensor of s's shape.
 * @throws {FwdgradError} when `s` carries tangents (inside jvp) or is released.
 * @example
 * ```ts
 * positiveMask(tensor([-1, 0, 2])).toArray(); // [0, 0, 1]
 * ```
 */
export function positiveMask(s: Tensor): Tensor {
  plain("positiveMask", s);
  const { heap, k } = engine();
  const out = empty(s.shape);
  heap.f32().fill(1, out.ptr >>> 2, (out.ptr >>> 2) + out.size);
  k.relu_jvp_f32(out.ptr, s.ptr, out.ptr, s.size);
  return out;
}

/**
 * True when every value of `t` is finite, read in place (no copy on the training path).
 * @throws {FwdgradError} when `t` is released.
 */
export function allFinite(t: Tensor): boolean {
  assertLive("allFinite", t);
  const f = engine().heap.f32();
  const start = t.ptr >>> 2;
  for (let i = start; i < start + t.size; i++) if (!Number.isFinite(f[i])) return false;
  return true;
}

/** AdamW's per-step constants (torch.optim.AdamW): see `adamWUpdate`. */
export interface AdamWStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·λ (decoupled weight decay). */
  decay: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  rootCorrection2: number;
}

/**
 * One AdamW update of `param` in place from `grad`, with the moments `m`, `v` (host arrays, updated
 * too): f64 per element, rounded once to f32, so every runtime gives the same bits.
 */
export function adamWUpdate(param: Tensor, grad: Tensor, m: Float32Array, v: Float32Array, c: AdamWStep): void {
  plain("adamWUpdate", param, grad);
  if (grad.size !== param.size || m.length !== param.size || v.length !== param.size) {
    throw new FwdgradError(`adamWUpdate: Tensor${fmt(param.shape)} with a gradient of ${grad.size} and moments of ${m.length}, ${v.length} values`);
  }
  const { beta1, beta2, eps, decay, stepSize, rootCorrection2 } = c;
  readingValues(grad, (gAt) => {
    const f = engine().heap.f32();
    const at = param.ptr >>> 2;
    for (let j = 0; j < param.size; j++) {
      const g = f[gAt + j];
      const decayed = f[at + j] * decay;
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      v[j] = beta2 * v[j] + (1 - beta2) * g * g;
      const denominator = Math.sqrt(v[j]) / rootCorrection2 + eps;
      f[at + j] = decayed - (stepSize * m[j]) / denominator;
    }
  });
}

/** One SGD update of `param` in place: p ← p − lr·(g + λ·p), as torch.optim.SGD without momentum. */
export function sgdUpdate(param: Tensor, grad: Tensor, lr: number, weightDecay: number): void {
  plain("sgdUpdate", param, grad);
  if (grad.size !== param.size) throw new FwdgradError(`sgdUpdate: Tensor${fmt(param.shape)} with a gradient of ${grad.size} values`);
  readingValues(grad, (gAt) => {
    const f = engine().heap.f32();
    const at = param.ptr >>> 2;
    for (let j = 0; j < param.size; j++) f[at + j] = f[at + j] - lr * (f[gAt + j] + weightDecay * f[at + j]);
  });
}

/**
 * Runs `fn` on the f32 index of `t`'s values. A deferred tensor (a forward gradient's drawn update)
 * is made for the call and freed after it, so an optimiser holds one layer's gradient at a time.
 */
function readingValues(t: Tensor, fn: (at: number) => void): void {
  const heap = engine().heap;
  const start = heap.mark();
  try {
    fn(t.ptr >>> 2);
  } finally {
    heap.release(start);
  }
}
