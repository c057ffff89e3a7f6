// fwdgrad: forward-mode AD and forward-gradient training in TypeScript + WebAssembly SIMD.
export * from "./engine/index.ts";
export { createMlp, forward, mlpSizes, argmaxRows, type Mlp, type Linear, type MlpOptions, type ForwardTrace } from "./models/mlp.ts";
export { backprop, type BackpropResult, type Gradients } from "./models/backprop.ts";
export { generateMnist1d, type Mnist1d, type Mnist1dOptions, type Mnist1dSplit } from "./models/mnist1d.ts";
export {
  createEstimator, ESTIMATORS, estimateStep, prepareStep,
  type Estimator, type EstimatorId, type EstimatorOptions, type EstimatorState, type Estimate, type Seeds, type StepInput,
} from "./estimators/index.ts";
export { measureQuality, type LayerMetrics } from "./estimators/metrics.ts";
export { adamW, sgd, type Optimizer, type AdamWOptions } from "./models/optim.ts";
export { Trainer, describeData, type TrainConfig, type EpochReport, type TrainerState, type DataIdentity } from "./models/train.ts";
export { serializeCheckpoint, parseCheckpoint } from "./models/checkpoint.ts";
export { parseBinarySplit, parseCsvSplit, splitRows, type Dataset, type Split } from "./models/dataset.ts";
export { serveTraining, workerScopeEndpoint, type TrainingEndpoint, type TrainingEvent, type TrainingMessage, type TrainingSettings } from "./models/train-worker.ts";
