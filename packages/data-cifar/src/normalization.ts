// Input normalisation, computed from the training set and recorded with a run as plain JSON.
//  - 'per-channel': subtract each colour channel's mean and divide by its standard deviation, as the
//    authors' Torch code does (fb.resnet.torch / resnet-1k-layers); the default.
//  - 'per-pixel': subtract the mean image (one mean per pixel and channel), as [1] describes; no division.
// Both work on 0–255 pixel values, as the authors' code does.
import { CHANNELS, IMAGE_SIZE, PIXELS } from './datasets.js';
import type { CifarSplit } from './parse.js';

export type NormalizationMode = 'per-channel' | 'per-pixel';

export interface PerChannelNormalization {
  mode: 'per-channel';
  /** Mean of each channel (R, G, B) on the 0–255 scale. */
  mean: number[];
  /** Standard deviation of each channel (population, over all pixels of all images). */
  std: number[];
  /** Number of images the statistics come from. */
  count: number;
}

export interface PerPixelNormalization {
  mode: 'per-pixel';
  /** 3072 means on the 0–255 scale in HWC order (index (y·32 + x)·3 + c), matching the NHWC batches. */
  mean: number[];
  count: number;
}

/** JSON-serialisable: store it with a run and pass it back to reproduce the same inputs. */
export type Normalization = PerChannelNormalization | PerPixelNormalization;

/**
 * The constants hard-coded in the authors' Torch code for CIFAR-10 (fb.resnet.torch `datasets/cifar10.lua`),
 * for runs that want them exactly rather than recomputed.
 */
export const AUTHORS_CIFAR10_NORMALIZATION: PerChannelNormalization = {
  mode: 'per-channel',
  mean: [125.3, 123.0, 113.9],
  std: [63.0, 62.1, 66.7],
  count: 50_000,
};

const PLANE = IMAGE_SIZE * IMAGE_SIZE;

/** Statistics of a (training) split for the chosen normalisation. */
export function computeNormalization(
  split: CifarSplit,
  mode: NormalizationMode = 'per-channel',
): Normalization {
  const { images, size } = split;
  if (size === 0) throw new Error('cannot compute a normalisation from an empty split');
  if (mode === 'per-channel') {
    // A histogram per channel gives exact sums without 150 M floating-point additions.
    const hist = new Float64Array(CHANNELS * 256);
    for (let i = 0; i < size; i++) {
      const base = i * PIXELS;
      for (let c = 0; c < CHANNELS; c++) {
        const h = c * 256;
        const start = base + c * PLANE;
        for (let k = start; k < start + PLANE; k++) hist[h + images[k]!]!++;
      }
    }
    const n = size * PLANE;
    const mean: number[] = [];
    const std: number[] = [];
    for (let c = 0; c < CHANNELS; c++) {
      let s = 0;
      let s2 = 0;
      for (let v = 0; v < 256; v++) {
        const count = hist[c * 256 + v]!;
        s += count * v;
        s2 += count * v * v;
      }
      const m = s / n;
      mean.push(m);
      std.push(Math.sqrt(Math.max(0, s2 / n - m * m)));
    }
    return { mode, mean, std, count: size };
  }
  if (mode === 'per-pixel') {
    const sums = new Float64Array(PIXELS);
    for (let i = 0; i < size; i++) {
      const base = i * PIXELS;
      for (let k = 0; k < PIXELS; k++) sums[k]! += images[base + k]!;
    }
    // Stored files are CHW; the recorded mean is HWC to match the tensors a user sees.
    const mean = new Array<number>(PIXELS);
    for (let c = 0; c < CHANNELS; c++) {
      for (let p = 0; p < PLANE; p++) mean[p * CHANNELS + c] = sums[c * PLANE + p]! / size;
    }
    return { mode, mean, count: size };
  }
  throw new Error(`unknown normalisation mode '${mode as string}': expected 'per-channel' or 'per-pixel'`);
}

/** Per-position affine maps `x·scale + offset` (HWC, 3072 entries) that apply a normalisation to bytes. */
export interface NormalizationTables {
  scale: Float32Array;
  offset: Float32Array;
  /** The same map as three per-channel constants, when the normalisation is per channel. */
  channel?: { scale: [number, number, number]; offset: [number, number, number] };
}

/** Checks a (possibly deserialised) normalisation and turns it into lookup tables. */
export function normalizationTables(normalization: Normalization): NormalizationTables {
  const scale = new Float32Array(PIXELS);
  const offset = new Float32Array(PIXELS);
  // Read loosely: the value may come from a JSON file.
  const n = normalization as unknown as { mode?: string; mean?: number[]; std?: number[] } | undefined;
  if (n?.mode === 'per-channel') {
    if (n.mean?.length !== CHANNELS || n.std?.length !== CHANNELS || n.std.some((s: number) => !(s > 0))) {
      throw new Error('a per-channel normalisation needs 3 means and 3 positive standard deviations');
    }
    for (let p = 0; p < PLANE; p++) {
      for (let c = 0; c < CHANNELS; c++) {
        scale[p * CHANNELS + c] = 1 / n.std[c]!;
        offset[p * CHANNELS + c] = -n.mean[c]! / n.std[c]!;
      }
    }
    // Rounded to float32 like the tables, so both paths give identical values.
    const channel = {
      scale: [scale[0]!, scale[1]!, scale[2]!] as [number, number, number],
      offset: [offset[0]!, offset[1]!, offset[2]!] as [number, number, number],
    };
    return { scale, offset, channel };
  }
  if (n?.mode === 'per-pixel') {
    if (n.mean?.length !== PIXELS) throw new Error(`a per-pixel normalisation needs ${PIXELS} means`);
    scale.fill(1);
    for (let k = 0; k < PIXELS; k++) offset[k] = -n.mean[k]!;
    return { scale, offset };
  }
  throw new Error(
    `normalization must come from computeNormalization (mode 'per-channel' or 'per-pixel'); got ${JSON.stringify(n?.mode)}`,
  );
}
