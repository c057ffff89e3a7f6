// `fwdgrad export`: a checkpoint's weights as a safetensors file (PyTorch's names and layouts, the
// architecture in its metadata), written durably. Nothing else of the checkpoint is kept.
import { saveWeights } from "../../models/weights.ts";
import { modelFromState } from "../../train/trainer.ts";
import { requireFlag, type Command } from "../args.ts";
import { writeDurable } from "../files.ts";
import { readyFor } from "../engine.ts";
import { checkOutFile } from "../io.ts";
import { judged, outputsOf, readCheckpoint } from "../weights.ts";

export const exportCommand: Command = {
  summary: "write a checkpoint's weights as a safetensors file (for predict, train --init, PyTorch)",
  flags: {
    checkpoint: { kind: "string", value: "file", required: true, help: "a checkpoint.json or checkpoint.bin from train --out" },
    out: { kind: "string", value: "file", required: true, help: "the .safetensors file to write (replaced whole)" },
  },
  notes: () =>
    [
      "The file holds each dense layer's weight [out, in] (and bias) under torch.nn.Sequential's names:",
      "0.weight, 2.weight, 4.weight, … (the ReLUs take the odd indices), so PyTorch loads it with",
      "  nn.Sequential(nn.Linear(40, 128, bias=False), nn.ReLU(), …).load_state_dict(safetensors.torch.load_file(path))",
      "Its __metadata__ records fwdgrad.layers, fwdgrad.sizes, fwdgrad.bias, fwdgrad.outputs and fwdgrad.version.",
    ].join("\n"),
  async run(flags) {
    requireFlag(flags, exportCommand.flags, "checkpoint");
    requireFlag(flags, exportCommand.flags, "out");
    const path = flags.checkpoint as string, out = flags.out as string;
    checkOutFile("--out", out);
    await readyFor({ threads: 1 });
    const state = readCheckpoint("--checkpoint", path);
    const model = judged("--checkpoint", path, () => modelFromState(state));
    const bytes = judged("--checkpoint", path, () => saveWeights(model, { outputs: outputsOf(state) }));
    writeDurable(out, bytes);
    const weights = state.weights.reduce((n, w) => n + w.length, 0);
    console.log(`${out}: ${weights} weights of ${state.config.model === "cnn" ? "a CNN" : "an MLP"} [${model.sizes.join(", ")}], ${bytes.length} bytes (epoch ${state.epoch} of ${state.config.method})`);
  },
};
