// The training-mode call of tfjs-layers' standard BatchNormalization layer through batchNormTraining
// (closed-form gradient). The layer class, its weights, config and serialised form stay tfjs's own, so every
// model keeps saving and loading as a plain tf.LayersModel; only the call in training mode changes, and it
// computes the same outputs (up to float rounding) and the same moving-average updates (tfjs's own formula).
// Calls this path does not cover (inference, no γ or β, channels not last, non-float input) go to the
// original method unchanged.
import * as tf from '@tensorflow/tfjs-core';
import { runtime } from '../../runtime/platform.js';
import { batchNormTraining } from './training.js';

/** The members of tfjs-layers' BatchNormalization that the training-mode call reads. */
interface BatchNormalizationLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: { read(): tf.Tensor };
  beta?: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(value: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(value: tf.Tensor): void };
}

export type CallMethod = (
  this: BatchNormalizationLayer,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Record<string, unknown>,
) => tf.Tensor | tf.Tensor[];

/**
 * The prototype of tfjs-layers' BatchNormalization, or undefined when tfjs-layers is not loaded: in Node.js
 * the runtime loads it if installed; in a browser it is there once the application's bundle imports it.
 */
export function batchNormalizationPrototype(): { call: CallMethod } | undefined {
  // Loading tfjs-layers registers its classes; it is the same module instance an ESM import gets.
  runtime().loadLayers();
  // Taken from the serialization registry rather than by constructing a layer, which would use up an
  // automatic layer name.
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'];
  return (entry?.[0] as unknown as { prototype: { call: CallMethod } } | undefined)?.prototype;
}

/** tfjs-layers' update of a moving statistic, op for op: v ← v − (v − value)·(1 − momentum). */
function updateMovingAverage(
  variable: BatchNormalizationLayer['movingMean'],
  value: tf.Tensor,
  momentum: number,
): void {
  tf.tidy(() => {
    const decay = 1 - momentum;
    const current = variable.read();
    const delta = tf.mul(tf.sub(current, value), decay);
    variable.write(tf.sub(current, delta));
  });
}

/**
 * The training-mode call of standard BatchNormalization layers through batchNormTraining, falling back to
 * `original` (tfjs-layers' own method) for every call it does not cover. The override table installs it as
 * `BatchNormalization.prototype.call` (switch: `batchNormLayer`) and puts `original` back on restore().
 */
export function fastBatchNormalizationCall(original: CallMethod): CallMethod {
  return function fastCall(this: BatchNormalizationLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    // As tfjs-layers reads it: any truthy value means training.
    const training = Boolean(kwargs?.['training']);
    const axis = input === undefined ? -1 : this.axis >= 0 ? this.axis : this.axis + input.rank;
    const covered =
      training &&
      input !== undefined &&
      (!Array.isArray(inputs) || inputs.length === 1) &&
      input.rank >= 2 &&
      axis === input.rank - 1 &&
      input.dtype === 'float32' &&
      this.scale &&
      this.center &&
      this.gamma !== undefined &&
      this.beta !== undefined;
    if (!covered) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(
        input,
        this.gamma!.read() as tf.Tensor1D,
        this.beta!.read() as tf.Tensor1D,
        this.epsilon,
      );
      updateMovingAverage(this.movingMean, mean, this.momentum);
      updateMovingAverage(this.movingVariance, variance, this.momentum);
      mean.dispose();
      variance.dispose();
      return y;
    });
  };
}
