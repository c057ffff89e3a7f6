// W̃P (Wang, Markou & Campbell 2025): y = (W̃_σᵀW̃_σ)^{-1/2}·W̃_σᵀ·ε with W̃_σ = U(Λ² + σI)^{1/2}Vᵀ
// from each example's SVD W̃ = UΛVᵀ, ε ~ N(0, I). Computed as defined; the σ factors cancel, so it
// equals V·Uᵀ·ε (a test checks this): isotropic on square layers, the W̃⊥ projector on thin ones.
import { svd, type SvdResult } from "../engine/linalg/decompositions.ts";
import { matmul, mul, reshape } from "../engine/ops.ts";
import { tensor, type Tensor } from "../engine/tensor.ts";
import { activationEstimate, activationSeeds, checkGuesses, type CommonOptions, type Estimator, type StepInput } from "./estimator.ts";
import { maskedJacobians, projectorCovariance } from "./orthogonal-guess.ts";
import { stack } from "../engine/inplace.ts";

export interface PreconditionedGuessOptions extends CommonOptions {
  /** The regulariser σ in W̃_σ. Default 1e-5 (the paper's). */
  sigma?: number;
}

/** Each example's thin SVD W̃ = U·Λ·Vᵀ for hidden layer `layer`. */
export function jacobianSvd(input: StepInput, layer: number): SvdResult {
  return svd(maskedJacobians(input.model.layers[layer + 1].w, input.masks[layer]));
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

export function preconditioned(options: PreconditionedGuessOptions = {}): Estimator {
  const guesses = checkGuesses("wp", options.guesses);
  const sigma = options.sigma ?? 1e-5;
  const guess = (input: StepInput, i: number): Tensor => {
    const batch = input.x.shape[0];
    const out = input.model.sizes[i + 2];
    const r = input.rng.split(i);
    const factors = jacobianSvd(input, i);
    return stack(Array.from({ length: guesses }, (_, g) => preconditionedGuess(factors, r.split(g).normal([batch, out, 1]), sigma)));
  };
  return {
    id: "wp",
    guesses,
    seed: (input) => activationSeeds(input, guesses, (i) => guess(input, i)),
    estimate: activationEstimate,
    covariance: (input, layer) => projectorCovariance(jacobianSvd(input, layer).v),
  };
}

