// W̃P (Wang, Markou & Campbell 2025): y = (W̃_σᵀW̃_σ)^{-1/2}·W̃_σᵀ·ε with W̃_σ = U(Λ² + σI)^{1/2}Vᵀ
// from each example's SVD W̃ = UΛVᵀ, ε ~ N(0, I). Computed as defined; the σ factors cancel, so it
// equals V·Uᵀ·ε (a test checks this): isotropic on square layers, the W̃⊥ projector on thin ones.
// The "fast" route samples that distribution directly, with no SVD: W̃_σ keeps all min(out, d)
// right singular vectors, so where the next layer is at least as wide (out ≥ d) V is square and
// Cov = V·Vᵀ = I, y ~ N(0, I); on a thinner next layer V spans W̃'s row space (rowSpaceBasis), exactly
// when W̃ has full row rank (else the SVD's completion of V is arbitrary; the fast route leaves it out).
import { svd, type SvdResult } from "../engine/linalg/decompositions.ts";
import { matmul, mul, reshape } from "../engine/ops.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { activationGuesses, COMMON_OPTIONS, F32, guessOptions, identityCovariance, largestHidden, type CommonOptions, type StepInput } from "./estimator.ts";
import { defineEstimator, type EstimatorFactory, type OptionTable } from "./options.ts";
import { maskedJacobians, projectorCovariance, rowSpaceBasis, rowSpaceBytes, subspaceGuess } from "./orthogonal-guess.ts";
import { stack } from "../engine/inplace.ts";
import { linearMatrix, nextLinear } from "../models/sequential.ts";

export interface PreconditionedGuessOptions extends CommonOptions {
  /** The regulariser σ in W̃_σ. Default 1e-5 (the paper's). */
  sigma?: number;
  /** "exact" (default): an SVD of every example's W̃, as defined; "fast": the same distribution in closed form. */
  route?: "fast" | "exact";
}

/** Each example's thin SVD W̃ = U·Λ·Vᵀ for hidden layer `layer`. */
export function jacobianSvd(input: StepInput, layer: number): SvdResult {
  return svd(maskedJacobians(linearMatrix(nextLinear(input.model, layer)), input.masks[layer]));
}

/** One guess per example from ε [B, out, 1] and the examples' SVDs: [B, d]. */
export function preconditionedGuess({ u, s, v }: SvdResult, eps: Tensor, sigma: number): Tensor {
  const [batch, r] = s.shape;
  const lambda = s.toArray();
  const root = new Float32Array(batch * r), inverseRoot = new Float32Array(batch * r);
  lambda.forEach((l, i) => {
    root[i] = Math.sqrt(l * l + sigma);
    inverseRoot[i] = 1 / root[i];
  });
  const column = (values: Float32Array) => tensor(values, [batch, r, 1]);
  // W̃_σᵀε = V·(Λ² + σ)^{1/2}·Uᵀε, then (W̃_σᵀW̃_σ)^{-1/2} = V·(Λ² + σ)^{-1/2}·Vᵀ (on W̃'s row space).
  const projected = mul(matmul(u, eps, { transA: true }), column(root));
  const lifted = matmul(v, projected);
  const y = matmul(v, mul(matmul(v, lifted, { transA: true }), column(inverseRoot)));
  return reshape(y, [batch, v.shape[1]]);
}

/** W̃P's options: the common ones, then its regulariser and route. */
export const PRECONDITIONED_GUESS_OPTIONS = {
  ...COMMON_OPTIONS,
  sigma: { kind: "number", default: 1e-5, min: 0, openMin: true, doc: "the regulariser σ in W̃_σ (the paper's 1e-5)" },
  route: { kind: "choice", choices: ["fast", "exact"], default: "exact", doc: "exact: an SVD of every example's W̃, as defined; fast: the same distribution in closed form" },
} as const satisfies OptionTable;

export const preconditioned: EstimatorFactory<typeof PRECONDITIONED_GUESS_OPTIONS> = defineEstimator("wp", PRECONDITIONED_GUESS_OPTIONS, (options) => {
  const common = guessOptions(options);
  const { guesses } = common;
  const { sigma, route } = options;
  const square = (input: StepInput, i: number) => input.model.sizes[i + 2] >= input.model.sizes[i + 1];
  const guess = (input: StepInput, i: number): Tensor => {
    const batch = input.x.shape[0];
    const out = input.model.sizes[i + 2];
    const r = input.rng.split(i);
    if (route === "fast") {
      if (!square(input, i)) return subspaceGuess(input, i, rowSpaceBasis(input, i, out), guesses);
      return stack(Array.from({ length: guesses }, (_, g) => r.split(g).normal([batch, input.model.sizes[i + 1]])));
    }
    const factors = jacobianSvd(input, i);
    return stack(Array.from({ length: guesses }, (_, g) => preconditionedGuess(factors, r.split(g).normal([batch, out, 1]), sigma)));
  };
  return {
    id: "wp",
    ...common,
    ...activationGuesses(guesses, (input, i) => guess(input, i)),
    covariance: (input, layer) => {
      if (route === "exact") return projectorCovariance(jacobianSvd(input, layer).v);
      return square(input, layer) ? identityCovariance(input, layer) : projectorCovariance(rowSpaceBasis(input, layer, input.model.sizes[layer + 2]));
    },
  };
}, (sizes, batch, { route }, threads) =>
  largestHidden(sizes, (d, out) => {
    if (route === "fast") return out >= d ? 0 : rowSpaceBytes(batch, d, out);
    // The examples' W̃ [B, out, d] (and the broadcast W and mask it is made of), their factors U, Λ, V,
    // a transposed copy, and each thread's f64 work.
    const r = Math.min(out, d);
    return F32 * batch * (4 * out * d + r * (out + d + 1)) + threads * 8 * (2 * out * d + r * r + out * out + d * d + 3 * (out + d));
  }),
);
