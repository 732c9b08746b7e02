// @resnet/trainer, Node entry: the training recipe of "Identity Mappings in Deep Residual Networks" (SGD with
// momentum and weight decay, the step schedule with warm-up) for any tf.LayersModel and any source of
// batches, with evaluation, metrics, checkpoints, exact resume and signals. Imports none of the other
// @resnet packages. The browser entry (browser.ts) is the same loop without files or signals.
import { nodeHost } from './node-host.js';
import { createTrain } from './train.js';

export {
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  loadCheckpoint,
  type SaveCheckpointOptions,
  saveCheckpoint,
} from './checkpoint.js';
export * from './portable.js';

/**
 * Trains `model` on `data` for `iterations` iterations (see the README for the recipe and the exact update).
 * Resolves when the run completes, diverges or is interrupted.
 */
export const train = createTrain(nodeHost);
