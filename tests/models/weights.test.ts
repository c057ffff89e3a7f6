// Weights in and out (safetensors) and prediction: byte strings written by hand from the format's
// specification, read and written; save → load bit for bit (NaN payloads, −0, subnormals), with
// the same predictions; loading into a model and the refusals, each one line naming what is wrong.
import { assign, conv2dLayer, createCnn, createMlp, dense, encodeSafetensors, loadWeights, maxPool2dLayer, parseSafetensors, predict, reluLayer, rng, saveWeights, sequential, tensor, type Model } from "../../index.ts";
import { assert, assertFwdgradError, assertSameBits, inputs, suite } from "../harness.ts";

const Weights = suite("models: weights (safetensors) and predict");

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
/** A file from its parts: the u64 length (8 bytes, little-endian), the header text, the data bytes. */
function file(header: string, data: number[], length = header.length): Uint8Array {
  return new Uint8Array([length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, length >>> 24, 0, 0, 0, 0, ...ascii(header), ...data]);
}
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const modelBits = (m: Model) => m.layers.flatMap((l) => [...bitsOf(l.w.toArray()), ...(l.b ? bitsOf(l.b.toArray()) : [])]);

Weights("a file written by hand from the specification is read: F32 bit for bit, F16, BF16 and F64 converted, metadata", () => {
  const header = '{"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
    + '"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[12,14]},"d":{"dtype":"F64","shape":[],"data_offsets":[14,22]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[22,22]}}  ';
  // a = [1, −2] (0x3f800000, 0xc0000000); b = [1, −0.5] in f16 (0x3c00, 0xb800); c = 1.5 in bf16 (0x3fc0); d = 0.25 in f64.
  const data = [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0x00, 0x3c, 0x00, 0xb8, 0xc0, 0x3f, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f];
  const { tensors, metadata } = parseSafetensors(file(header, data));
  assert.equal(metadata, { format: "pt" });
  assert.equal([...tensors.keys()], ["b", "a", "c", "d", "e"], "header order");
  assert.equal(tensors.get("a")!.shape, [2]);
  assert.equal(Array.from(tensors.get("a")!.data), [1, -2]);
  assert.equal(Array.from(tensors.get("b")!.data), [1, -0.5]);
  assert.equal(tensors.get("c")!.shape, [1, 1]);
  assert.equal(Array.from(tensors.get("c")!.data), [1.5]);
  assert.equal(tensors.get("d")!.shape, []);
  assert.equal(Array.from(tensors.get("d")!.data), [0.25]);
  assert.equal(tensors.get("e")!.data.length, 0);
});

Weights("the encoder writes the specification's bytes: u64 length, JSON padded with spaces to 8, little-endian data", () => {
  const bytes = encodeSafetensors([{ name: "w", shape: [1, 2], data: new Float32Array([1, -2]) }], { k: "v" });
  const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}';
  const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
  assert.equal(Array.from(bytes), Array.from(file(padded, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0])));
  assert.is((8 + padded.length) % 8, 0, "the data starts at a multiple of 8");
});

Weights("save → load: the same bits (NaN payloads, −0, infinities, subnormals) and the same predictions", () => {
  for (const bias of [false, true]) {
    const model = createMlp([6, 5, 4, 3], { seed: 7, bias });
    const w = model.layers[0].w.toArray();
    const bits = new Uint32Array(w.buffer);
    bits[0] = 0x7fc01234; bits[1] = 0xffbfffff; bits[2] = 0x80000000; bits[3] = 0x00000001; bits[4] = 0x7f800000;
    assign(model.layers[0].w, w);
    const saved = saveWeights(model);
    const loaded = loadWeights(saved);
    assert.equal(loaded.sizes, [6, 5, 4, 3]);
    assert.equal(loaded.sequence.map((l) => l.kind), ["dense", "relu", "dense", "relu", "dense"]);
    assert.equal(modelBits(loaded), modelBits(model), `bias ${bias}: bits`);
    assert.equal(Array.from(saveWeights(loaded)), Array.from(saved), `bias ${bias}: saved again, the same bytes`);
    const x = inputs(3).uniform(7 * 6);
    const a = predict(model, tensor(x, [7, 6])), b = predict(loaded, x);
    assertSameBits(b.probabilities, a.probabilities, "probabilities");
    assert.equal(Array.from(b.labels), Array.from(a.labels));
  }
  // Into an existing model: its own tensors take the file's values.
  const model = createMlp([6, 5, 3], { seed: 2, bias: true });
  const other = createMlp([6, 5, 3], { seed: 9, bias: true });
  assert.is(loadWeights(saveWeights(model), other), other, "returns the model given");
  assert.equal(modelBits(other), modelBits(model));
});

Weights("PyTorch's names and layouts: i.weight [out, in] for nn.Sequential index i, and the metadata", () => {
  const model = createMlp([4, 3, 2], { seed: 1, bias: true });
  const { tensors, metadata } = parseSafetensors(saveWeights(model, { outputs: "targets", metadata: { note: "x" } }));
  assert.equal([...tensors.keys()], ["0.weight", "0.bias", "2.weight", "2.bias"]);
  assert.equal(tensors.get("0.weight")!.shape, [3, 4]);
  assert.equal(tensors.get("2.weight")!.shape, [2, 3]);
  assert.equal(bitsOf(tensors.get("2.weight")!.data), bitsOf(model.layers[1].w.toArray()));
  assert.is(metadata["fwdgrad.layers"], "dense,relu,dense");
  assert.is(metadata["fwdgrad.sizes"], "4,3,2");
  assert.is(metadata["fwdgrad.bias"], "true");
  assert.is(metadata["fwdgrad.outputs"], "targets");
  assert.is(metadata.format, "pt");
  assert.is(metadata.note, "x");
  assert.match(metadata["fwdgrad.version"], /^\d+\.\d+\.\d+/);
});

Weights("a file without fwdgrad's metadata is read as nn.Sequential(Linear, ReLU, …, Linear)", () => {
  const w0 = new Float32Array([1, 0, 0, 1, -1, -1]), w2 = new Float32Array([1, 2, 3, 4, 5, 6]);
  const model = loadWeights(encodeSafetensors([{ name: "2.weight", shape: [2, 3], data: w2 }, { name: "0.weight", shape: [3, 2], data: w0 }]));
  assert.equal(model.sizes, [2, 3, 2]);
  assert.equal(model.sequence.map((l) => l.kind), ["dense", "relu", "dense"]);
  // x = [1, 2]: s0 = [1, 2, −3], relu [1, 2, 0], s2 = [1·1 + 2·2, 4·1 + 5·2] = [5, 14].
  const { probabilities, labels } = predict(model, new Float32Array([1, 2]), { outputs: "targets" });
  assert.equal(Array.from(probabilities), [5, 14]);
  assert.is(labels.length, 0);
  const classes = predict(model, new Float32Array([1, 2]));
  assert.equal(Array.from(classes.labels), [1]);
  assert.ok(Math.abs(classes.probabilities[1] - 1 / (1 + Math.exp(-9))) < 1e-7);
  assertFwdgradError(() => loadWeights(encodeSafetensors([{ name: "0.weight", shape: [3, 2], data: w0 }, { name: "1.weight", shape: [2, 3], data: w2 }])), /Linear at 0, 2, 4/);
  assertFwdgradError(() => loadWeights(encodeSafetensors([{ name: "fc.weight", shape: [3, 2], data: w0 }])), /"fc\.weight" is not named as/);
});

Weights("convolutional models: save → load the same bits and predictions, geometry recorded; damaged geometry refused", () => {
  const cnn = createCnn({ channels: 3, seed: 4 });
  const pooled = sequential([
    conv2dLayer(1, 2, [3, 3], [4, 4], rng(5), { padding: 1, stride: [1, 1], dilation: 1 }), reluLayer(), maxPool2dLayer(2, [4, 4], 2), dense(8, 3, rng(6)),
  ]);
  for (const [name, model] of [["MNIST-1D CNN", cnn], ["conv2d and a pool", pooled]] as const) {
    const bytes = saveWeights(model);
    const back = loadWeights(bytes);
    assert.equal(modelBits(back), modelBits(model), `${name}: bits`);
    assert.equal(back.sequence.map((l) => l.kind), model.sequence.map((l) => l.kind), `${name}: layers`);
    const rows = inputs(7).uniform(3 * model.sizes[0]);
    assertSameBits(predict(back, rows).probabilities, predict(model, rows).probabilities, `${name}: predictions`);
    // Into a model of the same architecture: its own tensors take the values.
    const fresh = name === "MNIST-1D CNN" ? createCnn({ channels: 3, seed: 9 }) : pooled;
    assert.equal(modelBits(loadWeights(bytes, fresh)), modelBits(model), `${name}: into`);
  }
  const file = parseSafetensors(saveWeights(cnn));
  assert.equal(JSON.parse(file.metadata["fwdgrad.geometry"]), {
    0: { input: [40], stride: [2], padding: [1], dilation: [1] }, 2: { input: [19], stride: [2], padding: [1], dilation: [1] }, 4: { input: [10], stride: [2], padding: [1], dilation: [1] },
  });
  assert.is(file.metadata["fwdgrad.layers"], "conv1d,relu,conv1d,relu,conv1d,relu,dense");
  const forged = (geometry: string | undefined) => {
    const metadata = { ...file.metadata };
    if (geometry === undefined) delete metadata["fwdgrad.geometry"];
    else metadata["fwdgrad.geometry"] = geometry;
    return encodeSafetensors([...file.tensors].map(([n, t]) => ({ name: n, ...t })), metadata);
  };
  assertFwdgradError(() => loadWeights(forged(undefined)), /loadWeights: the file's convolution or pooling layers need fwdgrad.geometry, which it lacks/);
  assertFwdgradError(() => loadWeights(forged("{")), /loadWeights: fwdgrad.geometry is not JSON/);
  assertFwdgradError(() => loadWeights(forged('{"0":{"input":[40],"stride":[0],"padding":[1],"dilation":[1]}}')), /loadWeights: layer 0's stride must be 1 integer\(s\) ≥ 1, got \[0\]/);
  assertFwdgradError(() => loadWeights(forged(file.metadata["fwdgrad.geometry"].replace('"input":[40]', '"input":[41]'))), /loadWeights: linear layer 1 takes 57 features, the layer before gives 60/);
  assertFwdgradError(() => loadWeights(saveWeights(cnn), createCnn({ channels: 4 })), /loadWeights: the file's model .* is not the model's/);
});

Weights("loading into a model of another architecture is refused, naming both", () => {
  const bytes = saveWeights(createMlp([4, 8, 3], { seed: 1 }));
  assertFwdgradError(() => loadWeights(bytes, createMlp([4, 6, 3])), /the file's model \(\[4, 8, 3\], no biases\) is not the model's \(\[4, 6, 3\], no biases\)/);
  assertFwdgradError(() => loadWeights(bytes, createMlp([4, 8, 3], { bias: true })), /no biases\) is not the model's \(\[4, 8, 3\], with biases\)/);
  assertFwdgradError(() => loadWeights(bytes, createMlp([4, 8, 8, 3])), /is not the model's/);
  assertFwdgradError(() => predict(createMlp([4, 3]), new Float32Array(5)), /not whole rows of the model's 4 features/);
});

Weights("damaged and forged files: one line naming what is wrong", () => {
  const f32 = (name: string, shape: string, offsets: string) => `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;
  const eight = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(5), /5 bytes is too short/],
    [file("{}", [], 50), /header length 50 is beyond the file/],
    [new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x80]), /header length 9223372036854775808 is beyond the limit/],
    [file("{nope", []), /not valid JSON/],
    [file("[1]", []), /must be a JSON object starting/],
    [file(`{${f32("a", "[2]", "[0,8]")},${f32("a", "[2]", "[0,8]")}}`, eight), /names "a" twice/],
    [file(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, eight), /unknown dtype "F33"/],
    [file(`{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, eight), /dtype I32 is not a floating-point type/],
    [file(`{${f32("a", "[3]", "[0,8]")}}`, eight), /shape \[3\] of F32 takes 12 bytes, data_offsets \[0, 8\] give 8/],
    [file(`{${f32("a", "[2]", "[0,8]")},${f32("b", "[1]", "[4,8]")}}`, eight), /overlap/],
    [file(`{${f32("a", "[1]", "[4,8]")}}`, eight), /leave a hole after byte 0/],
    [file(`{${f32("a", "[1]", "[0,4]")}}`, eight), /4 bytes after its last tensor/],
    [file(`{${f32("a", "[4]", "[0,16]")}}`, eight), /beyond the data \(8 bytes\)/],
    [file(`{${f32("a", "[-2]", "[0,8]")}}`, eight), /shape must be a list of integers/],
    [file(`{${f32("a", "[2]", "[8,0]")}}`, eight), /end before they begin/],
    [file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, eight), /unknown field "x"/],
    [file(`{"__metadata__":{"k":1}}`, []), /__metadata__ "k" must be a string/],
    [new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0xff]), /not valid UTF-8/],
  ];
  for (const [bytes, pattern] of cases) {
    assertFwdgradError(() => parseSafetensors(bytes), pattern);
    try {
      parseSafetensors(bytes);
    } catch (error) {
      assert.not.match((error as Error).message, /[\r\n]/, "one line");
    }
  }
  assertFwdgradError(() => loadWeights(saveWeights(createMlp([2, 2]), { metadata: { "fwdgrad.sizes": "2,3" } })), /fwdgrad.sizes says "2,3", the tensors' shapes give 2,2/);
});

Weights.run();
