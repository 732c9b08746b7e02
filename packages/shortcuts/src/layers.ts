// Custom tfjs layers the shortcuts need and tfjs-layers lacks: a constant scale, the complement 1 − g, and
// option A's subsample-and-zero-pad. Each is registered for serialization under a class name that starts with
// this package's name (`@resnet/shortcuts>OneMinus`), so a saved model loads back (tf.loadLayersModel finds
// the class by that name) with the same outputs, and a process that did not import this package is told by
// tfjs's own error which package to import.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Shape = tfl.Shape;

/**
 * Prefix of the layers' class names. tfjs-layers reports a class missing at load time as
 * `Unknown layer: <className>` from its deserializer, which has no hook for unknown names; so the name itself
 * says what to import.
 */
const layerPrefix = '@resnet/shortcuts>';
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

function singleShape(inputShape: Shape | Shape[]): Shape {
  // A one-input layer receives one shape; tfjs hands a list only to multi-input layers.
  return Array.isArray(inputShape[0]) ? (inputShape as Shape[])[0]! : (inputShape as Shape);
}

function singleTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** Options of {@link Scale}. */
export interface ScaleArgs extends LayerArgs {
  /** The constant every element is multiplied by (λ of the paper's eq. 6). */
  scale: number;
}

/** Multiplies its input by a constant: the scaled shortcut λx and the scaled residual λF of Fig. 2(b). */
export class Scale extends tfl.layers.Layer {
  static className = `${layerPrefix}Scale`;
  readonly scale: number;

  constructor(args: ScaleArgs) {
    super(args);
    if (!Number.isFinite(args.scale))
      throw new Error(`Scale: scale must be a finite number, got ${args.scale}`);
    this.scale = args.scale;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mul(singleTensor(inputs), this.scale));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

/** Computes 1 − x: the shortcut's share 1 − g(x) of the gating shortcuts, Fig. 2(c) and 2(d). */
export class OneMinus extends tfl.layers.Layer {
  static className = `${layerPrefix}OneMinus`;

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.sub(1, singleTensor(inputs)));
  }
}

/**
 * Keeps every `stride`-th row and column (x[:, ::s, ::s, :]) with ops that have gradients on every backend:
 * tfjs registers no gradient for StridedSlice, so pad to a multiple of the stride, fold the phase into
 * the row and channel axes, and take phase 0 with a plain slice.
 */
function subsample(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const rows = Math.ceil(height / stride);
  const cols = Math.ceil(width / stride);
  const padded = tf.pad(x, [
    [0, 0],
    [0, rows * stride - height],
    [0, cols * stride - width],
    [0, 0],
  ]);
  const folded = tf.reshape(padded, [batch * rows, stride, cols, stride * channels]);
  const phase0 = tf.slice(folded, [0, 0, 0, 0], [batch * rows, 1, cols, channels]);
  return tf.reshape(phase0, [batch, rows, cols, channels]);
}

/** Options of {@link ZeroPadChannels}. */
export interface ZeroPadChannelsArgs extends LayerArgs {
  /** Channels of the output; the input's channels come first, zeros fill the rest. */
  channels: number;
  /** Spatial subsampling: keeps every `stride`-th row and column, starting at the first. */
  stride: number;
}

/**
 * Option A of [1]'s dimension-increasing shortcut: subsample by `stride`, then append zero channels.
 * The zeros go after the input's channels, as fb.resnet.torch's type-A shortcut concatenates x with 0·x.
 */
export class ZeroPadChannels extends tfl.layers.Layer {
  static className = `${layerPrefix}ZeroPadChannels`;
  readonly channels: number;
  readonly stride: number;

  constructor(args: ZeroPadChannelsArgs) {
    super(args);
    if (!Number.isInteger(args.stride) || args.stride < 1) {
      throw new Error(`ZeroPadChannels: stride must be a positive integer, got ${args.stride}`);
    }
    if (!Number.isInteger(args.channels) || args.channels < 1) {
      throw new Error(`ZeroPadChannels: channels must be a positive integer, got ${args.channels}`);
    }
    this.channels = args.channels;
    this.stride = args.stride;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, height, width, channels] = singleShape(inputShape);
    if (channels != null && channels > this.channels) {
      throw new Error(
        `ZeroPadChannels: the input has ${channels} channels, more than the ${this.channels} asked for; ` +
          'zero-padding can only add channels',
      );
    }
    const sub = (size: number | null | undefined) => (size == null ? null : Math.ceil(size / this.stride));
    return [batch ?? null, sub(height), sub(width), this.channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleTensor(inputs) as tf.Tensor4D;
      const channels = x.shape[3];
      const sub = this.stride === 1 ? x : subsample(x, this.stride);
      return tf.pad(sub, [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, this.channels - channels],
      ]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), channels: this.channels, stride: this.stride };
  }
}

/**
 * Registers a layer under its class name, and under the `resnet>` name that models saved before the class
 * names carried the package's name have, so those load into the same class (and save under the new name).
 */
function registerLayer(cls: tf.serialization.SerializableConstructor<tf.serialization.Serializable>): void {
  tf.serialization.registerClass(cls);
  const legacyName = `resnet>${cls.className.slice(layerPrefix.length)}`;
  tf.serialization.SerializationMap.getMap().classNameMap[legacyName] = [cls, cls.fromConfig];
}

registerLayer(Scale);
registerLayer(OneMinus);
registerLayer(ZeroPadChannels);
