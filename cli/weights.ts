// The model files the CLI reads: a training checkpoint (checkpoint.json or checkpoint.bin, read as
// `train --resume` reads it) or a safetensors weights file (`fwdgrad export`'s), told apart by their
// bytes: a safetensors file starts with its header length, a u64 whose high bytes are 0, where a
// checkpoint starts with JSON text. Every fault is a UsageError naming the flag and the file (exit 2).
import { FwdgradError } from "../engine/errors.ts";
import { parseSafetensors, type SafetensorsFile } from "../models/safetensors.ts";
import type { Model } from "../models/sequential.ts";
import { loadWeights, weightsOutputs, type ModelOutputs } from "../models/weights.ts";
import { parseCheckpoint } from "../train/checkpoint.ts";
import { modelFromState, type TrainerState } from "../train/trainer.ts";
import { UsageError } from "./args.ts";
import { readInputFile } from "./io.ts";

/** Whether the bytes are a safetensors file rather than a checkpoint (whose first bytes are JSON text). */
export const isSafetensors = (bytes: Uint8Array) => bytes.length >= 8 && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0;

/** Runs `read`, its FwdgradError a UsageError naming `flag path`. */
export function judged<T>(flag: string, path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof FwdgradError) throw new UsageError(`${flag} ${path}: ${error.message}`);
    throw error;
  }
}

/** A training checkpoint given by `flag`, checked whole (`parseCheckpoint`). */
export function readCheckpoint(flag: string, path: string): TrainerState {
  const bytes = readInputFile(flag, path, "give the checkpoint.json or checkpoint.bin inside a train --out folder");
  if (isSafetensors(bytes)) throw new UsageError(`${flag} ${path}: a safetensors weights file, not a training checkpoint (checkpoint.json or checkpoint.bin)`);
  return judged(flag, path, () => parseCheckpoint(bytes));
}

/** A safetensors file given by `flag`, parsed and checked (`parseSafetensors`). */
export function readSafetensors(flag: string, path: string): SafetensorsFile {
  const bytes = readInputFile(flag, path, "give a .safetensors file");
  if (!isSafetensors(bytes)) throw new UsageError(`${flag} ${path}: not a safetensors file (its first 8 bytes are not a header length)`);
  return judged(flag, path, () => parseSafetensors(bytes));
}

/** A model from a checkpoint or a safetensors file, and what its outputs are. */
export function readModel(flag: string, path: string): { model: Model; outputs: ModelOutputs } {
  const bytes = readInputFile(flag, path, "give a checkpoint.json, checkpoint.bin or .safetensors file");
  if (isSafetensors(bytes)) {
    const file = judged(flag, path, () => parseSafetensors(bytes));
    return judged(flag, path, () => ({ model: loadWeights(file), outputs: weightsOutputs(file) }));
  }
  const state = judged(flag, path, () => parseCheckpoint(bytes));
  return { model: judged(flag, path, () => modelFromState(state)), outputs: outputsOf(state) };
}

/** What a checkpoint's model outputs: regression targets when its data set had them. */
export const outputsOf = (state: TrainerState): ModelOutputs => (state.data.targets === undefined ? "classes" : "targets");
