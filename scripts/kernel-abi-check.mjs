// Checks the kernels against their one declaration, engine/kernel-abi.ts: the AssemblyScript exports
// (names, parameter names, order, types, results), the compiled module's wasm types, the TS twins'
// parameter names, and that engine/kernels-ref/ mirrors kernels-as/ file for file. Each check
// returns a list of problems (empty when all is well). Used by build-wasm.mjs and check-source.mjs.
import { readdirSync, readFileSync } from "node:fs";
import { tsImport } from "tsx/esm/api";

export const AS_DIR = "kernels-as";
export const TWIN_DIR = "engine/kernels-ref";
/** Files under kernels-as/ that the twins import instead of mirroring (constants in the common subset). */
const SHARED = new Set(["shared"]);

/** The parsed declaration: `KERNELS`, one { name, file, params: [{ name, type }], result } per kernel. */
export async function loadAbi() {
  return tsImport("../engine/kernel-abi.ts", import.meta.url);
}

const baseNames = (dir) => readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();
const show = (params) => `(${params.map((p) => (p.type ? `${p.name}: ${p.type}` : p.name)).join(", ")})`;

/** `(a: T, b: U): R` text -> params [{ name, type }] and the result. */
function parseParams(text) {
  return text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [name, type] = p.split(":").map((s) => s.trim());
      return { name, type };
    });
}

/** The exported functions of an AssemblyScript file. */
function asExports(source) {
  return [...source.matchAll(/export\s+function\s+(\w+)\s*\(([^)]*)\)\s*:\s*(\w+)/g)].map(([, name, params, result]) => ({
    name,
    params: parseParams(params),
    result,
  }));
}

/** Method definitions `name(a: number, …): T {` in a twin file, for the given kernel names. */
function twinMethods(source, names) {
  return [...source.matchAll(/^\s+(\w+)\(([^)]*)\)\s*:\s*\w+\s*\{/gm)]
    .filter(([, name]) => names.has(name))
    .map(([, name, params]) => ({ name, params: parseParams(params).map((p) => ({ name: p.name })) }));
}

/** kernels-as/ and engine/kernels-ref/ hold the same file names (kernels-as/shared.ts aside). */
export function checkMirror() {
  const as = baseNames(AS_DIR).filter((f) => !SHARED.has(f));
  const twin = baseNames(TWIN_DIR);
  return [
    ...as.filter((f) => !twin.includes(f)).map((f) => `${AS_DIR}/${f}.ts has no twin file ${TWIN_DIR}/${f}.ts`),
    ...twin.filter((f) => !as.includes(f)).map((f) => `${TWIN_DIR}/${f}.ts mirrors no file of ${AS_DIR}/`),
  ];
}

/** Every AS file exports exactly its declared kernels, each with the declared signature. */
export function checkAsSources(kernels) {
  const files = baseNames(AS_DIR);
  const problems = [...new Set(kernels.map((k) => k.file))]
    .filter((file) => !files.includes(file))
    .map((file) => `engine/kernel-abi.ts declares kernels of ${AS_DIR}/${file}.ts, which does not exist`);
  for (const file of files) {
    if (file === "index" || SHARED.has(file)) continue;
    const path = `${AS_DIR}/${file}.ts`;
    const exported = asExports(readFileSync(path, "utf8"));
    const declared = kernels.filter((k) => k.file === file);
    // Files without declared kernels (math.ts, f64.ts) hold helpers the kernel files import.
    if (declared.length === 0) continue;
    for (const k of declared) {
      const got = exported.find((e) => e.name === k.name);
      if (!got) problems.push(`${path}: no export ${k.name} (declared in engine/kernel-abi.ts)`);
      else if (show(got.params) + got.result !== show(k.params) + k.result) {
        problems.push(`${path}: ${k.name}${show(got.params)}: ${got.result}, declared ${show(k.params)}: ${k.result}`);
      }
    }
    for (const e of exported) if (!declared.some((k) => k.name === e.name)) problems.push(`${path}: export ${e.name} is not declared in engine/kernel-abi.ts under ${file}`);
  }
  return problems;
}

/** Each twin sits in the twin file named like its kernel's AS file, with the declared parameter names in order. */
export function checkTwinSources(kernels) {
  const problems = [];
  const names = new Set(kernels.map((k) => k.name));
  const found = new Map();
  for (const file of baseNames(TWIN_DIR)) {
    const path = `${TWIN_DIR}/${file}.ts`;
    const source = readFileSync(path, "utf8");
    const declared = kernels.filter((k) => k.file === file);
    const typed = source.includes(`twins("${file}",`);
    if (declared.length > 0 && !typed) problems.push(`${path}: its twins are not typed with twins("${file}", …)`);
    if (declared.length === 0 && /\btwins\(/.test(source)) problems.push(`${path}: defines twins, but kernels-as/${file}.ts declares no kernels`);
    for (const m of twinMethods(source, names)) {
      if (found.has(m.name)) problems.push(`${path}: ${m.name} is defined twice (also in ${found.get(m.name)})`);
      found.set(m.name, path);
      const k = kernels.find((d) => d.name === m.name);
      if (k.file !== file) problems.push(`${path}: ${m.name} belongs in ${TWIN_DIR}/${k.file}.ts, beside kernels-as/${k.file}.ts`);
      else if (show(m.params) !== show(k.params.map((p) => ({ name: p.name })))) {
        problems.push(`${path}: ${m.name}${show(m.params)}, declared ${show(k.params.map((p) => ({ name: p.name })))}`);
      }
    }
  }
  for (const k of kernels) if (!found.has(k.name)) problems.push(`${TWIN_DIR}/${k.file}.ts: no method ${k.name}(…) {…}`);
  return problems;
}

const WASM_TYPE = { usize: "i32", i32: "i32", u32: "i32", bool: "i32", f32: "f32", f64: "f64" };
const VALTYPE = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" };

/** The function exports of a wasm binary: name -> { params, results } as wasm value type names. */
function wasmFunctionExports(bytes) {
  let pos = 8;
  const u32 = () => {
    let result = 0, shift = 0, byte;
    do {
      byte = bytes[pos++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return result >>> 0;
  };
  const name = () => {
    const length = u32();
    pos += length;
    return new TextDecoder().decode(bytes.subarray(pos - length, pos));
  };
  const limits = () => {
    const flags = bytes[pos++];
    u32();
    if (flags & 1) u32();
  };
  const types = [], functionTypes = [], exports = new Map();
  while (pos < bytes.length) {
    const id = bytes[pos++], size = u32(), end = pos + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        pos++; // 0x60: a function type
        const params = Array.from({ length: u32() }, () => VALTYPE[bytes[pos++]]);
        const results = Array.from({ length: u32() }, () => VALTYPE[bytes[pos++]]);
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name();
        name();
        const kind = bytes[pos++];
        if (kind === 0) functionTypes.push(u32());
        else if (kind === 1) {
          pos++;
          limits();
        } else if (kind === 2) limits();
        else pos += 2;
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) functionTypes.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const exportName = name();
        const kind = bytes[pos++], index = u32();
        if (kind === 0) exports.set(exportName, types[functionTypes[index]]);
      }
    }
    pos = end;
  }
  return exports;
}

/** The compiled module exports exactly the declared kernels, with the declared wasm parameter and result types. */
export function checkWasm(bytes, kernels) {
  const problems = [];
  const exports = wasmFunctionExports(bytes);
  for (const k of kernels) {
    const got = exports.get(k.name);
    if (!got) {
      problems.push(`kernels.wasm: no export ${k.name}`);
      continue;
    }
    const want = { params: k.params.map((p) => WASM_TYPE[p.type]), results: k.result === "void" ? [] : [WASM_TYPE[k.result]] };
    const text = (t) => `(${t.params.join(", ")}) -> (${t.results.join(", ")})`;
    if (text(got) !== text(want)) problems.push(`kernels.wasm: ${k.name} is ${text(got)}, declared ${text(want)}`);
  }
  for (const name of exports.keys()) if (!kernels.some((k) => k.name === name)) problems.push(`kernels.wasm: export ${name} is not declared`);
  return problems;
}
