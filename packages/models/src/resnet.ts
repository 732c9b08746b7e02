// Whole CIFAR ResNets as ordinary tf.LayersModels: a 3×3 stem, three stages of Residual Units, global average
// pooling and a softmax classifier, with the unit, order and shortcut chosen by a plain-data config.
import {
  type ConvInit,
  createLayerFactories,
  type DimensionIncrease,
  GroupBatchNormalization,
  type ShortcutArgs,
  type ShortcutFn,
} from '@resnet/shortcuts';
import {
  checkOrder,
  isPreActivation,
  preActivation,
  type ResidualUnit,
  resolveUnit,
  type UnitOrder,
} from '@resnet/units';
import * as tfl from '@tensorflow/tfjs-layers';

type SymbolicTensor = tfl.SymbolicTensor;

/** Everything that defines a network; plain data when unit and shortcut are given by name. */
export interface ResNetConfig {
  /** Weighted layers: 6n+2 for the basic unit, 9n+2 for the bottleneck, 3n+2 for the one-layer unit. */
  depth: number;
  /** Classes of the softmax output (10 for CIFAR-10, 100 for CIFAR-100). */
  classes: number;
  /** A registered unit name or a unit function; default `basic`. */
  unit?: string | ResidualUnit;
  /** Fig. 4's order; default `full-preact`, the paper's proposal. */
  order?: UnitOrder;
  /** h(x) of the units that keep dimensions: a registered name or a function; default `identity`. */
  shortcut?: string | ShortcutFn;
  shortcutArgs?: ShortcutArgs;
  /** h(x) of the units that change dimensions; default `projection` (the paper's); `zero-pad` is [1]'s A. */
  dimensionIncrease?: DimensionIncrease | ShortcutFn;
  /** Default [32, 32, 3]. */
  inputShape?: [number, number, number];
  /** Unit widths per stage; default [16, 32, 64] (bottleneck outputs are 4× these). */
  widths?: number[];
  /** Filters of the stem convolution; default 16. */
  stemFilters?: number;
  /** Base seed of the initialisation: every layer derives its own. Unseeded by default. */
  seed?: number;
  /** Convolution initialisation; default N(0, 2/(k·k·C_out)) as the authors' code. */
  init?: ConvInit;
  /**
   * Groups of the training mini-batch that every BN takes its statistics over; default 1 (the whole batch).
   * The paper's 128 ran on 2 GPUs with BN per 64: 2. Inference is the same either way.
   */
  batchNormGroups?: number;
  /** Model name; default `resnet<depth>`. */
  name?: string;
}

/** Units per stage for a depth, or a clear error naming the rule of this unit. */
export function unitsPerStage(depth: number, unit: string | ResidualUnit, stages = 3): number {
  const resolved = resolveUnit(unit);
  const step = resolved.layersPerUnit * stages;
  const label = typeof unit === 'string' ? `'${unit}' unit` : 'unit';
  if (!Number.isInteger(depth) || depth < step + 2 || (depth - 2) % step !== 0) {
    const examples = [1, 2, 3, 18].map((n) => step * n + 2).join(', ');
    throw new Error(
      `depth ${depth} does not fit the ${label}: with ${resolved.layersPerUnit} weighted layer(s) per unit and ` +
        `${stages} stages the depth must be ${step}n+2 for n ≥ 1 (${examples}, …)`,
    );
  }
  return (depth - 2) / step;
}

function checkConfig(config: ResNetConfig): void {
  if (config == null || typeof config !== 'object') throw new Error('resnet: expected a config object');
  if (!Number.isInteger(config.classes) || config.classes < 1) {
    throw new Error(`resnet: classes must be a positive integer, got ${String(config.classes)}`);
  }
  const shape = config.inputShape;
  if (shape && (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new Error(
      `resnet: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`,
    );
  }
  const widths = config.widths;
  if (widths && (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0))) {
    throw new Error(
      `resnet: widths must be a non-empty list of positive integers, got ${JSON.stringify(widths)}`,
    );
  }
  if (config.seed !== undefined && !Number.isInteger(config.seed)) {
    throw new Error(`resnet: seed must be an integer, got ${String(config.seed)}`);
  }
}

/** Builds the network a config describes; see {@link ResNetConfig}. */
export function resnet(config: ResNetConfig): tfl.LayersModel {
  checkConfig(config);
  const unitName = config.unit ?? 'basic';
  const unit = resolveUnit(unitName);
  const order = config.order ?? 'full-preact';
  checkOrder(order);
  const widths = config.widths ?? [16, 32, 64];
  const n = unitsPerStage(config.depth, unitName, widths.length);
  const layers = createLayerFactories({
    seed: config.seed,
    init: config.init,
    batchNormGroups: config.batchNormGroups ?? 1,
  });
  const pre = isPreActivation(order);

  const input = tfl.input({ name: 'input', shape: config.inputShape ?? [32, 32, 3] });
  let x = layers
    .conv({
      name: 'stem_conv',
      filters: config.stemFilters ?? 16,
      kernelSize: 3,
      inChannels: input.shape[3]!,
    })
    .apply(input) as SymbolicTensor;
  // Post-activation nets start conv-BN-ReLU as [1]; pre-activation nets apply the first unit's activation
  // here, right after conv1 and before the first split (BN-ReLU for full, ReLU for ReLU-only).
  x = pre
    ? preActivation(x, order, 'stem', layers)
    : (layers.relu('stem_relu').apply(layers.batchNorm('stem_bn').apply(x)) as SymbolicTensor);

  widths.forEach((filters, s) => {
    for (let u = 0; u < n; u++) {
      x = unit(x, {
        name: `stage${s + 1}_unit${u + 1}`,
        filters,
        stride: s > 0 && u === 0 ? 2 : 1,
        order,
        shortcut: config.shortcut,
        shortcutArgs: config.shortcutArgs,
        dimensionIncrease: config.dimensionIncrease,
        layers,
        preactivated: pre && s === 0 && u === 0,
      });
    }
  });

  // Pre-activation units end with a bare addition: the extra activation after the last one (the next
  // unit's pre-activation, were there one) comes before pooling.
  if (pre) x = preActivation(x, order, 'final', layers);
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as SymbolicTensor;
  const logits = layers
    .dense({ name: 'fc', units: config.classes, inFeatures: x.shape[3]!, activation: 'linear' })
    .apply(pooled) as SymbolicTensor;
  // The softmax is a layer of its own, so that `predict` gives probabilities while a trainer takes the
  // logits (its input) and computes the cross-entropy with a stable log-softmax, as Torch's
  // LogSoftMax + ClassNLLCriterion do (@resnet/trainer does this for any model ending in a softmax layer).
  const output = tfl.layers.softmax({ name: 'softmax' }).apply(logits) as SymbolicTensor;
  return tfl.model({ name: config.name ?? `resnet${config.depth}`, inputs: input, outputs: output });
}

/** Trainable parameters, and the same without BN's γ and β (the paper's 10.2M for ResNet-1001 leaves them out). */
export interface ParameterCount {
  params: number;
  paramsWithoutBN: number;
}

const batchNormClasses = new Set(['BatchNormalization', GroupBatchNormalization.className]);

/** Counts trainable parameters; BN's moving statistics are not parameters and are never counted. */
export function countParameters(model: tfl.LayersModel): ParameterCount {
  let params = 0;
  let bn = 0;
  for (const layer of model.layers) {
    for (const weight of layer.trainableWeights) {
      const size = weight.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
      params += size;
      if (batchNormClasses.has(layer.getClassName())) bn += size;
    }
  }
  return { params, paramsWithoutBN: params - bn };
}
