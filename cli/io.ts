// File helpers of the CLI: atomic writes (temporary name, then rename) and data set loading.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBinarySplit, parseCsvSplit, splitRows, type Dataset } from "../models/dataset.ts";
import { generateMnist1d } from "../models/mnist1d.ts";
import { UsageError } from "./args.ts";

/** Writes `bytes` to `path` through a temporary name, so a crash never leaves half a file. */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const temp = `${path}.tmp-${Date.now()}`;
  writeFileSync(temp, bytes);
  renameSync(temp, path);
}

export const bytesOf = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A data set from --data: a folder in the binary format (with meta.json) or a CSV file (split 80/20). */
export function loadData(path: string | undefined): Dataset {
  if (path === undefined) return generateMnist1d();
  if (!existsSync(path)) throw new UsageError(`--data ${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const metaPath = join(path, "meta.json");
    if (!existsSync(metaPath)) throw new UsageError(`--data ${path}: a data folder needs a meta.json`);
    const meta = JSON.parse(readFileSync(metaPath, "utf8"));
    const features = meta.features, classes = meta.classes;
    const split = (name: "train" | "test") =>
      parseBinarySplit(`${path}/${meta[name].x}`, readFileSync(join(path, meta[name].x)), readFileSync(join(path, meta[name].y)), features, classes);
    return { train: split("train"), test: split("test"), features, classes };
  }
  const { split, features, classes } = parseCsvSplit(path, readFileSync(path, "utf8"));
  return { ...splitRows(split, features, 0.8), features, classes };
}

