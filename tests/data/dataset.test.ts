// The data parsers, in every runtime: the CSV header rule and line/column numbers, plain decimal
// numbers only, binary splits counted from 1, and meta.json validated without a file system.
import { isDecimalNumber, parseBinarySplit, parseCsvSplit, parseDataFolderMeta, splitRows } from "../../data/dataset.ts";
import { assert, assertFwdgradError, suite } from "../harness.ts";

const Dataset = suite("dataset parsers");

Dataset("decimal numbers: signs, fractions and exponents; nothing else", () => {
  for (const text of ["0", "-3", "+2", "1e-4", "1E+4", ".5", "3.", "007", "-0.25e3"]) assert.ok(isDecimalNumber(text), text);
  for (const text of ["", " 1", "1 ", "0x10", "0o7", "0b1", "Infinity", "NaN", ".", "e5", "1e", "1_0", "1,5", "--1", "٣", "1e5.5"]) {
    assert.not.ok(isDecimalNumber(text), JSON.stringify(text));
  }
  // Linear time on long non-numbers: no catastrophic backtracking.
  assert.not.ok(isDecimalNumber(`${"1".repeat(200_000)}x`));
});

Dataset("CSV: a header is a first row with no number in it", () => {
  const withHeader = parseCsvSplit("d.csv", "a,b,label\n0.5,1,0\n-2,3e1,2\n");
  assert.is(withHeader.split.n, 2);
  assert.equal([...withHeader.split.x], [0.5, 1, -2, 30]);
  assert.equal([...withHeader.split.y], [0, 2]);
  assert.is(withHeader.classes, 3);
  assert.is(parseCsvSplit("d.csv", ",x,label\n1,2,0\n").split.n, 1, "a header may have an empty name (a pandas index)");
  assert.is(parseCsvSplit("d.csv", "1,2,0\n3,4,1\n").split.n, 2, "no header: every row is data");
  assertFwdgradError(() => parseCsvSplit("d.csv", "NaN,1,0\n1,2,0\n"), /^d\.csv: line 1, column 1 is "NaN", not a finite float32 number$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", ",1,0\n1,2,0\n"), /^d\.csv: line 1, column 1 is "", not a finite float32 number; a header row holds no numbers at all$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "a,1,label\n1,2,0\n"), /^d\.csv: line 1, column 1 is "a", not a finite float32 number; a header row holds no numbers at all$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,label\n1,2,0\n"), /^d\.csv: line 1, column 3: label "label" is not an integer in \[0, 16777216\); a header row holds no numbers at all$/);
  // A row of empty cells names nothing, so it is no header.
  assertFwdgradError(() => parseCsvSplit("d.csv", ",,\n1,2,0\n"), /^d\.csv: line 1, column 1 is ""/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "a,b,label\n"), /^d\.csv: no data rows after the header on line 1$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "# only\n\n"), /^d\.csv: no rows$/);
});

Dataset("CSV: errors name the file, the physical line and the column, counted from 1", () => {
  const text = "# comment\r\n\r\nx,y,label\r\n1, 2 ,0\r\n1,q,1\r\n";
  assertFwdgradError(() => parseCsvSplit("d.csv", text), /^d\.csv: line 5, column 2 is "q", not a finite float32 number$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n\n1,2\n"), /^d\.csv: line 3 has 2 columns, expected 3 \(as on line 1\)$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,0x10,1\n"), /^d\.csv: line 2, column 2 is "0x10"/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1e39,2,1\n"), /^d\.csv: line 2, column 1 is "1e39", not a finite float32 number$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,2,-1\n"), /^d\.csv: line 2, column 3: label "-1" is not an integer in \[0, 16777216\)$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,2,2.5\n"), /^d\.csv: line 2, column 3: label "2\.5"/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,2,0\n1,2,3\n", 3), /^d\.csv: line 2, column 3: label "3" is not an integer in \[0, 3\)$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "1,0\n", 0), /^d\.csv: classes must be an integer in \[1, 16777216\], got 0$/);
  assertFwdgradError(() => parseCsvSplit("d.csv", "label\n1\n"), /^d\.csv: line 2 has 1 column; rows need at least one feature and a label$/);
  assert.equal([...parseCsvSplit("d.csv", "1,2,0\n1,2,2.0\n").split.y], [0, 2], "an integer label may be written 2.0");
});

Dataset("splitRows names its source when the rows cannot be split", () => {
  const one = parseCsvSplit("d.csv", "1,2,0\n");
  assertFwdgradError(() => splitRows(one.split, one.features, 0.8, "d.csv"), /^d\.csv: 1 data row cannot be split 80\/20 into non-empty train and test sets$/);
  const two = parseCsvSplit("d.csv", "1,2,0\n3,4,1\n");
  const { train, test } = splitRows(two.split, two.features, 0.8, "d.csv");
  assert.equal([train.n, test.n], [1, 1]);
});

Dataset("binary splits: rows and features counted from 1, labels blamed on the label file, empty refused", () => {
  const x = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
  assert.equal([...parseBinarySplit("x.f32", x, Uint8Array.of(0, 2), 3, 3, "y.u8").y], [0, 2]);
  assertFwdgradError(() => parseBinarySplit("x.f32", x, Uint8Array.of(0, 3), 3, 3, "y.u8"), /^y\.u8: label 3 at row 2 is outside \[0, 3\)$/);
  const nan = new Uint8Array(Float32Array.from([1, NaN, 3]).buffer);
  assertFwdgradError(() => parseBinarySplit("x.f32", nan, Uint8Array.of(0), 3, 3), /^x\.f32: row 1, feature 2 is NaN$/);
  assertFwdgradError(() => parseBinarySplit("x.f32", new Uint8Array(0), new Uint8Array(0), 3, 3), /^x\.f32: no rows/);
  assertFwdgradError(() => parseBinarySplit("x.f32", x, Uint8Array.of(0, 1), 3, 300), /^x\.f32: 300 classes do not fit in byte labels; store them as 4-byte labels \("labelBytes": 4\)$/);
  assertFwdgradError(() => parseBinarySplit("x.f32", x, Uint8Array.of(0), 3, 3, "y.u8"), /^y\.u8: y has 1 labels for 2 rows of x$/);
});

Dataset("meta.json: the published format is accepted, n optional, other keys ignored", () => {
  const published = {
    dataset: "MNIST-1D", train: { x: "train-x.f32", y: "train-y.u8", n: 4000 }, test: { x: "test-x.f32", y: "sub/test-y.u8" },
    features: 40, classes: 10, x_dtype: "float32 little-endian",
  };
  assert.equal(parseDataFolderMeta(JSON.stringify(published)), {
    train: { x: "train-x.f32", y: "train-y.u8", n: 4000 }, test: { x: "test-x.f32", y: "sub/test-y.u8" }, features: 40, classes: 10, labelBytes: 1,
  });
});

Dataset("meta.json: every fault is one FwdgradError naming the file", () => {
  const base = (): Record<string, any> => ({ train: { x: "a.f32", y: "a.u8", n: 4 }, test: { x: "b.f32", y: "b.u8" }, features: 3, classes: 2 });
  const variant = (edit: (m: Record<string, any>) => void) => {
    const m = base();
    edit(m);
    return JSON.stringify(m);
  };
  const cases: Array<[string, RegExp]> = [
    ["{ train: ", /^m\.json: not valid JSON \(/],
    ["", /^m\.json: not valid JSON/],
    ["null", /^m\.json: expected a JSON object, got null$/],
    ["[1]", /^m\.json: expected a JSON object, got an array$/],
    ['"text"', /^m\.json: expected a JSON object, got "text"$/],
    [variant((m) => delete m.test), /^m\.json: the "test" split is missing$/],
    [variant((m) => (m.train = null)), /^m\.json: "train" must be an object \{x, y, n\}, got null$/],
    [variant((m) => delete m.train.y), /^m\.json: "train\.y" is missing \(the file's path inside the data folder\)$/],
    [variant((m) => (m.test.x = "")), /^m\.json: "test\.x" must be a file name, got ""$/],
    [variant((m) => (m.test.x = "/etc/passwd")), /^m\.json: "test\.x" is "\/etc\/passwd": files must be named relative to the data folder/],
    [variant((m) => (m.test.x = "C:\\data\\x.f32")), /^m\.json: "test\.x" is .*: files must be named relative/],
    [variant((m) => (m.test.y = "a/../../b.u8")), /^m\.json: "test\.y" is "a\/\.\.\/\.\.\/b\.u8": files must be named relative/],
    [variant((m) => (m.test.y = "a\u0000b")), /^m\.json: "test\.y" is .*: files must be named relative/],
    [variant((m) => (m.train.n = 0)), /^m\.json: "train\.n" is 0: an empty split cannot train or be evaluated$/],
    [variant((m) => (m.train.n = -4)), /^m\.json: "train\.n" must be an integer in \[1, 2\^53\), got -4$/],
    [variant((m) => (m.train.n = "4")), /^m\.json: "train\.n" must be an integer in \[1, 2\^53\), got "4"$/],
    [variant((m) => (m.features = 1.5)), /^m\.json: "features" must be an integer in \[1, 2\^53\), got 1\.5$/],
    [variant((m) => delete m.features), /^m\.json: "features" is missing$/],
    [variant((m) => (m.classes = 0)), /^m\.json: "classes" must be an integer in \[1, 16777216\], got 0$/],
    [variant((m) => (m.classes = 1e300)), /^m\.json: "classes" must be an integer in \[1, 16777216\], got 1e\+300$/],
    [variant((m) => (m.classes = 300)), /^m\.json: 300 classes need "labelBytes": 4/],
    [variant((m) => (m.labelBytes = 2)), /^m\.json: "labelBytes" must be 1 or 4, got 2$/],
    ['{"__proto__": {"x": "a", "y": "b"}, "train": {"x": "a", "y": "b"}, "features": 1, "classes": 1}', /^m\.json: the "test" split is missing$/],
    ['{"constructor": 1, "train": {"x": "a", "y": "b"}, "test": {"x": "a", "y": "b"}, "classes": 1}', /^m\.json: "features" is missing$/],
  ];
  for (const [text, pattern] of cases) assertFwdgradError(() => parseDataFolderMeta(text, "m.json"), pattern);
});

Dataset.run();
