// Messages between the lab page and its training worker: the library's training protocol.
export type { TrainingEvent as FromWorker, TrainingMessage as ToWorker, TrainingSettings as Settings } from "../train/worker.ts";
