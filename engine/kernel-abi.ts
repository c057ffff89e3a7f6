// The kernel ABI, declared once: every kernel of kernels-as/, grouped by the file it lives in, with
// its parameters in order (name and AssemblyScript type) and its result. Everything else is checked
// against this table: scripts/build-wasm.mjs fails on an AS export whose name, parameter names, order
// or types differ, or whose compiled wasm types differ; engine/wasm.ts checks names and arities at
// load time; the TS twins in engine/kernels-ref/ are typed by it (exact arity, via `twins`) and
// scripts/check-source.mjs compares their parameter names and files; tests/engine/kernels.test.ts
// fails when a kernel has no wasm-vs-twin comparison.
// Types: usize is a byte address into the engine's memory, bool arrives as 0/1; usize, bool, i32 and
// u32 are wasm i32, f32 and f64 themselves. On the TS side every parameter and result is a number.

/** The AssemblyScript types that cross the boundary. */
export type AbiType = "usize" | "i32" | "u32" | "bool" | "f32" | "f64";

/** One kernel: `"name: type"` per parameter, in order, and the result type. */
export interface Signature {
  readonly params: readonly `${string}: ${AbiType}`[];
  readonly result: "void" | AbiType;
}

export const KERNEL_ABI = {
  elementwise: {
    add_f32: { params: ["outPtr: usize", "aPtr: usize", "bPtr: usize", "n: i32"], result: "void" },
    sub_f32: { params: ["outPtr: usize", "aPtr: usize", "bPtr: usize", "n: i32"], result: "void" },
    mul_f32: { params: ["outPtr: usize", "aPtr: usize", "bPtr: usize", "n: i32"], result: "void" },
    div_f32: { params: ["outPtr: usize", "aPtr: usize", "bPtr: usize", "n: i32"], result: "void" },
    scale_f32: { params: ["outPtr: usize", "xPtr: usize", "c: f32", "n: i32"], result: "void" },
    neg_f32: { params: ["outPtr: usize", "xPtr: usize", "n: i32"], result: "void" },
    relu_f32: { params: ["outPtr: usize", "xPtr: usize", "n: i32"], result: "void" },
    relu_jvp_f32: { params: ["outPtr: usize", "xPtr: usize", "dxPtr: usize", "n: i32"], result: "void" },
    exp_f32: { params: ["outPtr: usize", "xPtr: usize", "n: i32"], result: "void" },
    log_f32: { params: ["outPtr: usize", "xPtr: usize", "n: i32"], result: "void" },
  },
  reduce: {
    sum_axis_f32: { params: ["outPtr: usize", "xPtr: usize", "outer: i32", "len: i32", "inner: i32"], result: "void" },
    max_axis_f32: { params: ["outPtr: usize", "xPtr: usize", "outer: i32", "len: i32", "inner: i32"], result: "void" },
    max_jvp_f32: {
      params: ["outPtr: usize", "xPtr: usize", "maxPtr: usize", "dxPtr: usize", "outer: i32", "len: i32", "inner: i32"],
      result: "void",
    },
  },
  matmul: {
    gemm_scratch_f32: { params: [], result: "i32" },
    gemm_f32: {
      params: [
        "outPtr: usize", "aPtr: usize", "bPtr: usize", "packPtr: usize",
        "batch: i32", "m: i32", "k: i32", "n: i32", "aStride: i32", "bStride: i32",
        "transA: bool", "transB: bool", "rowFrom: i32", "rowTo: i32",
      ],
      result: "void",
    },
    gemm_drawn_scratch_f32: { params: [], result: "i32" },
    gemm_drawn_f32: {
      params: [
        "outPtr: usize", "aPtr: usize", "packPtr: usize", "batch: i32", "m: i32", "k: i32", "n: i32", "aStride: i32", "transA: bool",
        "dist: i32", "k0: u32", "k1: u32", "c0: u32", "c1: u32", "colFrom: i32", "colTo: i32",
      ],
      result: "void",
    },
    transpose_f32: { params: ["outPtr: usize", "xPtr: usize", "batch: i32", "rows: i32", "cols: i32"], result: "void" },
    gemv_f32: { params: ["yPtr: usize", "aPtr: usize", "xPtr: usize", "m: i32", "n: i32", "trans: bool"], result: "void" },
    rowdots_f32: { params: ["outPtr: usize", "aPtr: usize", "cPtr: usize", "batch: i32", "m: i32", "n: i32", "k: i32"], result: "void" },
    masked_products_scratch: { params: ["d: i32", "c: i32"], result: "i32" },
    masked_products_f32: { params: ["outPtr: usize", "xPtr: usize", "gramPtr: usize", "maskPtr: usize", "workPtr: usize", "batch: i32", "d: i32", "c: i32"], result: "void" },
  },
  layout: {
    repeat_axis_f32: { params: ["outPtr: usize", "xPtr: usize", "outer: i32", "times: i32", "inner: i32"], result: "void" },
    gather_rows_f32: { params: ["outPtr: usize", "xPtr: usize", "indexPtr: usize", "count: i32", "rowLen: i32"], result: "void" },
  },
  conv: {
    im2col_f32: {
      params: [
        "outPtr: usize", "xPtr: usize", "batch: i32", "channels: i32", "height: i32", "width: i32", "kernelH: i32", "kernelW: i32",
        "outH: i32", "outW: i32", "strideH: i32", "strideW: i32", "padH: i32", "padW: i32", "dilationH: i32", "dilationW: i32",
      ],
      result: "void",
    },
    col2im_f32: {
      params: [
        "outPtr: usize", "colsPtr: usize", "batch: i32", "channels: i32", "height: i32", "width: i32", "kernelH: i32", "kernelW: i32",
        "outH: i32", "outW: i32", "strideH: i32", "strideW: i32", "padH: i32", "padW: i32", "dilationH: i32", "dilationW: i32",
      ],
      result: "void",
    },
  },
  loss: {
    softmax_xent_f32: { params: ["lossPtr: usize", "zPtr: usize", "labelsPtr: usize", "rows: i32", "cols: i32"], result: "void" },
    softmax_xent_jvp_f32: {
      params: ["outPtr: usize", "zPtr: usize", "labelsPtr: usize", "dzPtr: usize", "rows: i32", "cols: i32"],
      result: "void",
    },
  },
  random: {
    philox_block_u32: {
      params: ["outPtr: usize", "k0: u32", "k1: u32", "c0: u32", "c1: u32", "c2: u32", "c3: u32"],
      result: "void",
    },
    philox_uniform_f32: { params: ["outPtr: usize", "n: i32", "k0: u32", "k1: u32", "c0: u32", "c1: u32"], result: "void" },
    philox_normal_f32: { params: ["outPtr: usize", "n: i32", "k0: u32", "k1: u32", "c0: u32", "c1: u32"], result: "void" },
    philox_sign_f32: { params: ["outPtr: usize", "n: i32", "k0: u32", "k1: u32", "c0: u32", "c1: u32"], result: "void" },
    drawn_combination_scratch_f32: { params: [], result: "i32" },
    drawn_combination_f32: {
      params: [
        "outPtr: usize", "workPtr: usize", "coefPtr: usize", "count: i32", "size: i32", "from: i32", "to: i32", "scale: f32",
        "dist: i32", "k0: u32", "k1: u32", "c0: u32", "c1: u32",
      ],
      result: "void",
    },
  },
  probe: {
    simd_peak_f32: { params: ["outPtr: usize", "iterations: i32"], result: "void" },
    simd_peak_flops_f32: { params: [], result: "i32" },
  },
  svd: {
    svd_scratch_f64: { params: ["m: i32", "n: i32", "full: bool"], result: "i32" },
    svd_f32: {
      params: [
        "uPtr: usize", "sPtr: usize", "vPtr: usize", "aPtr: usize", "workPtr: usize",
        "batch: i32", "m: i32", "n: i32", "full: bool", "maxIter: i32",
      ],
      result: "i32",
    },
  },
  eigh: {
    eigh_scratch_f64: { params: ["n: i32"], result: "i32" },
    eigh_f32: {
      params: ["valuesPtr: usize", "vectorsPtr: usize", "aPtr: usize", "workPtr: usize", "batch: i32", "n: i32", "maxIter: i32"],
      result: "i32",
    },
    qr_scratch_f64: { params: ["m: i32", "n: i32"], result: "i32" },
    qr_f32: {
      params: ["qPtr: usize", "rPtr: usize", "aPtr: usize", "workPtr: usize", "batch: i32", "m: i32", "n: i32"],
      result: "void",
    },
  },
} as const satisfies Record<string, Record<string, Signature>>;

type Abi = typeof KERNEL_ABI;
/** A kernels-as file that defines kernels (and its twin file in engine/kernels-ref/). */
export type KernelFile = keyof Abi;
export type KernelName = { [F in KernelFile]: keyof Abi[F] }[KernelFile];

/** The TS type of a kernel: a number per declared parameter; a number back unless the result is void. */
type KernelFn<S extends Signature> = (...args: Numbers<S["params"]>) => S["result"] extends "void" ? void : number;
type Numbers<P extends readonly unknown[]> = { -readonly [I in keyof P]: number };
type SignatureOf<K extends KernelName> = { [F in KernelFile]: K extends keyof Abi[F] ? Abi[F][K] : never }[KernelFile];

/** The kernels of one file, as functions. */
export type KernelsOf<F extends KernelFile> = { [K in keyof Abi[F]]: Abi[F][K] extends Signature ? KernelFn<Abi[F][K]> : never };
/** The whole kernel set: the WebAssembly exports and the TS twins both have this shape. */
export type Kernels = { [K in KernelName]: SignatureOf<K> extends Signature ? KernelFn<SignatureOf<K>> : never };

// TypeScript accepts a function with fewer parameters where more are expected; this turns a twin
// whose parameter count differs from the declaration into a type error that names the kernel.
type ExactArity<T, F extends KernelFile> = {
  [K in keyof T]: K extends keyof Abi[F]
    ? T[K] extends (...args: infer A) => unknown
      ? A["length"] extends Arity<Abi[F][K]> ? T[K] : `${K & string} takes ${Arity<Abi[F][K]>} parameters`
      : never
    : `${K & string} is not a kernel of kernels-as/${F}.ts`;
};
type Arity<S> = S extends Signature ? S["params"]["length"] : never;

/**
 * Types the TS twins of kernels-as/<file>.ts against the declaration: every kernel of that file,
 * no other, each with exactly the declared number of parameters. `file` is there for the type
 * checker (and scripts/check-source.mjs); at run time `fns` is returned unchanged.
 */
export function twins<F extends KernelFile, T extends KernelsOf<F>>(file: F, fns: T & ExactArity<T, F>): KernelsOf<F> {
  return fns;
}

/** One parameter, parsed. */
export interface AbiParam {
  name: string;
  type: AbiType;
}

/** One kernel, parsed: its name, its file, its parameters in order and its result type. */
export interface KernelSignature {
  name: KernelName;
  file: KernelFile;
  params: AbiParam[];
  result: Signature["result"];
}

/** Every declared kernel, file by file, in declaration order. */
export const KERNELS: readonly KernelSignature[] = Object.entries(KERNEL_ABI).flatMap(([file, kernels]) =>
  Object.entries(kernels as Record<string, Signature>).map(([name, sig]) => ({
    name: name as KernelName,
    file: file as KernelFile,
    params: sig.params.map((p) => {
      const [paramName, type] = p.split(": ");
      return { name: paramName, type: type as AbiType };
    }),
    result: sig.result,
  })),
);
