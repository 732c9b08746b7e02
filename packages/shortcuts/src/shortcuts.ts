// The shortcut connections h(x) of Fig. 2 and the two dimension-increasing shortcuts, kept in a registry.
// A shortcut combines x and F(x) and returns the unit's sum y, because several of the paper's variants act
// on F too (scaling F, exclusive gating): one function sees both paths and writes `y` in one place.
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerFactories } from './factories.js';
import { OneMinus, Scale, ZeroPadChannels } from './layers.js';
import { createRegistry, type RegisterOptions } from './registry.js';

type SymbolicTensor = tfl.SymbolicTensor;
type Layer = InstanceType<typeof tfl.layers.Layer>;

/** What a unit tells its shortcut about where it sits. */
export interface ShortcutContext {
  /** The unit's name prefix (`stage2_unit3`): shortcut layers are `<name>_shortcut_…`, the sum `<name>_add`. */
  name: string;
  /** The unit's stride; above 1 only in units that increase dimensions. */
  stride: number;
  /** Channels of F(x), which the sum has too. */
  filters: number;
  /** The model's layer factories, so shortcut convolutions are initialised like the others. */
  layers: LayerFactories;
  /**
   * Whether a projection is followed by BN. Post-activation units use conv + BN (fb.resnet.torch's type B);
   * the pre-activation code projects the already normalised input with a bare conv.
   */
  normalizeProjection?: boolean;
}

/** Arguments a shortcut accepts; each built-in documents its own. */
export type ShortcutArgs = Record<string, unknown>;

/** A registered shortcut: combines the input `x` and the residual `F(x)` into the unit's sum. */
export type ShortcutFn<A extends ShortcutArgs = ShortcutArgs> = (
  x: SymbolicTensor,
  residual: SymbolicTensor,
  context: ShortcutContext,
  args: A,
) => SymbolicTensor;

/** A shortcut with its arguments bound, as units call it. */
export type Shortcut = (
  x: SymbolicTensor,
  residual: SymbolicTensor,
  context: ShortcutContext,
) => SymbolicTensor;

function apply(layer: Layer, inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(inputs) as SymbolicTensor;
}

function add(context: ShortcutContext, inputs: SymbolicTensor[]): SymbolicTensor {
  return apply(tfl.layers.add({ name: `${context.name}_add` }), inputs);
}

function describe(shape: (number | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

/** Fails unless x and F(x) have the same shape: the shortcuts of Fig. 2 cannot change dimensions. */
export function requireSameShape(
  shortcut: string,
  x: SymbolicTensor,
  residual: SymbolicTensor,
  context: ShortcutContext,
): void {
  const same =
    x.shape.length === residual.shape.length && x.shape.every((d, i) => i === 0 || d === residual.shape[i]);
  if (context.stride !== 1 || !same) {
    throw new Error(
      `${context.name}: the '${shortcut}' shortcut cannot change dimensions (input ${describe(x.shape)}, ` +
        `residual ${describe(residual.shape)}, stride ${context.stride}); dimension-increasing units take a ` +
        `'projection' or 'zero-pad' shortcut (the models' dimensionIncrease option)`,
    );
  }
}

function checkArgs(shortcut: string, args: ShortcutArgs, allowed: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      const known = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw new Error(`shortcut '${shortcut}': unknown argument '${key}' (accepted: ${known})`);
    }
  }
}

function numberArg(shortcut: string, args: ShortcutArgs, key: string, fallback: number): number {
  const value = args[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`shortcut '${shortcut}': ${key} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/** Fig. 2(a): y = x + F(x). */
export const identityShortcut: ShortcutFn = (x, residual, context, args) => {
  checkArgs('identity', args, []);
  requireSameShape('identity', x, residual, context);
  return add(context, [x, residual]);
};

/** Arguments of the `scale` shortcut. */
export interface ScaleShortcutArgs extends ShortcutArgs {
  /** λ on the shortcut (Table 1: 0 or 0.5). */
  shortcutScale?: number;
  /** Scale on F (Table 1: 1 or 0.5); default 1. */
  residualScale?: number;
}

/** Fig. 2(b), constant scaling: y = λ·x + μ·F(x). */
export const scaleShortcut: ShortcutFn<ScaleShortcutArgs> = (x, residual, context, args) => {
  checkArgs('scale', args, ['shortcutScale', 'residualScale']);
  requireSameShape('scale', x, residual, context);
  const lambda = numberArg('scale', args, 'shortcutScale', 1);
  const mu = numberArg('scale', args, 'residualScale', 1);
  const h = apply(new Scale({ name: `${context.name}_shortcut_scale`, scale: lambda }), x);
  const f =
    mu === 1 ? residual : apply(new Scale({ name: `${context.name}_residual_scale`, scale: mu }), residual);
  return add(context, [h, f]);
};

/** Arguments of the gating shortcuts. */
export interface GateShortcutArgs extends ShortcutArgs {
  /** b_g, the initial bias of the gate's 1×1 convolution (Table 1: 0, −6, −7); default 0. */
  biasInit?: number;
}

/** g(x) = σ(W_g x + b_g), a 1×1 convolution and a sigmoid, element-wise over x's channels. */
function gate(x: SymbolicTensor, context: ShortcutContext, biasInit: number): SymbolicTensor {
  const channels = x.shape[3]!;
  const conv = context.layers.conv({
    name: `${context.name}_shortcut_gate`,
    filters: channels,
    kernelSize: 1,
    inChannels: channels,
    useBias: true,
    biasInit,
    activation: 'sigmoid',
  });
  return apply(conv, x);
}

/** Fig. 2(c), exclusive gating: y = (1 − g(x))·x + g(x)·F(x). */
export const exclusiveGateShortcut: ShortcutFn<GateShortcutArgs> = (x, residual, context, args) => {
  checkArgs('exclusive-gate', args, ['biasInit']);
  requireSameShape('exclusive-gate', x, residual, context);
  const g = gate(x, context, numberArg('exclusive-gate', args, 'biasInit', 0));
  const complement = apply(new OneMinus({ name: `${context.name}_shortcut_gate_complement` }), g);
  // shortcut branch
  const h = apply(tfl.layers.multiply({ name: `${context.name}_shortcut_gated` }), [complement, x]);
  // residual branch
  const f = apply(tfl.layers.multiply({ name: `${context.name}_residual_gated` }), [g, residual]);
  return add(context, [h, f]);
};

/** Fig. 2(d), shortcut-only gating: y = (1 − g(x))·x + F(x). */
export const shortcutGateShortcut: ShortcutFn<GateShortcutArgs> = (x, residual, context, args) => {
  checkArgs('shortcut-gate', args, ['biasInit']);
  requireSameShape('shortcut-gate', x, residual, context);
  const g = gate(x, context, numberArg('shortcut-gate', args, 'biasInit', 0));
  const complement = apply(new OneMinus({ name: `${context.name}_shortcut_gate_complement` }), g);
  const h = apply(tfl.layers.multiply({ name: `${context.name}_shortcut_gated` }), [complement, x]);
  return add(context, [h, residual]);
};

function conv1x1(x: SymbolicTensor, context: ShortcutContext, normalize: boolean): SymbolicTensor {
  const conv = context.layers.conv({
    name: `${context.name}_shortcut_conv`,
    filters: context.filters,
    kernelSize: 1,
    strides: context.stride,
    inChannels: x.shape[3]!,
  });
  const projected = apply(conv, x);
  return normalize ? apply(context.layers.batchNorm(`${context.name}_shortcut_bn`), projected) : projected;
}

/** Fig. 2(e): y = W_s x + F(x) with a 1×1 convolution W_s (no BN: the figure has none). */
export const conv1x1Shortcut: ShortcutFn = (x, residual, context, args) => {
  checkArgs('conv1x1', args, []);
  return add(context, [conv1x1(x, context, false), residual]);
};

/** Arguments of the `dropout` shortcut. */
export interface DropoutShortcutArgs extends ShortcutArgs {
  /** Probability of dropping an element of x; default 0.5 as in Table 1. */
  rate?: number;
}

/**
 * Fig. 2(f): y = dropout(x) + F(x), active in training only. tfjs's dropout scales kept elements by
 * 1/(1 − rate) while training (as Torch's nn.Dropout does), so inference sees x unscaled. No seed: a seeded
 * tfjs dropout draws the same mask at every step.
 */
export const dropoutShortcut: ShortcutFn<DropoutShortcutArgs> = (x, residual, context, args) => {
  checkArgs('dropout', args, ['rate']);
  requireSameShape('dropout', x, residual, context);
  const rate = numberArg('dropout', args, 'rate', 0.5);
  if (rate < 0 || rate >= 1) throw new Error(`shortcut 'dropout': rate must be in [0, 1), got ${rate}`);
  const h = apply(tfl.layers.dropout({ name: `${context.name}_shortcut_dropout`, rate }), x);
  return add(context, [h, residual]);
};

/**
 * Dimension increase by a 1×1 projection with the unit's stride (the pre-activation paper's and code's
 * choice); BN after it when `context.normalizeProjection` is set.
 */
export const projectionShortcut: ShortcutFn = (x, residual, context, args) => {
  checkArgs('projection', args, []);
  return add(context, [conv1x1(x, context, context.normalizeProjection ?? false), residual]);
};

/** Dimension increase by option A of [1]: subsample by the stride, zero-pad the new channels; no weights. */
export const zeroPadShortcut: ShortcutFn = (x, residual, context, args) => {
  checkArgs('zero-pad', args, []);
  const channels = x.shape[3]!;
  if (channels > context.filters) {
    throw new Error(
      `${context.name}: the 'zero-pad' shortcut cannot reduce ${channels} channels to ${context.filters}; ` +
        "use 'projection' instead",
    );
  }
  const h = apply(
    new ZeroPadChannels({
      name: `${context.name}_shortcut_pad`,
      channels: context.filters,
      stride: context.stride,
    }),
    x,
  );
  return add(context, [h, residual]);
};

function checkShortcut(fn: unknown, where: string): asserts fn is ShortcutFn {
  if (typeof fn !== 'function') {
    throw new Error(
      `${where}: expected a shortcut function (x, residual, context, args) => y, got ${typeof fn}`,
    );
  }
}

const registry = createRegistry<ShortcutFn>('shortcut', checkShortcut);

/**
 * Registers a shortcut under a name, so models and presets can refer to it as data. A taken name fails
 * unless `{ replace: true }`.
 */
export function registerShortcut<A extends ShortcutArgs>(
  name: string,
  fn: ShortcutFn<A>,
  options?: RegisterOptions,
): void {
  registry.register(name, fn as unknown as ShortcutFn, options);
}

/** Removes a registered shortcut; returns whether there was one. */
export function unregisterShortcut(name: string): boolean {
  return registry.unregister(name);
}

/** Names of the registered shortcuts, in registration order. */
export function listShortcuts(): string[] {
  return registry.list();
}

/** Looks a shortcut up by name (or passes a function through); an unknown name lists the known ones. */
export function resolveShortcut(nameOrFn: string | ShortcutFn): ShortcutFn {
  return registry.resolve(nameOrFn);
}

/** Binds a shortcut (registered name or function) to its arguments. */
export function createShortcut(nameOrFn: string | ShortcutFn, args: ShortcutArgs = {}): Shortcut {
  const fn = resolveShortcut(nameOrFn);
  return (x, residual, context) => fn(x, residual, context, args);
}

/** Shortcuts that keep dimensions, i.e. Table 1's variants: every unit but the dimension-increasing ones. */
registerShortcut('identity', identityShortcut);
registerShortcut('scale', scaleShortcut);
registerShortcut('exclusive-gate', exclusiveGateShortcut);
registerShortcut('shortcut-gate', shortcutGateShortcut);
registerShortcut('conv1x1', conv1x1Shortcut);
registerShortcut('dropout', dropoutShortcut);
/** Shortcuts that can increase dimensions. */
registerShortcut('projection', projectionShortcut);
registerShortcut('zero-pad', zeroPadShortcut);

/** The registered names usable for a unit that increases dimensions. */
export const dimensionIncreaseShortcuts = ['projection', 'zero-pad'] as const;
export type DimensionIncrease = (typeof dimensionIncreaseShortcuts)[number];
