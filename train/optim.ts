// Optimisers with PyTorch's semantics, updating parameters in place (parameters live below every
// step's arena mark, so a step's scratch can be released while they persist). f64 arithmetic per
// element, rounded once to f32; βᵗ is a running product, not Math.pow, so every runtime agrees.
import { FwdgradError } from "../engine/errors.ts";
import { adamWUpdate, sgdUpdate } from "../engine/inplace.ts";
import type { Tensor } from "../engine/tensor.ts";

/** Options of {@link adamW}: PyTorch's names and defaults, except lr. */
export interface AdamWOptions {
  /** Learning rate. Default 1e-4. */
  lr?: number;
  /** [β₁, β₂], the moments' decay rates, each in [0, 1). Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to √v̂ in the denominator. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay λ. Default 0.01. */
  weightDecay?: number;
}

/** An optimiser that updates parameters in place from their gradients; {@link adamW} or {@link sgd}. */
export interface Optimizer {
  /**
   * Applies one update: params[i] ← params[i] − step(grads[i]).
   * @throws {FwdgradError} when params and grads differ in count or a pair in size.
   */
  step(params: Tensor[], grads: Tensor[]): void;
  /** The optimiser's state as plain arrays, for checkpoints. */
  state(): OptimizerState;
  /**
   * Continues from a saved state (same parameter shapes).
   * @throws {FwdgradError} when the state is malformed or inconsistent with the options.
   */
  restore(state: OptimizerState): void;
  /**
   * How far `steps` updates can move a parameter, whatever the gradients: |p| ≤ scale·|p₀| + shift
   * (f32 rounding included). Lets a checkpoint's weights be checked against the run's start.
   */
  reach?(steps: number): { scale: number; shift: number };
}

export interface OptimizerState {
  step: number;
  buffers: Float32Array[];
  /** AdamW: the running products β₁ᵗ and β₂ᵗ (bit-exact, unlike Math.pow), so a restore needs no loop over the steps. */
  powers?: [number, number];
}

/** Steps a restore without `powers` may replay to rebuild β₁ᵗ, β₂ᵗ (more would stall the caller). */
const MAX_REPLAYED_STEPS = 1e7;

/**
 * Whether a saved running product is βᵗ. The product drifts from Math.pow by about t·2⁻⁵³ relative
 * (3e-14 at 10⁶ steps), so 1e-9 passes any real run and catches a damaged or forged value; below
 * 1e-290 (denormal, where relative error means nothing) any value is fine: 1 − βᵗ is then 1 exactly.
 */
function isPowerOf(saved: number, beta: number, step: number): boolean {
  const expected = beta ** step;
  const larger = Math.max(saved, expected);
  return larger < 1e-290 || Math.abs(saved - expected) <= 1e-9 * larger;
}

function checkPairs(op: string, params: Tensor[], grads: Tensor[]): void {
  if (params.length !== grads.length) throw new FwdgradError(`${op}: ${params.length} parameters but ${grads.length} gradients`);
  params.forEach((p, i) => {
    if (p.size !== grads[i].size) throw new FwdgradError(`${op}: parameter ${i} has ${p.size} values, its gradient ${grads[i].size}`);
  });
}

/**
 * AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW: decoupled weight decay
 * p ← p·(1 − lr·λ), then m, v moments, bias corrections 1 − βᵗ, p ← p − lr·m̂/(√v̂ + eps).
 * Defaults are PyTorch's except lr, which defaults to the W̃⊥ paper's 1e-4.
 * @throws {FwdgradError} when an option is negative or not finite, or a beta is not below 1.
 * @example
 * ```ts
 * const w = tensor([1, 2, 3]);
 * const opt = adamW({ lr: 1e-3 });
 * opt.step([w], [tensor([0.5, 0.5, 0.5])]); // w moves against the gradient, in place
 * ```
 */
export function adamW(options: AdamWOptions = {}): Optimizer {
  const lr = options.lr ?? 1e-4;
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? 0.01;
  for (const [name, v] of Object.entries({ lr, beta1, beta2, eps, weightDecay })) {
    if (!Number.isFinite(v) || v < 0) throw new FwdgradError(`adamW: ${name} must be a finite number ≥ 0, got ${v}`);
  }
  if (beta1 >= 1 || beta2 >= 1) throw new FwdgradError(`adamW: betas must be below 1, got [${beta1}, ${beta2}]`);
  // |m| ≤ K·√v holds at every step when β₁² < β₂ (Cauchy–Schwarz on the two moving sums; the bound
  // is kept by each update), K = (1 − β₁)/√((1 − β₂)(1 − β₁²/β₂)): 7.27 for PyTorch's betas. So an
  // update moves a parameter by at most lr·K/(1 − β₁), the bias corrections included.
  const momentRatio = beta1 * beta1 < beta2 ? (1 - beta1) / Math.sqrt((1 - beta2) * (1 - (beta1 * beta1) / beta2)) : Infinity;
  let t = 0;
  let beta1Power = 1, beta2Power = 1;
  let m: Float32Array[] = [];
  let v: Float32Array[] = [];
  return {
    step(params, grads) {
      checkPairs("adamW", params, grads);
      if (m.length === 0) {
        m = params.map((p) => new Float32Array(p.size));
        v = params.map((p) => new Float32Array(p.size));
      }
      t++;
      beta1Power *= beta1;
      beta2Power *= beta2;
      const constants = { beta1, beta2, eps, decay: 1 - lr * weightDecay, stepSize: lr / (1 - beta1Power), rootCorrection2: Math.sqrt(1 - beta2Power) };
      // Parameters and gradients are read in place by the engine: no copies on the training path.
      params.forEach((p, i) => adamWUpdate(p, grads[i], m[i], v[i], constants));
    },
    state: () => ({ step: t, buffers: [...m, ...v].map((b) => b.slice()), powers: [beta1Power, beta2Power] }),
    restore(state) {
      if (!Number.isSafeInteger(state.step) || state.step < 0 || !Array.isArray(state.buffers) || state.buffers.length % 2 !== 0) {
        throw new FwdgradError("adamW.restore: expected { step, buffers: [...m, ...v] }");
      }
      if (state.step > 0 && state.buffers.length === 0) throw new FwdgradError(`adamW.restore: step ${state.step} without its moments (buffers is empty)`);
      const half = state.buffers.length / 2;
      state.buffers.forEach((b, i) => {
        if (b.length !== state.buffers[i < half ? i + half : i - half].length) throw new FwdgradError(`adamW.restore: moment buffers ${i % half} of m and v differ in size`);
      });
      // A negative second moment would make the next update's √v NaN; a first moment beyond K·√v
      // (with slack for f32 rounding and underflow) is one no gradients could have made.
      state.buffers.slice(half).forEach((b, i) => {
        const negative = b.findIndex((x) => !(x >= 0));
        if (negative >= 0) throw new FwdgradError(`adamW.restore: second moment ${i} holds ${b[negative]} at index ${negative}`);
        const first = state.buffers[i];
        const beyond = first.findIndex((x, j) => !(Math.abs(x) <= momentRatio * (1 + 1e-4) * Math.sqrt(b[j]) + 1e-3 * eps));
        if (beyond >= 0) throw new FwdgradError(`adamW.restore: first moment ${i} holds ${first[beyond]} at index ${beyond}, beyond ${momentRatio.toFixed(2)}·√v = ${momentRatio * Math.sqrt(b[beyond])}`);
      });
      if (state.powers) {
        const [p1, p2] = state.powers;
        if (!(p1 >= 0 && p1 <= 1 && p2 >= 0 && p2 <= 1)) throw new FwdgradError(`adamW.restore: powers must be β₁ᵗ, β₂ᵗ in [0, 1], got ${JSON.stringify(state.powers)}`);
        if (!isPowerOf(p1, beta1, state.step) || !isPowerOf(p2, beta2, state.step)) {
          throw new FwdgradError(`adamW.restore: powers ${JSON.stringify(state.powers)} are not β₁ᵗ, β₂ᵗ for β = [${beta1}, ${beta2}] at step ${state.step}`);
        }
        beta1Power = p1;
        beta2Power = p2;
      } else {
        if (state.step > MAX_REPLAYED_STEPS) throw new FwdgradError(`adamW.restore: step ${state.step} without powers: more than ${MAX_REPLAYED_STEPS} steps to replay`);
        beta1Power = 1;
        beta2Power = 1;
        for (let i = 0; i < state.step; i++) {
          beta1Power *= beta1;
          beta2Power *= beta2;
        }
      }
      t = state.step;
      m = state.buffers.slice(0, half).map((b) => b.slice());
      v = state.buffers.slice(half).map((b) => b.slice());
    },
    reach(steps) {
      // Per step p ← p·(1 − lr·λ) − lr·m̂/(√v̂ + eps), rounded to f32 (relative 2⁻²⁴, doubled for margin).
      const growth = Math.max(1, Math.abs(1 - lr * weightDecay)) * (1 + 2 ** -23);
      const scale = growth ** steps;
      return { scale, shift: ((lr * momentRatio) / (1 - beta1)) * ((scale - 1) / (growth - 1)) };
    },
  };
}

/**
 * Plain SGD as torch.optim.SGD without momentum: p ← p − lr·(g + λ·p). lr defaults to 1e-2,
 * weightDecay to 0.
 * @throws {FwdgradError} when lr is negative or not finite.
 * @example
 * ```ts
 * const w = tensor([1, 2, 3]);
 * sgd({ lr: 0.1 }).step([w], [tensor([1, 1, 1])]); // w = [0.9, 1.9, 2.9]
 * ```
 */
export function sgd(options: { lr?: number; weightDecay?: number } = {}): Optimizer {
  const lr = options.lr ?? 1e-2;
  const weightDecay = options.weightDecay ?? 0;
  if (!Number.isFinite(lr) || lr < 0) throw new FwdgradError(`sgd: lr must be a finite number ≥ 0, got ${lr}`);
  let t = 0;
  return {
    step(params, grads) {
      checkPairs("sgd", params, grads);
      t++;
      params.forEach((p, i) => sgdUpdate(p, grads[i], lr, weightDecay));
    },
    state: () => ({ step: t, buffers: [] }),
    restore(state) {
      if (!Number.isSafeInteger(state.step) || state.step < 0) throw new FwdgradError(`sgd.restore: step must be an integer ≥ 0, got ${state.step}`);
      t = state.step;
    },
  };
}
