// Timing of `perf`: the median of timed steps after warm-up, one training step exactly as @resnet/trainer runs
// it (its exported trainStep: forward, log-softmax cross-entropy, backward, update, weight check), inference,
// and the per-kernel profile of one step.
import { type MomentumSgd, readStep, trainStep } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { median } from '../stats.js';
import type { KernelTime } from './types.js';

/** The median time (ms) of `steps` calls of `step` after `warmup` untimed ones. */
export async function medianMs(step: () => Promise<void>, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * The iteration the trainer runs (@resnet/trainer's trainStep, lr 0.1, its optimiser's settings) on a fixed
 * random batch, timed until its values are read.
 */
export function trainingStep(
  model: tfl.LayersModel,
  images: tf.Tensor4D,
  labels: tf.Tensor2D,
  optimizer: MomentumSgd,
): () => Promise<void> {
  return async () => {
    await readStep(trainStep({ model, optimizer, batch: { xs: images, ys: labels }, lr: 0.1 }));
  };
}

export function inferenceStep(model: tfl.LayersModel, images: tf.Tensor4D): () => Promise<void> {
  return async () => {
    const out = tf.tidy(() => model.predict(images) as tf.Tensor);
    await out.data();
    out.dispose();
  };
}

/**
 * Kernel times of one step. tf.profile also lists op scopes (`…__op`) and custom-gradient ops, which contain
 * kernels listed on their own: they are left out so that shares add up to the step's kernel time.
 */
export async function profileStep(step: () => Promise<void>): Promise<KernelTime[]> {
  const info = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const kernel of info.kernels) {
    if (kernel.name.endsWith('__op') || kernel.name === 'unnamed scope') continue;
    const ms = await kernel.kernelTimeMs;
    if (typeof ms === 'number') byKernel.set(kernel.name, (byKernel.get(kernel.name) ?? 0) + ms);
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0) || 1;
  return [...byKernel].map(([kernel, ms]) => ({ kernel, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
}
