// MaxPoolGrad for the wasm backend, replacing the stock kernel, which gives wrong gradients for some inputs
// with negative values (found by comparing with the cpu backend and with a direct reference: e.g. a 2×2,
// stride-2 'valid' pool of a [1, 4, 4, 2] input in [-1, 1) sends some gradients to the wrong element). Max pooling is not in
// the paper's CIFAR networks; it is in the ImageNet ones, and any user's network may have it.
//
// A direct loop over the wasm heap: each output's gradient goes to the first maximum of its window, scanning
// rows then columns, the tie-break of the cpu backend and of TensorFlow.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type KernelConfig,
  type KernelFunc,
  MaxPoolGrad,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

function maxPoolGrad(args: {
  inputs: MaxPoolGradInputs;
  backend: BackendWasm;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.input as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput(x.shape, 'float32');
  // Views after the allocation: allocating may grow the wasm memory and detach older views.
  const xs = backend.typedArrayFromHeap(x) as Float32Array;
  const dys = backend.typedArrayFromHeap(dy) as Float32Array;
  const dxs = backend.typedArrayFromHeap(out) as Float32Array;
  dxs.fill(0);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const rowStart = Math.max(0, oh * strideHeight - top);
      const rowEnd = Math.min(inHeight, oh * strideHeight - top + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const colStart = Math.max(0, ow * strideWidth - left);
        const colEnd = Math.min(inWidth, ow * strideWidth - left + filterWidth);
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * inChannels;
        for (let c = 0; c < inChannels; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let row = rowStart; row < rowEnd; row++) {
            let index = ((n * inHeight + row) * inWidth + colStart) * inChannels + c;
            for (let col = colStart; col < colEnd; col++, index += inChannels) {
              if (xs[index]! > best) {
                best = xs[index]!;
                at = index;
              }
            }
          }
          if (at >= 0) dxs[at]! += dys[dyBase + c]!;
        }
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelFunc,
};
