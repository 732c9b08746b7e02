// Batch normalisation whose training-mode statistics are taken over G groups of the mini-batch, as the paper's
// mini-batch of 128 on 2 GPUs normalised each GPU's 64 images by their own statistics. Inference is plain BN
// with the moving statistics. A layer of its own (registered as `@resnet/shortcuts>GroupBatchNormalization`), not a
// patch of tfjs's BatchNormalization: its weights have BN's names and shapes (gamma, beta, moving_mean,
// moving_variance), so checkpoints and weight files line up with a one-group model's.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Shape = tfl.Shape;
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type LayerVariable = tfl.LayerVariable;

/** Options of {@link GroupBatchNormalization}. */
export interface GroupBatchNormalizationArgs extends LayerArgs {
  /** Groups of the batch with their own statistics in training (2: the paper's 2 GPUs). */
  groups: number;
  /** tfjs's form: the weight of the old moving average (Torch's 0.1 is 0.9 here); default 0.9. */
  momentum?: number;
  /** Default 1e-5, Torch's. */
  epsilon?: number;
}

/**
 * BN over the channels (last axis) with statistics per group of the batch in training mode: the batch is cut
 * into `groups` consecutive, equal parts (images 0…B/G−1 are group 1, as data-parallel Torch scatters a
 * batch over its GPUs) and each part is normalised by its own mean and (biased) variance, then scaled by the
 * shared γ and shifted by the shared β. The moving statistics are updated with the mean over the groups of
 * the groups' mean and variance, with tfjs's own update v ← v − (v − value)·(1 − momentum).
 *
 * That last choice departs from the authors' setup on purpose. fb.resnet.torch wraps the model in
 * DataParallelTable, one replica per GPU, each normalising and keeping its BN running statistics over its own
 * 64 images, and its checkpoint saves the replica of GPU 1 (`model:get(1)` in checkpoints.lua): the saved
 * running statistics are group 1's alone. Keeping only group 1's would reproduce that; the mean over the
 * groups estimates the same population statistics with less noise, and with one group it is plain BN's
 * update either way.
 */
export class GroupBatchNormalization extends tfl.layers.Layer {
  static className = '@resnet/shortcuts>GroupBatchNormalization';
  readonly groups: number;
  readonly momentum: number;
  readonly epsilon: number;
  private gamma?: LayerVariable;
  private beta?: LayerVariable;
  private movingMean?: LayerVariable;
  private movingVariance?: LayerVariable;

  constructor(args: GroupBatchNormalizationArgs) {
    super(args);
    if (!Number.isInteger(args.groups) || args.groups < 1) {
      throw new Error(`GroupBatchNormalization: groups must be a positive integer, got ${args.groups}`);
    }
    this.groups = args.groups;
    this.momentum = args.momentum ?? 0.9;
    this.epsilon = args.epsilon ?? 1e-5;
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new Error(`GroupBatchNormalization: momentum must be in [0, 1], got ${this.momentum}`);
    }
    if (!(this.epsilon > 0)) {
      throw new Error(`GroupBatchNormalization: epsilon must be positive, got ${this.epsilon}`);
    }
    this.supportsMasking = true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) {
      throw new Error(`${this.name}: GroupBatchNormalization needs a known number of channels (last axis)`);
    }
    const c = [channels];
    this.gamma = this.addWeight('gamma', c, 'float32', tfl.initializers.ones(), undefined, true);
    this.beta = this.addWeight('beta', c, 'float32', tfl.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight('moving_mean', c, 'float32', tfl.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight(
      'moving_variance',
      c,
      'float32',
      tfl.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const gamma = this.gamma!.read();
      const beta = this.beta!.read();
      // As tfjs-layers reads it: any truthy value means training.
      if (!kwargs?.['training']) {
        return tf.batchNorm(
          x,
          this.movingMean!.read(),
          this.movingVariance!.read(),
          beta,
          gamma,
          this.epsilon,
        );
      }
      const [batch, ...rest] = x.shape;
      if (batch === undefined || batch % this.groups !== 0) {
        throw new Error(
          `${this.name}: a training batch of ${batch} cannot be split into ${this.groups} equal BN groups; ` +
            `use a batch size that is a multiple of ${this.groups} (drop the last partial batch)`,
        );
      }
      const grouped = tf.reshape(x, [this.groups, batch / this.groups, ...rest]);
      // Statistics of each group over its images (axis 1) and positions (the axes after it but the last),
      // per channel: shape [G, 1, …, 1, C].
      const reduce = [1, ...rest.slice(0, -1).map((_, i) => i + 2)];
      const { mean, variance } = tf.moments(grouped, reduce, true);
      const normed = tf.add(
        tf.mul(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.epsilon))), gamma),
        beta,
      );
      this.updateMoving(this.movingMean!, tf.mean(tf.reshape(mean, [this.groups, -1]), 0));
      this.updateMoving(this.movingVariance!, tf.mean(tf.reshape(variance, [this.groups, -1]), 0));
      return tf.reshape(normed, x.shape);
    });
  }

  /** tfjs-layers' update of a moving statistic, op for op: v ← v − (v − value)·(1 − momentum). */
  private updateMoving(variable: LayerVariable, value: tf.Tensor): void {
    tf.tidy(() => {
      const current = variable.read();
      variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - this.momentum)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, momentum: this.momentum, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(GroupBatchNormalization);
