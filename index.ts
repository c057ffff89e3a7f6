// fwdgrad: forward-mode AD and forward-gradient training in TypeScript + WebAssembly SIMD.
export * from "./engine/index.ts";
