// @resnet/shortcuts: the shortcut connections h(x) of Identity Mappings in Deep Residual Networks (Fig. 2),
// the dimension-increasing shortcuts, the custom layers they need, the layer factories units share and the
// registry helper units reuse.
export {
  applyConv,
  type ConvArgs,
  type ConvInit,
  createLayerFactories,
  type DenseArgs,
  heNormalFanOut,
  type LayerFactories,
  type LayerFactoriesArgs,
} from './factories.js';
export { GroupBatchNormalization, type GroupBatchNormalizationArgs } from './group-batch-norm.js';
export { OneMinus, Scale, type ScaleArgs, ZeroPadChannels, type ZeroPadChannelsArgs } from './layers.js';
export { createRegistry, type RegisterOptions, type Registry } from './registry.js';
export {
  conv1x1Shortcut,
  createShortcut,
  type DimensionIncrease,
  type DropoutShortcutArgs,
  dimensionIncreaseShortcuts,
  dropoutShortcut,
  exclusiveGateShortcut,
  type GateShortcutArgs,
  identityShortcut,
  listShortcuts,
  projectionShortcut,
  registerShortcut,
  requireSameShape,
  resolveShortcut,
  type ScaleShortcutArgs,
  type Shortcut,
  type ShortcutArgs,
  type ShortcutContext,
  type ShortcutFn,
  scaleShortcut,
  shortcutGateShortcut,
  unregisterShortcut,
  zeroPadShortcut,
} from './shortcuts.js';
