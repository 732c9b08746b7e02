// Conv2DBackpropFilter for the wasm backend, which ships without one: the filter gradient written as a
// FORWARD convolution so that it runs on wasm's XNNPACK Conv2D.
//
//   dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·s + i − padTop, ow·s + j − padLeft, ci] · dy[n, oh, ow, co]
//
// is a convolution whose "batch" is ci and whose reduced channel is n: the input x transposed to
// [Cin, H, W, N], the filter dy transposed to [OH, OW, N, Cout], the filter dilated by the stride s, with
// the forward pass's top/left padding and whatever bottom/right padding (or cropping) makes the output
// exactly [Cin, FH, FW, Cout]; a last transpose gives [FH, FW, Cin, Cout].
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { disposeIntermediate, runStockKernel } from './kernel-utils.js';

function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const convInfo = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (convInfo.dataFormat !== 'channelsLast') {
    throw new Error(
      `@resnet/backend: wasm Conv2DBackpropFilter supports dataFormat 'NHWC' only, got '${dataFormat}'`,
    );
  }
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } =
    convInfo;
  const { top, left } = convInfo.padInfo;
  // Rows of x below the last one the forward convolution read: negative means x has rows no output used.
  const bottom = (outHeight - 1) * strideHeight + filterHeight - inHeight - top;
  const right = (outWidth - 1) * strideWidth + filterWidth - inWidth - left;

  let input = x;
  if (bottom < 0 || right < 0) {
    input = runStockKernel(
      backend,
      'Slice',
      { x },
      {
        begin: [0, 0, 0, 0],
        size: [x.shape[0]!, inHeight + Math.min(bottom, 0), inWidth + Math.min(right, 0), x.shape[3]!],
      },
    );
  }
  const inputT = runStockKernel(backend, 'Transpose', { x: input }, { perm: [3, 1, 2, 0] });
  if (input !== x) disposeIntermediate(backend, input);
  const dyT = runStockKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const gradT = runStockKernel(
    backend,
    'Conv2D',
    { x: inputT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    },
  );
  disposeIntermediate(backend, inputT, dyT);
  const grad = runStockKernel(backend, 'Transpose', { x: gradT }, { perm: [1, 2, 0, 3] });
  disposeIntermediate(backend, gradT);
  return grad;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
