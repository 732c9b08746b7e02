// Helpers shared by the wasm kernels of @resnet/backend: calling the stock wasm kernels from inside a kernel,
// freeing intermediate results, and a zero-insertion ("dilate") plus pad/crop pass written straight into the
// wasm heap.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getKernel, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The stock wasm kernels, saved before @resnet/backend replaces any of them, so ours can call them. */
const stockKernels = new Map<string, KernelConfig | undefined>();

/** Remembers the kernel currently registered for `kernelName` on wasm as the stock one (first call wins). */
export function rememberStockKernel(kernelName: string): void {
  if (!stockKernels.has(kernelName)) stockKernels.set(kernelName, getKernel(kernelName, 'wasm'));
}

/** The kernel that @tensorflow/tfjs-backend-wasm itself registered under `kernelName`, if it has one. */
export function stockKernel(kernelName: string): KernelConfig | undefined {
  return stockKernels.has(kernelName) ? stockKernels.get(kernelName) : getKernel(kernelName, 'wasm');
}

/**
 * Runs a stock wasm kernel directly, the way one backend kernel calls another: the result is a bare
 * TensorInfo that the caller frees with {@link disposeIntermediate} unless it is the kernel's output.
 */
export function runStockKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const config = stockKernel(kernelName);
  if (config === undefined) {
    throw new Error(`@resnet/backend: the wasm backend has no '${kernelName}' kernel to build on`);
  }
  const result = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(result)) throw new Error(`@resnet/backend: '${kernelName}' returned several outputs`);
  return result as TensorInfo;
}

/** Frees an intermediate TensorInfo made inside a kernel (the engine never sees it). */
export function disposeIntermediate(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Rows and columns to add (positive) or remove (negative) on each side of a NHWC tensor. */
export interface Padding2D {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Returns x [N, H, W, C] with (stride − 1) zeros inserted between neighbouring rows and columns, then padded
 * (or, for negative amounts, cropped) by `padding`: the output gradient laid out as the input of the
 * transposed convolution. One pass over the wasm heap: each source pixel's C channels are copied as a block.
 */
export function dilateAndPad(
  backend: BackendWasm,
  x: TensorInfo,
  strides: [number, number],
  padding: Padding2D,
): TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const [strideHeight, strideWidth] = strides;
  const outHeight = padding.top + (height - 1) * strideHeight + 1 + padding.bottom;
  const outWidth = padding.left + (width - 1) * strideWidth + 1 + padding.right;
  if (outHeight <= 0 || outWidth <= 0) {
    throw new Error(`@resnet/backend: dilating ${x.shape} by ${strides} leaves nothing after cropping`);
  }
  const out = backend.makeOutput([batch, outHeight, outWidth, channels], 'float32');
  // Views are taken after the allocation: allocating may grow the wasm memory and detach older views.
  const source = backend.typedArrayFromHeap(x) as Float32Array;
  const target = backend.typedArrayFromHeap(out) as Float32Array;
  target.fill(0);
  for (let n = 0; n < batch; n++) {
    for (let row = 0; row < height; row++) {
      const outRow = padding.top + row * strideHeight;
      if (outRow < 0 || outRow >= outHeight) continue;
      const sourceRow = (n * height + row) * width * channels;
      const targetRow = (n * outHeight + outRow) * outWidth * channels;
      for (let col = 0; col < width; col++) {
        const outCol = padding.left + col * strideWidth;
        if (outCol < 0 || outCol >= outWidth) continue;
        const from = sourceRow + col * channels;
        target.set(source.subarray(from, from + channels), targetRow + outCol * channels);
      }
    }
  }
  return out;
}
