// @resnet/models: whole CIFAR ResNets of Identity Mappings in Deep Residual Networks, the paper's presets and
// parameter counting.
export { getPreset, listPresets, type Preset, presets } from './presets.js';
export { countParameters, type ParameterCount, type ResNetConfig, resnet, unitsPerStage } from './resnet.js';
