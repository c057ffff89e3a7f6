// Constants the kernels and their TypeScript twins (engine/kernels-ref/) both import, so each is
// defined once. Plain numbers only: this file is in the subset of TypeScript that AssemblyScript
// compiles unchanged (an untyped integer literal is an i32 there, a number here).

// GEMM blocking (kernels-as/matmul.ts): an MR×NR register tile, KC-deep panels, MC×KC blocks of A
// and KC×NC blocks of B.
export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 64;
export const NC = 512;
/** Scratch floats gemm_f32 needs at packPtr: a packed A block, a packed B block and one edge tile. */
export const GEMM_SCRATCH_F32 = MC * KC + KC * NC + MR * NR;
