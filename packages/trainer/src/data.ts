// What the trainer consumes: mini-batches from a source whose position can be saved and restored.
import type * as tf from '@tensorflow/tfjs-core';

/** A mini-batch. The trainer owns both tensors and disposes them after use. */
export interface Batch {
  /** Inputs, batch first. */
  xs: tf.Tensor;
  /** Labels: int32 class indices `[B]` or one-hot (or soft) targets `[B, C]`. */
  ys: tf.Tensor;
  /** Number of examples; defaults to `xs.shape[0]`. */
  size?: number;
}

/**
 * Where training batches come from. `getState`/`setState` (JSON values) let a checkpoint record and restore
 * the position and random state of the source, which exact resume needs.
 */
export interface BatchSource {
  next(): Promise<Batch> | Batch;
  getState?(): unknown;
  setState?(state: unknown): void;
}
