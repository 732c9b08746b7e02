// Conv2D and FusedConv2D for the wasm backend where the native kernels run (native/conv-direct.c `conv2d`; Winograd form: native/winograd.c): the
// forward convolution, tiled 4 pixels × 8 output channels (or in Winograd's F(2×2, 3×3) form), on every
// thread. Measured by bench/conv.ts against XNNPACK's Conv2D on ResNet geometries. Whatever the native kernel
// does not cover (bias or activation fused in, dilation, NCHW, output channels not a multiple of 4, or the
// native kernels off) goes to the stock kernel, unchanged.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2D,
  type Conv2DAttrs,
  FusedConv2D,
  type FusedConv2DAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { activeConfig } from '../../runtime/config.js';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import type { NativeKernels } from '../../runtime/pool.js';
import { channelsLastConvInfo, runStockKernel, withStockFallback } from '../shared/wasm-heap.js';

/**
 * Input channels from which 3×3 stride-1 convolutions take the Winograd form. Its input and output transforms
 * cost about as much as it saves at 16 channels; at 32 and 64 it is 1.3× and 1.6× the direct kernel
 * (forward and input gradient of CIFAR ResNet layers, 2 threads).
 */
export const WINOGRAD_MIN_CHANNELS = 32;

/** Whether a convolution (or its filter gradient) takes the Winograd form. */
export function winogradApplies(
  filterHeight: number,
  filterWidth: number,
  strides: [number, number],
  inChannels: number,
): boolean {
  return (
    activeConfig().winograd &&
    filterHeight === 3 &&
    filterWidth === 3 &&
    strides[0] === 1 &&
    strides[1] === 1 &&
    inChannels % 4 === 0 &&
    inChannels >= WINOGRAD_MIN_CHANNELS
  );
}

/** y = x * filter with the native kernel; `top`/`left` padding (negative: cropping), output size given. */
export function nativeConv2D(
  native: NativeKernels,
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  geometry: { strides: [number, number]; top: number; left: number; outHeight: number; outWidth: number },
): TensorInfo {
  const [batch, height, width, inChannels] = x.shape as [number, number, number, number];
  const [filterHeight, filterWidth, , outChannels] = filter.shape as [number, number, number, number];
  const { outHeight, outWidth } = geometry;
  const out = backend.makeOutput([batch, outHeight, outWidth, outChannels], 'float32');
  // The parameters both kernels start with: input, filter (or its transform), output, then the sizes.
  const head = (filterPointer: number) => [
    wasmPointer(backend, x),
    filterPointer,
    wasmPointer(backend, out),
    batch,
    height,
    width,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
  ];
  if (winogradApplies(filterHeight, filterWidth, geometry.strides, inChannels)) {
    // Scratch: the transformed filter U [16, Cin, Cout], then each thread's V and M blocks.
    const filterFloats = 16 * inChannels * outChannels;
    const workFloats = native.threads * 16 * 4 * (inChannels + outChannels);
    const scratch = native.scratch((filterFloats + workFloats) * 4);
    native.run('winograd_filter', [wasmPointer(backend, filter), scratch, inChannels, outChannels]);
    native.run('conv2d_winograd', [
      ...head(scratch),
      geometry.top,
      geometry.left,
      native.zeros(inChannels),
      scratch + filterFloats * 4,
    ]);
    return out;
  }
  native.run('conv2d', [
    ...head(wasmPointer(backend, filter)),
    filterHeight,
    filterWidth,
    geometry.strides[0],
    geometry.strides[1],
    geometry.top,
    geometry.left,
    native.zeros(inChannels),
  ]);
  return out;
}

/** Whether the native kernel computes this convolution exactly as the stock one would. */
function nativeCovers(convInfo: backend_util.Conv2DInfo, x: TensorInfo, filter: TensorInfo): boolean {
  return (
    convInfo.dilationHeight === 1 &&
    convInfo.dilationWidth === 1 &&
    convInfo.outChannels % 4 === 0 &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32'
  );
}

function convolve(
  kernelName: string,
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DAttrs,
): TensorInfo | null {
  const native = nativeKernelsOfBackend(backend);
  if (native === null || attrs.dataFormat === 'NCHW') return null;
  const dilations = attrs.dilations ?? 1;
  if (dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1))) return null;
  const convInfo = channelsLastConvInfo(
    kernelName,
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs,
  );
  if (!nativeCovers(convInfo, x, filter)) return null;
  return nativeConv2D(native, backend, x, filter, {
    strides: [convInfo.strideHeight, convInfo.strideWidth],
    top: convInfo.padInfo.top,
    left: convInfo.padInfo.left,
    outHeight: convInfo.outHeight,
    outWidth: convInfo.outWidth,
  });
}

function conv2D(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs: Conv2DAttrs }) {
  const { inputs, backend, attrs } = args;
  return (
    convolve(Conv2D, backend, inputs['x']!, inputs['filter']!, attrs) ??
    runStockKernel(backend, Conv2D, inputs, attrs as never)
  );
}

function fusedConv2D(args: {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: FusedConv2DAttrs;
}) {
  const { inputs, backend, attrs } = args;
  const plain =
    inputs['bias'] === undefined &&
    inputs['preluActivationWeights'] === undefined &&
    (attrs.activation === undefined || attrs.activation === 'linear');
  const out = plain ? convolve(FusedConv2D, backend, inputs['x']!, inputs['filter']!, attrs) : null;
  return out ?? runStockKernel(backend, FusedConv2D, inputs, attrs as never);
}

export const conv2DConfig = withStockFallback(Conv2D, conv2D);

export const fusedConv2DConfig = withStockFallback(FusedConv2D, fusedConv2D);
