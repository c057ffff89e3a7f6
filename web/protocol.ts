// Messages between the lab page and its training worker.
import type { EpochReport } from "../models/train.ts";

export interface Settings {
  method: string;
  width: number;
  depth: number;
  k: number;
  lr: number;
  seed: number;
  epochs: number;
}

export type ToWorker = { type: "start"; settings: Settings } | { type: "pause" } | { type: "resume" } | { type: "reset" };

export type FromWorker =
  | { type: "ready"; simd: boolean; kernels: string }
  | { type: "epoch"; report: EpochReport; steps: number; stepMs: number }
  | { type: "quality"; epoch: number; cosine: (number | null)[] }
  | { type: "examples"; signals: number[][]; labels: number[]; predicted: number[] }
  | { type: "done"; reason: string }
  | { type: "error"; message: string };
