// The kernel module's exports: every exported function of the kernel files, pure functions over byte
// pointers into the engine's imported memory. engine/kernel-abi.ts declares each one's signature;
// engine/kernels-ref/ holds their TypeScript twins, file for file.
export * from "./elementwise";
export * from "./reduce";
export * from "./matmul";
export * from "./layout";
export * from "./conv";
export * from "./loss";
export * from "./random";
export * from "./probe";
export * from "./svd";
export * from "./eigh";
