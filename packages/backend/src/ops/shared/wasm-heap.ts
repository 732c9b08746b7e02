// Helpers shared by the ops' wasm paths: calling the stock wasm kernels (kept in ../../overrides/stock.ts) from
// inside a kernel, freeing intermediate results, and the layout passes (pad/crop, batch-to-channel
// transpositions) written straight into the wasm heap.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { backend_util, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel } from '../../overrides/stock.js';

/**
 * The config of a wasm kernel of ours that falls back to the stock one for what it does not cover: its
 * setupFunc runs the stock kernel's (which binds its wasm export when the backend starts), looked up then.
 */
export function withStockFallback(kernelName: string, kernelFunc: unknown): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as KernelConfig['kernelFunc'],
    setupFunc: (backend) => {
      stockKernel(kernelName)?.setupFunc?.(backend);
    },
  };
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
 * Returns x [N, H, W, C] padded with zeros by `padding`, or cropped where an amount is negative (XNNPACK's
 * convolution takes padding but not cropping). One pass over the wasm heap, a pixel's C channels at a time.
 */
export function padOrCrop(backend: BackendWasm, x: TensorInfo, padding: Padding2D): TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const outHeight = padding.top + height + padding.bottom;
  const outWidth = padding.left + width + padding.right;
  if (outHeight <= 0 || outWidth <= 0) {
    throw new Error(`@resnet/backend: padding ${JSON.stringify(padding)} leaves nothing of ${x.shape}`);
  }
  const out = backend.makeOutput([batch, outHeight, outWidth, channels], 'float32');
  // Views are taken after the allocation: allocating may grow the wasm memory and detach older views.
  const source = backend.typedArrayFromHeap(x) as Float32Array;
  const target = backend.typedArrayFromHeap(out) as Float32Array;
  target.fill(0);
  for (let n = 0; n < batch; n++) {
    for (let row = 0; row < height; row++) {
      const outRow = padding.top + row;
      if (outRow < 0 || outRow >= outHeight) continue;
      for (let col = 0; col < width; col++) {
        const outCol = padding.left + col;
        if (outCol < 0 || outCol >= outWidth) continue;
        // A plain loop: the channel blocks are short, and subarray() per pixel costs more than the copy.
        const from = ((n * height + row) * width + col) * channels;
        const to = ((n * outHeight + outRow) * outWidth + outCol) * channels;
        for (let c = 0; c < channels; c++) target[to + c] = source[from + c]!;
      }
    }
  }
  return out;
}

/** Which pixels of x {@link batchToChannels} keeps: output pixel (r, q) reads x at (r·sh − top, q·sw − left). */
export interface PixelGrid {
  rows: number;
  cols: number;
  strides: [number, number];
  top: number;
  left: number;
}

/**
 * x [N, H, W, C] → [C, rows, cols, N], pixel (r, q) taken from x at (r·sh − top, q·sw − left), zero where
 * that falls outside x: the batch becomes the channel (the reduced axis of the filter-gradient convolution
 * and matrix product). Written as a JS loop because wasm's generic Transpose kernel is no faster on this
 * permutation (measured 9.2 ms against 8.4 ms for this loop on [128, 32, 32, 16]) and cropping or
 * subsampling would take it a second pass; for each pixel the N×C block is transposed while it sits in cache.
 */
export function batchToChannels(backend: BackendWasm, x: TensorInfo, grid: PixelGrid): TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const { rows, cols, strides, top, left } = grid;
  const out = backend.makeOutput([channels, rows, cols, batch], 'float32');
  const source = backend.typedArrayFromHeap(x) as Float32Array;
  const target = backend.typedArrayFromHeap(out) as Float32Array;
  const channelStride = rows * cols * batch;
  // Row by row, then channel by channel: each channel's (col, n) block is written in order, and the row's
  // N source lines (N·W·C values) stay in cache across channels. (Pixel by pixel with channels innermost
  // strides every write by channelStride and runs several times slower.)
  for (let row = 0; row < rows; row++) {
    const inRow = row * strides[0] - top;
    const rowInside = inRow >= 0 && inRow < height;
    for (let c = 0; c < channels; c++) {
      let to = c * channelStride + row * cols * batch;
      for (let col = 0; col < cols; col++) {
        const inCol = col * strides[1] - left;
        if (!rowInside || inCol < 0 || inCol >= width) {
          target.fill(0, to, to + batch);
          to += batch;
          continue;
        }
        let from = (inRow * width + inCol) * channels + c;
        const imageStride = height * width * channels;
        for (let n = 0; n < batch; n++, from += imageStride) target[to++] = source[from]!;
      }
    }
  }
  return out;
}

/**
 * x [N, H, W, C] → [C, N, rows, cols], pixel (r, q) taken from x at (r·sh − top, q·sw − left), zero where
 * that falls outside x: a matrix [C, P] whose columns follow the pixel order of x itself, so that it
 * multiplies another NHWC tensor read as [P, C'] without moving that one.
 */
export function channelsFirst(backend: BackendWasm, x: TensorInfo, grid: PixelGrid): TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const { rows, cols, strides, top, left } = grid;
  const out = backend.makeOutput([channels, batch, rows, cols], 'float32');
  const source = backend.typedArrayFromHeap(x) as Float32Array;
  const target = backend.typedArrayFromHeap(out) as Float32Array;
  const channelStride = batch * rows * cols;
  // One output line (cols pixels) at a time, channel by channel: each channel gets a run of consecutive
  // writes, and the line's source pixels stay in cache across channels. (Writing pixel by pixel, channels
  // innermost, strides every write by channelStride and ran 10× slower.)
  for (let n = 0; n < batch; n++) {
    for (let row = 0; row < rows; row++) {
      const inRow = row * strides[0] - top;
      const line = (n * rows + row) * cols;
      const rowInside = inRow >= 0 && inRow < height;
      for (let c = 0; c < channels; c++) {
        const to = c * channelStride + line;
        for (let col = 0; col < cols; col++) {
          const inCol = col * strides[1] - left;
          target[to + col] =
            rowInside && inCol >= 0 && inCol < width
              ? source[((n * height + inRow) * width + inCol) * channels + c]!
              : 0;
        }
      }
    }
  }
  return out;
}

/** The attributes both convolution-gradient kernels receive that decide the convolution's geometry. */
export interface Conv2DGeometryAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The forward convolution's geometry for a gradient kernel, refusing NCHW (the kernels here are written for
 * channels-last data, the only layout tfjs-layers gives them).
 */
export function channelsLastConvInfo(
  kernelName: string,
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Conv2DGeometryAttrs,
): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs;
  const convInfo = backend_util.computeConv2DInfo(
    inputShape,
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
      `@resnet/backend: wasm ${kernelName} supports dataFormat 'NHWC' only, got '${dataFormat}'`,
    );
  }
  return convInfo;
}
