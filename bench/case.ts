// What a benchmark case is: our side, its peers measured beside it, and how the runner reports it.
// Both case tables (bench/cases.ts, bench/steps.ts) import it, so neither imports the other.
import type { TfBackend } from "./peers.ts";

export interface Peer {
  name: string;
  /** The tfjs backend to switch to before `setup`. */
  backend?: TfBackend;
  /** Factor applied to the measured time (a peer timed on part of the work). */
  scale?: number;
  minSamples?: number;
  /** Peers with the same key time the same work on the same data: the runner times them once. */
  key?: string;
  setup(): { run: () => void; dispose?: () => void };
}

export interface Setup {
  ours: () => void;
  peers: Peer[];
  /** Lines printed after the case (accuracy figures, scaling). */
  notes?: string[];
}

export interface Case {
  name: string;
  kind: "matmul" | "conv" | "svd" | "step";
  /** Floating-point operations per call, for GFLOP/s; null where not meaningful. */
  flops: number | null;
  /** Creates the inputs; runs inside an arena scope the runner releases. */
  setup(options: { full: boolean }): Setup;
}
