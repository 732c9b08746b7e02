// The layer factories that shortcuts and Residual Units receive (Flax style: the model injects its conv and
// norm into every block), with the authors' initialisation and a distinct derived seed for every layer.
import * as tfl from '@tensorflow/tfjs-layers';
import { GroupBatchNormalization } from './group-batch-norm.js';

type Layer = InstanceType<typeof tfl.layers.Layer>;
type Initializer = ReturnType<typeof tfl.initializers.randomNormal>;

/** How convolution kernels are initialised: N(0, scale/fan) or U(±√(3·scale/fan)). */
export interface ConvInit {
  /** Variance numerator; 2 is He et al. 2015 (for ReLU nets). */
  scale: number;
  /** `fan-out` = k·k·C_out, as the authors' Torch code (`n = kW*kH*nOutputPlane`); `fan-in` = k·k·C_in. */
  mode: 'fan-out' | 'fan-in';
  /** `normal` is untruncated, as Torch's `weight:normal(0, std)`. */
  distribution: 'normal' | 'truncated-normal' | 'uniform';
}

/** He initialisation as in the authors' code: N(0, 2/(k·k·C_out)). */
export const heNormalFanOut: ConvInit = { scale: 2, mode: 'fan-out', distribution: 'normal' };

/** Options of {@link LayerFactories.conv}. */
export interface ConvArgs {
  /** Layer name, built from position (`stage2_unit3_conv1`). */
  name: string;
  filters: number;
  kernelSize: number;
  strides?: number;
  /** Input channels; only needed for `fan-in` initialisation. */
  inChannels?: number;
  /** Convolutions feeding a BN carry no bias (the authors' code removes it); gates need one. */
  useBias?: boolean;
  biasInit?: number;
  activation?: 'sigmoid' | 'linear';
  /**
   * tfjs's padding; default 'same'. {@link applyConv} asks for 'valid' after padding explicitly, as Torch
   * does for strided convolutions.
   */
  padding?: 'same' | 'valid';
}

/** Options of {@link LayerFactories.dense}. */
export interface DenseArgs {
  name: string;
  units: number;
  /** Input features: sets Torch's default linear init U(±1/√fanIn). */
  inFeatures: number;
  activation?: 'softmax' | 'sigmoid' | 'relu' | 'linear';
}

/** Makes the layers of a network so that every block is built the same way. */
export interface LayerFactories {
  conv(args: ConvArgs): Layer;
  /** Batch normalisation over channels, γ = 1, β = 0. */
  batchNorm(name: string): Layer;
  relu(name: string): Layer;
  dense(args: DenseArgs): Layer;
}

/** Options of {@link createLayerFactories}. */
export interface LayerFactoriesArgs {
  /**
   * Base seed. Every layer gets its own seed (base + creation index): tfjs initialisers given one seed
   * produce the same tensor, so a shared seed would make equally shaped layers identical.
   */
  seed?: number;
  init?: ConvInit;
  /** Torch's BN momentum 0.1 is tfjs's 0.9 (tfjs weighs the old moving average). */
  batchNormMomentum?: number;
  /** Torch's default 1e-5 (tfjs's default is 1e-3). */
  batchNormEpsilon?: number;
  /**
   * Groups of the mini-batch that BN takes its training statistics over (the paper: 2, BN per 64 of 128 on
   * 2 GPUs); default 1, tfjs's standard BatchNormalization. Above 1, a {@link GroupBatchNormalization}.
   */
  batchNormGroups?: number;
}

/** Creates layer factories with the authors' initialisation; see {@link LayerFactoriesArgs}. */
export function createLayerFactories(args: LayerFactoriesArgs = {}): LayerFactories {
  const init = args.init ?? heNormalFanOut;
  if (!(init.scale > 0)) throw new Error(`init.scale must be positive, got ${init.scale}`);
  if (init.mode !== 'fan-out' && init.mode !== 'fan-in') {
    throw new Error(`init.mode must be 'fan-out' or 'fan-in', got '${init.mode}'`);
  }
  if (!['normal', 'truncated-normal', 'uniform'].includes(init.distribution)) {
    throw new Error(
      `init.distribution must be 'normal', 'truncated-normal' or 'uniform', got '${init.distribution}'`,
    );
  }
  let created = 0;
  const nextSeed = (): number | undefined => (args.seed === undefined ? undefined : args.seed + created++);
  const momentum = args.batchNormMomentum ?? 0.9;
  const epsilon = args.batchNormEpsilon ?? 1e-5;
  const groups = args.batchNormGroups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`batchNormGroups must be a positive integer, got ${String(args.batchNormGroups)}`);
  }

  function kernelInitializer(conv: ConvArgs): Initializer {
    let fan: number;
    if (init.mode === 'fan-out') fan = conv.kernelSize * conv.kernelSize * conv.filters;
    else if (conv.inChannels === undefined) {
      throw new Error(`conv '${conv.name}': fan-in initialisation needs inChannels`);
    } else fan = conv.kernelSize * conv.kernelSize * conv.inChannels;
    const variance = init.scale / fan;
    const seed = nextSeed();
    if (init.distribution === 'uniform') {
      const limit = Math.sqrt(3 * variance);
      return tfl.initializers.randomUniform({ minval: -limit, maxval: limit, seed });
    }
    const stddev = Math.sqrt(variance);
    return init.distribution === 'normal'
      ? tfl.initializers.randomNormal({ mean: 0, stddev, seed })
      : tfl.initializers.truncatedNormal({ mean: 0, stddev, seed });
  }

  return {
    conv(conv) {
      for (const key of ['filters', 'kernelSize'] as const) {
        if (!Number.isInteger(conv[key]) || conv[key] < 1) {
          throw new Error(`conv '${conv.name}': ${key} must be a positive integer, got ${conv[key]}`);
        }
      }
      return tfl.layers.conv2d({
        name: conv.name,
        filters: conv.filters,
        kernelSize: conv.kernelSize,
        strides: conv.strides ?? 1,
        padding: conv.padding ?? 'same',
        useBias: conv.useBias ?? false,
        kernelInitializer: kernelInitializer(conv),
        biasInitializer: tfl.initializers.constant({ value: conv.biasInit ?? 0 }),
        activation: conv.activation ?? 'linear',
      });
    },
    batchNorm(name) {
      if (groups > 1) return new GroupBatchNormalization({ name, groups, momentum, epsilon });
      return tfl.layers.batchNormalization({
        name,
        axis: -1,
        momentum,
        epsilon,
        gammaInitializer: 'ones',
        betaInitializer: 'zeros',
      });
    },
    relu(name) {
      return tfl.layers.activation({ name, activation: 'relu' });
    },
    dense(dense) {
      const limit = 1 / Math.sqrt(dense.inFeatures);
      return tfl.layers.dense({
        name: dense.name,
        units: dense.units,
        activation: dense.activation ?? 'linear',
        kernelInitializer: tfl.initializers.randomUniform({
          minval: -limit,
          maxval: limit,
          seed: nextSeed(),
        }),
        biasInitializer: 'zeros',
      });
    },
  };
}

/**
 * Applies a convolution padded as the authors' Torch code pads it: ⌊(k − 1)/2⌋ zeros on every side
 * (`SpatialConvolution(…, 1, 1)` for a 3×3). For stride 1 and an odd kernel that is tfjs's 'same'. For a
 * strided kernel it is not: tfjs's 'same' puts the one extra row and column at the bottom and right only, so a
 * stride-2 3×3 samples odd pixels while the stride-2 1×1 projection beside it samples even ones. Strided
 * convolutions wider than 1×1 therefore get an explicit zeroPadding2d (`<conv name>_pad`) and a 'valid'
 * convolution, and both paths of a unit read the same pixels.
 */
export function applyConv(
  x: tfl.SymbolicTensor,
  layers: LayerFactories,
  conv: Omit<ConvArgs, 'padding'>,
): tfl.SymbolicTensor {
  const stride = conv.strides ?? 1;
  const pad = Math.floor((conv.kernelSize - 1) / 2);
  if (stride === 1 || pad === 0) return layers.conv(conv).apply(x) as tfl.SymbolicTensor;
  const padded = tfl.layers.zeroPadding2d({ name: `${conv.name}_pad`, padding: pad }).apply(x);
  return layers.conv({ ...conv, padding: 'valid' }).apply(padded) as tfl.SymbolicTensor;
}
