// Pins of the published MNIST-1D (Greydanus 2020, seed 42, default arguments), so the tests can check
// the generator against it without reading the data set itself. Taken once from the published set's
// arrays saved as little-endian float32 / uint8 binaries (train-x.f32, train-y.u8, test-x.f32,
// test-y.u8). To re-derive: `sha256sum` of those four files gives the hashes; the values are those
// files read as Float32Array / Uint8Array at the indices below.

export const published = {
  /** SHA-256 (hex) of each file's bytes. */
  sha256: {
    trainX: "d53506bddd12d3b72c7153b1ae7f34807724b1dd078a7273809bf9d0792319f6",
    trainY: "6e13c7aab5f831266ec59efd193e310c511faefd71cfc5d39427c20337df4dc6",
    testX: "30addc43827c82aafa5db8bc97cea63349ca687e87db2f201cc4f5415d9a4ebd",
    testY: "9486539f99fcca7dc5923aba4d0cb5b7963f8e8e1f74398ca33a64ccb3b5b654",
  },
  /** [flat index, value] of x (row-major [n, 40]); each value is an exact float32. */
  trainX: [
    [0, -0.33200567960739136], [1, -0.47191035747528076], [2, -0.7786970734596252], [41, 2.3002126216888428],
    [80000, 0.9140787720680237], [159997, -1.216245174407959], [159998, -1.4649417400360107], [159999, -1.6509928703308105],
  ],
  testX: [
    [0, -0.07877077907323837], [1, -0.21073170006275177], [2, -0.09175138175487518], [41, 0.7310722470283508],
    [20000, 1.586790680885315], [39997, 0.6598756313323975], [39998, 0.877734363079071], [39999, 1.193151831626892],
  ],
  /** Examples per class 0..9. */
  trainCounts: [398, 396, 411, 394, 394, 402, 401, 404, 402, 398],
  testCounts: [102, 104, 89, 106, 106, 98, 99, 96, 98, 102],
  /** The first ten labels. */
  trainYHead: [2, 6, 4, 5, 6, 6, 6, 0, 3, 1],
  testYHead: [2, 6, 3, 9, 4, 3, 1, 9, 5, 2],
} as const;
