// Model names of `perf`: a preset of @resnet/models, or `preact-resnet<depth>` / `resnet<depth>` for any 6n+2
// depth of the basic unit.
import { getPreset, resnet } from '@resnet/models';
import type * as tfl from '@tensorflow/tfjs-layers';

/** A model name to a @resnet/models config: a preset, or a named preset with another 6n+2 depth. */
export function modelConfig(name: string): { depth: number; build: () => tfl.LayersModel } {
  let config: ReturnType<typeof getPreset>['config'];
  try {
    config = getPreset(name).config;
  } catch (error) {
    const match = /^(preact-)?resnet(\d+)$/.exec(name);
    if (match === null) throw error;
    config = { ...getPreset(`${match[1] ?? ''}resnet110`).config, depth: Number(match[2]) };
  }
  const order = config.order ?? 'full-preact';
  if ((config.unit ?? 'basic') !== 'basic' || order !== 'full-preact') {
    // The PyTorch reference implements the basic full pre-activation unit only; ours would run, but the
    // ratio would compare different networks.
    console.warn(`perf: ${name} is not a basic pre-activation ResNet; --vs-pytorch compares it with one`);
  }
  const resolved = { ...config, seed: 1 };
  return { depth: config.depth, build: () => resnet(resolved) };
}
