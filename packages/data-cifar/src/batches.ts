// Training and evaluation batches as TensorFlow.js tensors.
//
// Prefetch: after handing out batch k, the source prepares batch k+1's arrays in a `setImmediate` callback
// (a zero-delay timer in browsers), i.e. while the caller's training step is waiting on the backend (an awaited `data()`, a GPU kernel, a
// file write). We chose this over a worker_thread because (a) the arrays for a batch of 128 take about 3–6 ms
// on one core (see benchmarkAugmentation), a small fraction of any backend's training step; (b) a worker
// would need the dataset copied into it or the whole package rebuilt around SharedArrayBuffer, and a
// separately loadable script; (c) tensors must be created on the main thread anyway. Tensors are created
// only inside `next()` itself, synchronously, never in the background callback, so they belong to the
// caller: no `tidy` scope of the caller's can capture or dispose them unexpectedly, and nothing is left
// behind when the caller disposes the batch.
import * as tf from '@tensorflow/tfjs-core';
import { type PreparedBatch, prepareInOrder, TrainGenerator, type TrainState } from './augment.js';
import { IMAGE_SIZE } from './datasets.js';
import { type Normalization, normalizationTables } from './normalization.js';
import type { CifarSplit } from './parse.js';

/** A batch; the caller owns (and disposes) both tensors. */
export interface Batch {
  /** [size, 32, 32, 3] float32, normalised. */
  xs: tf.Tensor4D;
  /** [size] int32 class indices, or [size, classes] float32 one-hot when asked for. */
  ys: tf.Tensor;
  size: number;
}

/** Options of {@link trainBatches}. */
export interface TrainBatchesOptions {
  batchSize: number;
  /** From {@link computeNormalization} on the training split (or a recorded one). */
  normalization: Normalization;
  /** Pad-4 random crop and random horizontal flip (default true). */
  augment?: boolean;
  /** Seeds the shuffles and the augmentation: the same seed gives the same batches. */
  seed: number | string;
  /** Leave out each epoch's last, smaller batch (default true), so every batch has `batchSize` images. */
  dropLast?: boolean;
  /** Give one-hot labels [B, oneHot] (float32) instead of int32 class indices [B]. */
  oneHot?: number;
}

/** Options of {@link evalBatches}. */
export interface EvalBatchesOptions {
  batchSize: number;
  normalization: Normalization;
  oneHot?: number;
}

/** An endless stream of training batches, epoch after epoch, reshuffled each epoch. */
export interface TrainBatchSource {
  /** The next batch; the caller disposes its tensors. */
  next(): Promise<Batch>;
  /** Epoch (from 0) of the batch most recently returned by `next()`. */
  readonly epoch: number;
  /** JSON: where the stream stands (epoch, position, generator state); save it with a checkpoint. */
  getState(): unknown;
  /** Continue from a `getState()` value: the following batches are exactly those that followed it. */
  setState(state: unknown): void;
  /** Stops prefetching and drops the prepared arrays. */
  close(): void;
}

function labelTensor(labels: Int32Array, size: number, oneHot?: number): tf.Tensor {
  if (oneHot === undefined) return tf.tensor1d(labels, 'int32');
  // Built as an array, so no intermediate tensor exists that could leak.
  const values = new Float32Array(size * oneHot);
  for (let i = 0; i < size; i++) values[i * oneHot + labels[i]!] = 1;
  return tf.tensor2d(values, [size, oneHot], 'float32');
}

function toBatch(prepared: PreparedBatch, oneHot?: number): Batch {
  const { pixels, labels, size } = prepared;
  // The backends keep the arrays as the tensors' storage; each batch has its own, so nothing is shared.
  const xs = tf.tensor4d(pixels, [size, IMAGE_SIZE, IMAGE_SIZE, 3], 'float32');
  return { xs, ys: labelTensor(labels, size, oneHot), size };
}

function checkOneHot(oneHot: number | undefined, split: CifarSplit): void {
  if (oneHot === undefined) return;
  if (!Number.isInteger(oneHot) || oneHot <= 0)
    throw new Error(`oneHot must be the number of classes; got ${oneHot}`);
  for (let i = 0; i < split.size; i++) {
    if (split.labels[i]! >= oneHot) {
      throw new Error(`oneHot: ${oneHot} classes, but image ${i} has label ${split.labels[i]}`);
    }
  }
}

/**
 * Runs `task` once the current turn of the event loop is done: `setImmediate` in Node.js, a zero-delay timer
 * where there is none (browsers). Returns the function that cancels it.
 */
function afterThisTurn(task: () => void): () => void {
  if (typeof setImmediate === 'function') {
    const handle = setImmediate(task);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(task, 0);
  return () => clearTimeout(handle);
}

class TrainSource implements TrainBatchSource {
  private readonly generator: TrainGenerator;
  private prefetched: { batch: PreparedBatch; after: TrainState } | undefined;
  /** Cancels the pending prefetch, if any. */
  private scheduled: (() => void) | undefined;
  private delivered: TrainState;
  private current = 0;
  private closed = false;

  constructor(
    split: CifarSplit,
    private readonly options: TrainBatchesOptions,
  ) {
    checkOneHot(options.oneHot, split);
    this.generator = new TrainGenerator(split, {
      batchSize: options.batchSize,
      tables: normalizationTables(options.normalization),
      augment: options.augment ?? true,
      seed: options.seed,
      dropLast: options.dropLast ?? true,
    });
    this.delivered = this.generator.state();
  }

  get epoch(): number {
    return this.current;
  }

  private prepare(): { batch: PreparedBatch; after: TrainState } {
    const batch = this.generator.next();
    return { batch, after: this.generator.state() };
  }

  async next(): Promise<Batch> {
    if (this.closed) throw new Error('next() on a closed batch source');
    this.scheduled?.();
    this.scheduled = undefined;
    const ready = this.prefetched ?? this.prepare();
    this.prefetched = undefined;
    this.delivered = ready.after;
    this.current = ready.batch.epoch;
    const batch = toBatch(ready.batch, this.options.oneHot);
    this.scheduled = afterThisTurn(() => {
      this.scheduled = undefined;
      if (!this.closed && !this.prefetched) this.prefetched = this.prepare();
    });
    return batch;
  }

  getState(): unknown {
    return structuredClone(this.delivered);
  }

  setState(state: unknown): void {
    this.scheduled?.();
    this.scheduled = undefined;
    this.prefetched = undefined;
    this.generator.restore(state);
    this.delivered = this.generator.state();
    this.current = this.delivered.epoch;
  }

  close(): void {
    this.closed = true;
    this.scheduled?.();
    this.scheduled = undefined;
    this.prefetched = undefined;
  }
}

/** Endless shuffled, augmented training batches over `split`; see {@link TrainBatchSource}. */
export function trainBatches(split: CifarSplit, options: TrainBatchesOptions): TrainBatchSource {
  return new TrainSource(split, options);
}

/** One pass over `split` in order, without augmentation; the last batch may be smaller. */
export async function* evalBatches(split: CifarSplit, options: EvalBatchesOptions): AsyncGenerator<Batch> {
  const { batchSize, oneHot } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive whole number; got ${batchSize}`);
  }
  checkOneHot(oneHot, split);
  const tables = normalizationTables(options.normalization);
  for (let start = 0; start < split.size; start += batchSize) {
    const size = Math.min(batchSize, split.size - start);
    yield toBatch(prepareInOrder(split, tables, start, size), oneHot);
  }
}
