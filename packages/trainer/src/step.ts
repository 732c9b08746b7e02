// One training step and one evaluation pass: the forward pass in the right BN mode, softmax cross-entropy
// and top-1 mistakes, all inside tf.tidy.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Batch } from './data.js';
import type { MomentumSgd } from './sgd.js';

/** What the model's output is: raw scores, or probabilities from a final softmax. */
export type OutputKind = 'auto' | 'logits' | 'probabilities';

/**
 * One iteration: forward with BN in training mode (which also moves BN's running statistics, as
 * tfjs-layers' BatchNormalization does in its training branch), softmax cross-entropy, gradients of every
 * trainable weight, and the update, unless the loss is not finite. Returns the batch's loss and mistakes.
 */
export function trainStep(
  model: LayersModel,
  optimizer: MomentumSgd,
  batch: Batch,
  lr: number,
  outputs: 'logits' | 'probabilities',
): { loss: number; wrong: number; size: number } {
  let output: tf.Tensor | undefined;
  try {
    return tf.tidy(() => {
      const variables = optimizer.weights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(model, batch.xs, true);
        // tf.variableGrads disposes what its function made except the loss; the output is needed for the error.
        output = tf.keep(out);
        return crossEntropy(out, batch.ys, outputs);
      }, variables);
      const wrong = countWrong(output!, batch.ys);
      const [loss, wrongCount] = tf.stack([value, wrong]).dataSync() as Float32Array;
      if (Number.isFinite(loss!)) optimizer.apply(grads, lr);
      return { loss: loss!, wrong: wrongCount!, size: batch.size ?? batch.xs.shape[0]! };
    });
  } finally {
    output?.dispose();
  }
}

/** Mean loss and top-1 error of `model` over `batches`, with BN (and dropout) in inference mode. */
export async function evaluate(
  model: LayersModel,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  outputs: OutputKind = 'auto',
): Promise<{ loss: number; error: number; images: number }> {
  const kind = resolveOutputs(model, outputs);
  let lossSum = 0;
  let wrongSum = 0;
  let images = 0;
  for await (const batch of batches) {
    try {
      const [loss, wrong] = tf.tidy(() => {
        const out = forward(model, batch.xs, false);
        return tf.stack([crossEntropy(out, batch.ys, kind), countWrong(out, batch.ys)]).dataSync();
      });
      const size = batch.size ?? batch.xs.shape[0]!;
      lossSum += loss! * size;
      wrongSum += wrong!;
      images += size;
    } finally {
      batch.xs.dispose();
      batch.ys.dispose();
    }
  }
  if (images === 0) throw new Error('evaluation got no batches: evaluate.batches() must yield the test set');
  return { loss: lossSum / images, error: wrongSum / images, images };
}

function forward(model: LayersModel, xs: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(xs, { training });
  if (Array.isArray(out) || !(out instanceof tf.Tensor)) {
    throw new Error('train: the model must have a single output tensor [batch, classes]');
  }
  if (out.rank !== 2)
    throw new Error(`train: the model's output must be [batch, classes], got [${out.shape}]`);
  return out;
}

/** Mean softmax cross-entropy; `ys` are class indices [B] or targets [B, C]. */
function crossEntropy(out: tf.Tensor, ys: tf.Tensor, outputs: 'logits' | 'probabilities'): tf.Scalar {
  const classes = out.shape[1]!;
  const target = targets(ys, classes, out.shape[0]!);
  // Probabilities are clipped as Keras does, so a confident mistake costs log(1e-7), not infinity.
  const logProbs = outputs === 'logits' ? tf.logSoftmax(out) : tf.log(tf.clipByValue(out, 1e-7, 1));
  return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), 1))) as tf.Scalar;
}

function targets(ys: tf.Tensor, classes: number, batchSize: number): tf.Tensor {
  if (ys.shape[0] !== batchSize) {
    throw new Error(`labels have ${ys.shape[0]} rows but the batch has ${batchSize} examples`);
  }
  if (ys.rank === 1) return tf.oneHot(tf.cast(ys, 'int32'), classes);
  if (ys.rank === 2 && ys.shape[1] === classes) return tf.cast(ys, 'float32');
  throw new Error(`labels must be class indices [B] or one-hot [B, ${classes}], got [${ys.shape}]`);
}

function countWrong(out: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const truth = ys.rank === 1 ? tf.cast(ys, 'int32') : tf.argMax(ys, 1);
  return tf.sum(tf.cast(tf.notEqual(tf.argMax(out, 1), truth), 'float32'));
}

export function resolveOutputs(model: LayersModel, outputs: OutputKind): 'logits' | 'probabilities' {
  if (outputs !== 'auto') return outputs;
  const last = model.layers[model.layers.length - 1];
  if (!last) return 'logits';
  const config = last.getConfig();
  return last.getClassName() === 'Softmax' || config['activation'] === 'softmax' ? 'probabilities' : 'logits';
}
