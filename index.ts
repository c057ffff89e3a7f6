// fwdgrad: forward-mode AD and forward-gradient training in TypeScript + WebAssembly SIMD.
export * from "./engine/index.ts";
export { createMlp, forward, forwardOutput, mlpSizes, argmaxRows, type Mlp, type Linear, type MlpOptions, type ForwardTrace } from "./models/mlp.ts";
export { sequential, parameters, runModel, siteMask, linearMatrix, nextLinear, type Model, type SiteHook } from "./models/sequential.ts";
export { conv1dLayer, conv2dLayer, convOutput, type Conv, type ConvLayerOptions } from "./models/conv.ts";
export { createCnn, cnnSizes, type CnnOptions } from "./models/cnn.ts";
export { maxPool2dLayer, type MaxPool2d } from "./models/pool.ts";
export { dense, type Dense } from "./models/dense.ts";
export { reluLayer, type Relu } from "./models/relu.ts";
export { LAYER_KINDS, type LayerKindName } from "./models/index.ts";
export { saveWeights, loadWeights, weightsOutputs, predict, type SaveWeightsOptions, type ModelOutputs, type Prediction } from "./models/weights.ts";
export { encodeSafetensors, parseSafetensors, type SafetensorsEntry, type SafetensorsFile } from "./models/safetensors.ts";
export type { Layer, LayerKind, LinearMapRules } from "./models/layer.ts";
export { LOSSES, LOSS_IDS, lossFor, type Loss, type LossId, type Targets } from "./models/loss.ts";
export { backprop, type BackpropResult, type Gradients } from "./models/gradient.ts";
export { generateMnist1d, type Mnist1d, type Mnist1dOptions, type Mnist1dSplit } from "./data/mnist1d.ts";
export {
  createEstimator, ESTIMATORS, methodOptions, sharedOptions, estimateStep, inspectStep, prepareStep, stepInput, createMethod, isMethodId, keepsWarmStarts, METHOD_IDS, COMBINES, MAX_GUESSES, parseMethodSpec, type MethodSpec, type GradientMethod,
  type Combine, type Estimator, type EstimatorId, type EstimatorOptions, type EstimatorState, type Estimate, type Seeds, type StepInput,
  methodWorkingSet,
} from "./estimators/index.ts";
export { projectionCoefficients, solveSemidefinite } from "./estimators/projection.ts";
export { measureQuality, measureBasisFidelity, type LayerMetrics, type LayerFidelity } from "./estimators/metrics.ts";
export { basisFidelity, type BasisFidelity, type ExampleFidelity } from "./estimators/basis-fidelity.ts";
export { DEFAULT_WARM_START_BYTES, warmStartBytesFor } from "./estimators/wperp/warm-starts.ts";
export { adamW, sgd, type Optimizer, type AdamWOptions } from "./train/optim.ts";
export { trainingWorkingSet, checkWorkingSet, type WorkingSet, type DataShape } from "./train/memory.ts";
export { Trainer, describeData, estimatorOptions, modelFromState, createModel, modelSizes, MODEL_KINDS, type ModelKind, type TrainConfig, type EpochReport, type TrainerState, type DataIdentity } from "./train/trainer.ts";
export { serializeCheckpoint, encodeCheckpoint, fitsTextCheckpoint, parseCheckpoint } from "./train/checkpoint.ts";
export { parseBinarySplit, parseCsvSplit, splitRows, type Dataset, type Split } from "./data/dataset.ts";
export { serveTraining, workerScopeEndpoint, type CsvFile, type TrainingEndpoint, type TrainingEvent, type TrainingMessage, type TrainingSettings } from "./train/worker.ts";
