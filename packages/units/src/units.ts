// Residual Units in the five orders of Fig. 4 (original, BN after addition, ReLU before addition, ReLU-only
// pre-activation, full pre-activation) for the basic, bottleneck and one-layer units, and the unit registry.
// A unit is a function over symbolic tensors; the model injects its layer factories and its shortcut.
import {
  applyConv,
  createLayerFactories,
  createRegistry,
  createShortcut,
  type DimensionIncrease,
  type LayerFactories,
  type RegisterOptions,
  resolveShortcut,
  type ShortcutArgs,
  type ShortcutContext,
  type ShortcutFn,
} from '@resnet/shortcuts';
import type * as tfl from '@tensorflow/tfjs-layers';

type SymbolicTensor = tfl.SymbolicTensor;
type Layer = InstanceType<typeof tfl.layers.Layer>;

/** The orders of Fig. 4, (a) to (e). */
export const unitOrders = [
  'original',
  'bn-after-add',
  'relu-before-add',
  'relu-only-preact',
  'full-preact',
] as const;
export type UnitOrder = (typeof unitOrders)[number];

/** Whether the order activates before the weights, (d) and (e): its units end with the bare addition. */
export function isPreActivation(order: UnitOrder): boolean {
  return order === 'relu-only-preact' || order === 'full-preact';
}

/** Fails with the list of orders unless `order` is one of them. */
export function checkOrder(order: string): asserts order is UnitOrder {
  if (!(unitOrders as readonly string[]).includes(order)) {
    throw new Error(`unknown unit order '${order}'; orders (Fig. 4 a–e): ${unitOrders.join(', ')}`);
  }
}

/** What a unit receives: its position, its width, and the model's injected factories and shortcut. */
export interface UnitArgs {
  /** Name prefix from position (`stage2_unit3`): layers are `stage2_unit3_conv1`, `stage2_unit3_preact_bn`… */
  name: string;
  /** Width of the unit's convolutions; its output has `filters × expansion` channels. */
  filters: number;
  /** Stride of the unit's first convolution (2 where a stage halves the map); default 1. */
  stride?: number;
  order: UnitOrder;
  /** h(x) for units that keep dimensions: a registered name or a function; default `identity`. */
  shortcut?: string | ShortcutFn;
  shortcutArgs?: ShortcutArgs;
  /** h(x) for units that change dimensions (stride or channels); default `projection`. */
  dimensionIncrease?: DimensionIncrease | ShortcutFn;
  /** Conv, BN, ReLU and dense factories; default: the authors' initialisation, unseeded. */
  layers?: LayerFactories;
  /**
   * The input is already pre-activated (the network's first unit, whose activation comes right after the
   * stem conv, before the split): the unit skips its own pre-activation. Pre-activation orders only.
   */
  preactivated?: boolean;
}

/** A Residual Unit: a function over symbolic tensors, plus what a model needs to lay units out. */
export interface ResidualUnit {
  (x: SymbolicTensor, args: UnitArgs): SymbolicTensor;
  /** Weighted layers on the residual path (2 basic, 3 bottleneck, 1 one-layer): depth = 3·n·this + 2. */
  readonly layersPerUnit: number;
  /** Output channels over `filters` (4 for the bottleneck). */
  readonly expansion: number;
}

/**
 * What a function given to {@link defineUnit} receives: the caller's {@link UnitArgs} with the defaults
 * filled in, so a strict custom unit can use `args.layers` and `args.stride` without checking for undefined.
 */
export interface DefinedUnitArgs extends UnitArgs {
  stride: number;
  layers: LayerFactories;
}

/**
 * Makes a Residual Unit of a function: attaches `layersPerUnit` and `expansion`, and fills in the defaults
 * (`stride` 1; `layers`: the authors' initialisation, unseeded) before calling it.
 */
export function defineUnit(
  fn: (x: SymbolicTensor, args: DefinedUnitArgs) => SymbolicTensor,
  info: { layersPerUnit: number; expansion: number },
): ResidualUnit {
  for (const key of ['layersPerUnit', 'expansion'] as const) {
    if (!Number.isInteger(info[key]) || info[key] < 1) {
      throw new Error(`defineUnit: ${key} must be a positive integer, got ${info[key]}`);
    }
  }
  const unit = (x: SymbolicTensor, args: UnitArgs) =>
    fn(x, { ...args, stride: args.stride ?? 1, layers: args.layers ?? createLayerFactories() });
  return Object.assign(unit, { layersPerUnit: info.layersPerUnit, expansion: info.expansion });
}

function apply(layer: Layer, x: SymbolicTensor): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/**
 * The activation a pre-activation unit starts with: BN-ReLU for (e), ReLU for (d); nothing for the other
 * orders. Models also use it after the stem and after the last addition (the extra BN-ReLU before pooling).
 */
export function preActivation(
  x: SymbolicTensor,
  order: UnitOrder,
  name: string,
  layers: LayerFactories,
): SymbolicTensor {
  if (order === 'full-preact') x = apply(layers.batchNorm(`${name}_bn`), x);
  if (isPreActivation(order)) x = apply(layers.relu(`${name}_relu`), x);
  return x;
}

/** One convolution of a unit's residual path. */
export interface UnitConv {
  kernelSize: number;
  /** Whether it has `filters × expansion` outputs (the bottleneck's last 1×1) rather than `filters`. */
  expand?: boolean;
  /** Whether it carries the unit's stride (the authors' code strides the bottleneck's first 1×1). */
  strided?: boolean;
}

/** What {@link ConvUnitSpec.transformResidual} receives besides F(x). */
export interface ResidualContext {
  /** The unit's name prefix, for naming the layers the step adds. */
  name: string;
  /** Channels of F(x). */
  channels: number;
  layers: LayerFactories;
  args: UnitArgs;
}

/** Describes a unit built from a chain of convolutions. */
export interface ConvUnitSpec {
  convs: UnitConv[];
  expansion: number;
  /**
   * A step applied to F(x) after its last layer and before the shortcut combines it with x, for example a
   * squeeze-and-excitation gate.
   */
  transformResidual?: (residual: SymbolicTensor, context: ResidualContext) => SymbolicTensor;
}

function positiveInteger(name: string, key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${name}: ${key} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Builds a Residual Unit from a chain of convolutions in any order of Fig. 4. After every convolution but
 * the last comes BN-ReLU; the orders differ in what follows the last one, what precedes the first, and
 * what follows the addition:
 *
 *   (a) original          conv…conv-BN, add, ReLU
 *   (b) bn-after-add      conv…conv, add, BN, ReLU
 *   (c) relu-before-add   conv…conv-BN-ReLU, add
 *   (d) relu-only-preact  ReLU, conv…conv-BN, add
 *   (e) full-preact       BN-ReLU, conv…conv, add
 *
 * In a pre-activation unit that changes dimensions the first activation is shared: the projection reads
 * the pre-activated input (the authors' 'both_preact'); otherwise the shortcut reads x itself.
 */
export function convUnit(spec: ConvUnitSpec): ResidualUnit {
  if (spec.convs.length === 0) throw new Error('convUnit: a unit needs at least one convolution');
  return defineUnit(
    (x, args) => {
      const { name } = args;
      checkOrder(args.order);
      const order = args.order;
      const filters = positiveInteger(name, 'filters', args.filters);
      const stride = positiveInteger(name, 'stride', args.stride);
      const layers = args.layers;
      if (x.shape.length !== 4) {
        throw new Error(
          `${name}: a Residual Unit takes a [batch, height, width, channels] input, got rank ${x.shape.length}`,
        );
      }
      const pre = isPreActivation(order);
      if (args.preactivated && !pre) {
        throw new Error(
          `${name}: 'preactivated' applies to the pre-activation orders (relu-only-preact, full-preact), not '${order}'`,
        );
      }
      const inChannels = x.shape[3]!;
      const outChannels = filters * spec.expansion;
      const increases = stride !== 1 || inChannels !== outChannels;

      // residual branch
      const input = pre && !args.preactivated ? preActivation(x, order, `${name}_preact`, layers) : x;
      let f = input;
      let channels = inChannels;
      spec.convs.forEach((conv, index) => {
        const i = index + 1;
        const last = i === spec.convs.length;
        const convFilters = conv.expand ? outChannels : filters;
        // Padded as Torch pads (1 on every side for a 3×3, stride 2 included): see applyConv.
        f = applyConv(f, layers, {
          name: `${name}_conv${i}`,
          filters: convFilters,
          kernelSize: conv.kernelSize,
          strides: conv.strided ? stride : 1,
          inChannels: channels,
        });
        channels = convFilters;
        const bn =
          !last || order === 'original' || order === 'relu-before-add' || order === 'relu-only-preact';
        const relu = !last || order === 'relu-before-add';
        if (bn) f = apply(layers.batchNorm(`${name}_bn${i}`), f);
        if (relu) f = apply(layers.relu(`${name}_relu${i}`), f);
      });
      if (channels !== outChannels) {
        throw new Error(
          `${name}: the last convolution gives ${channels} channels but the unit's output has ${outChannels} ` +
            '(filters × expansion); mark the last convolution `expand: true`',
        );
      }
      if (spec.transformResidual)
        f = spec.transformResidual(f, { name, channels: outChannels, layers, args });

      // shortcut branch, combined with F by the shortcut itself
      const context: ShortcutContext = {
        name,
        stride,
        filters: outChannels,
        layers,
        normalizeProjection: !pre,
      };
      const shortcut = increases
        ? createShortcut(resolveShortcut(args.dimensionIncrease ?? 'projection'))
        : createShortcut(args.shortcut ?? 'identity', args.shortcutArgs ?? {});
      let y = shortcut(increases && pre ? input : x, f, context);

      if (order === 'bn-after-add') y = apply(layers.batchNorm(`${name}_out_bn`), y);
      if (order === 'original' || order === 'bn-after-add') y = apply(layers.relu(`${name}_out_relu`), y);
      return y;
    },
    { layersPerUnit: spec.convs.length, expansion: spec.expansion },
  );
}

/** Two 3×3 convolutions (the CIFAR ResNet-110/1202 unit). */
export const basicUnit = convUnit({
  convs: [{ kernelSize: 3, strided: true }, { kernelSize: 3 }],
  expansion: 1,
});

/** [1×1, w; 3×3, w; 1×1, 4w], stride on the first 1×1 as in the authors' code (ResNet-164/1001). */
export const bottleneckUnit = convUnit({
  convs: [{ kernelSize: 1, strided: true }, { kernelSize: 3 }, { kernelSize: 1, expand: true }],
  expansion: 4,
});

/** A single 3×3 convolution: Table 3's "1-layer skip" unit. */
export const oneLayerUnit = convUnit({ convs: [{ kernelSize: 3, strided: true }], expansion: 1 });

function checkUnit(unit: unknown, where: string): asserts unit is ResidualUnit {
  const u = unit as { layersPerUnit?: unknown; expansion?: unknown } | undefined;
  if (typeof unit !== 'function' || !Number.isInteger(u?.layersPerUnit) || !Number.isInteger(u?.expansion)) {
    throw new Error(
      `${where}: expected a unit function with layersPerUnit and expansion; wrap it with defineUnit()`,
    );
  }
}

const registry = createRegistry<ResidualUnit>('unit', checkUnit);

/**
 * Registers a unit under a name, so models and presets can refer to it as data. A taken name fails unless
 * `{ replace: true }`.
 */
export function registerUnit(name: string, unit: ResidualUnit, options?: RegisterOptions): void {
  registry.register(name, unit, options);
}

/** Removes a registered unit; returns whether there was one. */
export function unregisterUnit(name: string): boolean {
  return registry.unregister(name);
}

/** Names of the registered units, in registration order. */
export function listUnits(): string[] {
  return registry.list();
}

/** Looks a unit up by name (or passes a unit through); an unknown name lists the known ones. */
export function resolveUnit(nameOrFn: string | ResidualUnit): ResidualUnit {
  return registry.resolve(nameOrFn);
}

/** Binds a unit (registered name or function) to its arguments: the result maps x to the unit's output. */
export function createUnit(
  nameOrFn: string | ResidualUnit,
  args: UnitArgs,
): (x: SymbolicTensor) => SymbolicTensor {
  const unit = resolveUnit(nameOrFn);
  checkOrder(args.order);
  return (x) => unit(x, args);
}

registerUnit('basic', basicUnit);
registerUnit('bottleneck', bottleneckUnit);
registerUnit('one-layer', oneLayerUnit);
