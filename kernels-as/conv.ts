// Convolution by lowering (im2col, Chellapilla et al. 2006): a convolution's patches laid out as the
// rows of a matrix, so that the convolution, its input adjoint and its weight adjoint are each one
// gemm (kernels-as/matmul.ts) around these two data-movement kernels. Images are row-major
// [batch, channels, height, width] (PyTorch's NCHW; a 1-D signal is an image of height 1). A patch
// row holds (c, kh, kw) in the order of a weight [out, channels, kernelH, kernelW], so the product
// with the weight as a matrix [out, channels·kernelH·kernelW] needs no reordering.
// Both kernels are pure moves and sums of f32 in a fixed order; engine/kernels-ref/conv.ts repeats it.

/**
 * out[(b, oh, ow), (c, kh, kw)] = x[b, c, oh·strideH − padH + kh·dilationH, ow·strideW − padW + kw·dilationW],
 * 0 where that falls in the padding. out is [batch·outH·outW, channels·kernelH·kernelW].
 */
export function im2col_f32(
  outPtr: usize, xPtr: usize, batch: i32, channels: i32, height: i32, width: i32, kernelH: i32, kernelW: i32,
  outH: i32, outW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32, dilationH: i32, dilationW: i32,
): void {
  const planeBytes = (<usize>height * <usize>width) << 2;
  let dst = outPtr;
  for (let b = 0; b < batch; b++) {
    const image = xPtr + <usize>b * <usize>channels * planeBytes;
    for (let oh = 0; oh < outH; oh++) {
      const top = oh * strideH - padH;
      for (let ow = 0; ow < outW; ow++) {
        const left = ow * strideW - padW;
        // The patch's taps along a row are all inside the image: copy them without tests.
        const inside = left >= 0 && left + (kernelW - 1) * dilationW < width;
        for (let c = 0; c < channels; c++) {
          const plane = image + <usize>c * planeBytes;
          for (let kh = 0; kh < kernelH; kh++) {
            const ih = top + kh * dilationH;
            if (ih < 0 || ih >= height) {
              for (let kw = 0; kw < kernelW; kw++) store<f32>(dst + (<usize>kw << 2), 0);
            } else {
              const row = plane + ((<usize>ih * <usize>width) << 2);
              if (inside) {
                const from = row + (<usize>left << 2);
                for (let kw = 0; kw < kernelW; kw++) store<f32>(dst + (<usize>kw << 2), load<f32>(from + (<usize>(kw * dilationW) << 2)));
              } else {
                for (let kw = 0; kw < kernelW; kw++) {
                  const iw = left + kw * dilationW;
                  store<f32>(dst + (<usize>kw << 2), iw >= 0 && iw < width ? load<f32>(row + (<usize>iw << 2)) : 0);
                }
              }
            }
            dst += <usize>kernelW << 2;
          }
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: out[b, c, ih, iw] = Σ over (kh, kw), in that order, of
 * cols[(b, oh, ow), (c, kh, kw)] for every output position (oh, ow) whose patch reads (ih, iw).
 * Each image plane is zeroed, then every tap (kh, kw) adds its column in turn: a tap reaches an
 * input element from one output position at most, so each element's sum runs over (kh, kw) in
 * order, with no division in the loop, and examples (the threads' parts) never share an element.
 */
export function col2im_f32(
  outPtr: usize, colsPtr: usize, batch: i32, channels: i32, height: i32, width: i32, kernelH: i32, kernelW: i32,
  outH: i32, outW: i32, strideH: i32, strideW: i32, padH: i32, padW: i32, dilationH: i32, dilationW: i32,
): void {
  const patch = channels * kernelH * kernelW;
  const planeFloats = <usize>height * <usize>width;
  memory.fill(outPtr, 0, (<usize>batch * <usize>channels * planeFloats) << 2);
  for (let b = 0; b < batch; b++) {
    const rows = colsPtr + ((<usize>b * <usize>outH * <usize>outW * <usize>patch) << 2);
    for (let c = 0; c < channels; c++) {
      const plane = outPtr + ((<usize>(b * channels + c) * planeFloats) << 2);
      for (let kh = 0; kh < kernelH; kh++) {
        for (let kw = 0; kw < kernelW; kw++) {
          const column = rows + (<usize>((c * kernelH + kh) * kernelW + kw) << 2);
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * strideH - padH + kh * dilationH;
            if (ih < 0 || ih >= height) continue;
            const row = plane + ((<usize>ih * <usize>width) << 2);
            for (let ow = 0; ow < outW; ow++) {
              const iw = ow * strideW - padW + kw * dilationW;
              if (iw < 0 || iw >= width) continue;
              const at = row + (<usize>iw << 2);
              store<f32>(at, load<f32>(at) + load<f32>(column + ((<usize>(oh * outW + ow) * <usize>patch) << 2)));
            }
          }
        }
      }
    }
  }
}
