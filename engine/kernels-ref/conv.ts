// Twin of kernels-as/conv.ts: im2col and its adjoint over row-major [batch, channels, height, width]
// images, in the kernel's order (the adjoint's sums over kh then kw, rounded to f32 after every add).
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
      let dst = outPtr >>> 2;
      for (let b = 0; b < batch; b++) {
        const rows = (colsPtr >>> 2) + b * outH * outW * patch;
        for (let c = 0; c < channels; c++) for (let ih = 0; ih < height; ih++) for (let iw = 0; iw < width; iw++) {
          let s = 0;
          for (let kh = 0; kh < kernelH; kh++) {
            const th = ih + padH - kh * dilationH;
            if (th < 0 || th % strideH !== 0 || th / strideH >= outH) continue;
            for (let kw = 0; kw < kernelW; kw++) {
              const tw = iw + padW - kw * dilationW;
              if (tw < 0 || tw % strideW !== 0 || tw / strideW >= outW) continue;
              s = fr(s + m[rows + ((th / strideH) * outW + tw / strideW) * patch + (c * kernelH + kh) * kernelW + kw]);
            }
          }
          m[dst++] = s;
        }
      }
    },
  });
}
