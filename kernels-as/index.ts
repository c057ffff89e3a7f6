// The kernel module's exports: pure functions over byte pointers into the engine's imported memory.
// engine/kernels-ref.ts holds a TypeScript twin of each, with the same name and parameters.
export { add_f32, sub_f32, mul_f32, div_f32, scale_f32, neg_f32, relu_f32, relu_jvp_f32, exp_f32, log_f32 } from "./elementwise";
export { sum_axis_f32, max_axis_f32, max_jvp_f32 } from "./reduce";
export { gemm_f32, gemm_scratch_f32, gemv_f32, transpose_f32 } from "./matmul";
export { repeat_axis_f32, gather_rows_f32 } from "./layout";
export { softmax_xent_f32, softmax_xent_jvp_f32 } from "./loss";
export { philox_block_u32, philox_uniform_f32, philox_normal_f32 } from "./random";
export { svd_f32, svd_scratch_f64 } from "./svd";
export { eigh_f32, eigh_scratch_f64, qr_f32, qr_scratch_f64 } from "./eigh";
