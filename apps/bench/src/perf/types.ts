// What `perf` takes and gives: its options and the rows of `perf --json`.
import type { BackendChoice } from '@resnet/backend';

/** Options of {@link runPerf}. */
export interface PerfOptions {
  /** Preset names of @resnet/models, or `preact-resnet<depth>` / `resnet<depth>` for any 6n+2 depth. */
  models: string[];
  batch: number;
  backend: BackendChoice;
  /** Timed steps (the median is reported); each measurement first runs `warmup` untimed steps. */
  steps: number;
  warmup: number;
  /** wasm threads; default every core (at most 8). */
  threads?: number;
  /** Measure tfjs as shipped: no closed-form BN gradient, no native kernels, single-threaded wasm. */
  stock: boolean;
  /** Also run the PyTorch reference. */
  vsPytorch: boolean;
  /** Python interpreters to try, in order; the first that imports torch runs the reference. */
  python: string[];
  /** The torch device of the PyTorch reference (default cpu; cuda for a GPU, e.g. against webgpu). */
  pytorchDevice?: string;
  /** Also time each kernel of one training step (tf.profile). */
  profile?: boolean;
  /**
   * Measurements per model, ours and PyTorch's alternating (default 1): the figures reported are medians
   * over rounds, and the ratio is the median of the rounds' ratios, each measured minutes apart at most, so
   * that a shared machine's drifting load weighs on both sides alike.
   */
  rounds?: number;
}

/** One round of one model: ours, then (with vsPytorch) PyTorch's, measured back to back. */
export interface PerfRound {
  trainImagesPerSec: number;
  pytorchTrainImagesPerSec: number | null;
  ratio: number | null;
}

/** Time spent in one kernel over one training step. */
export interface KernelTime {
  kernel: string;
  ms: number;
  /** Fraction of the summed kernel time. */
  share: number;
}

/** One row of `perf --json`. */
export interface PerfResult {
  model: string;
  depth: number;
  batch: number;
  backend: string;
  /** Threads our kernels ran on (wasm: XNNPACK's pool; tensorflow: every core; cpu: 1). */
  threads: number;
  /** Whether @resnet/backend's faster kernels were on (false with --stock). */
  fast: boolean;
  params: number;
  trainStepMs: number;
  trainImagesPerSec: number;
  inferenceImagesPerSec: number;
  pytorchTrainImagesPerSec: number | null;
  pytorchInferenceImagesPerSec: number | null;
  /** trainImagesPerSec / pytorchTrainImagesPerSec. */
  ratio: number | null;
  inferenceRatio: number | null;
  pytorchVersion: string | null;
  /** Why there is no PyTorch figure, when asked for and missing. */
  pytorchNote: string | null;
  /** With `profile`: kernels of one training step, slowest first. */
  profile?: KernelTime[];
  /** Every round's figures (trainImagesPerSec, pytorchTrainImagesPerSec and ratio are their medians). */
  rounds: PerfRound[];
  /** Peak resident memory of this process so far (after this model), MiB. */
  peakRssMB: number;
}
