// Twin of kernels-as/conv.ts: im2col and its adjoint over row-major [batch, channels, height, width]
// images, in the kernel's order (the adjoint adds tap by tap, (kh, kw) in order, rounded to f32 after every add).
import type { Heap } from "../heap.ts";
import { twins } from "../kernel-abi.ts";

const fr = Math.fround;

export function createConvRef(heap: Heap) {
  return twins("conv", {
    im2col_f32(
      outPtr: number, xPtr: number, batch: number, channels: number, height: number, width: number, kernelH: number, kernelW: number,
      outH: number, outW: number, strideH: number, strideW: number, padH: number, padW: number, dilationH: number, dilationW: number,
    ): void {
      const m = heap.f32();
      let dst = outPtr >>> 2;
      for (let b = 0; b < batch; b++) {
        const image = (xPtr >>> 2) + b * channels * height * width;
        for (let oh = 0; oh < outH; oh++) for (let ow = 0; ow < outW; ow++) {
          for (let c = 0; c < channels; c++) for (let kh = 0; kh < kernelH; kh++) {
            const ih = oh * strideH - padH + kh * dilationH;
            for (let kw = 0; kw < kernelW; kw++) {
              const iw = ow * strideW - padW + kw * dilationW;
              m[dst++] = ih >= 0 && ih < height && iw >= 0 && iw < width ? m[image + (c * height + ih) * width + iw] : 0;
            }
          }
        }
      }
    },
    col2im_f32(
      outPtr: number, colsPtr: number, batch: number, channels: number, height: number, width: number, kernelH: number, kernelW: number,
      outH: number, outW: number, strideH: number, strideW: number, padH: number, padW: number, dilationH: number, dilationW: number,
    ): void {
      const m = heap.f32();
      const patch = channels * kernelH * kernelW;
      m.fill(0, outPtr >>> 2, (outPtr >>> 2) + batch * channels * height * width);
      for (let b = 0; b < batch; b++) {
        const rows = (colsPtr >>> 2) + b * outH * outW * patch;
        for (let c = 0; c < channels; c++) {
          const plane = (outPtr >>> 2) + (b * channels + c) * height * width;
          for (let kh = 0; kh < kernelH; kh++) for (let kw = 0; kw < kernelW; kw++) {
            const column = rows + (c * kernelH + kh) * kernelW + kw;
            for (let oh = 0; oh < outH; oh++) {
              const ih = oh * strideH - padH + kh * dilationH;
              if (ih < 0 || ih >= height) continue;
              for (let ow = 0; ow < outW; ow++) {
                const iw = ow * strideW - padW + kw * dilationW;
                if (iw < 0 || iw >= width) continue;
                const at = plane + ih * width + iw;
                m[at] = fr(m[at] + m[column + (oh * outW + ow) * patch]);
              }
            }
          }
        }
      }
    },
  });
}
