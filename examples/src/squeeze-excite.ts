// A user-defined Residual Unit: the basic unit with a squeeze-and-excitation step (Hu et al., 2018) on F(x)
// before the shortcut adds x. Not one of the paper's units; it shows how to extend the unit registry, and the
// units' and models' tests import it from here and train it. Every order of Fig. 4 works: convUnit supplies them.
import { convUnit, registerUnit } from '@resnet/units';
import * as tfl from '@tensorflow/tfjs-layers';

type SymbolicTensor = tfl.SymbolicTensor;

/** Channel reduction of the excitation's bottleneck. */
const reduction = 4;

export const squeezeExciteUnit = convUnit({
  convs: [{ kernelSize: 3, strided: true }, { kernelSize: 3 }],
  expansion: 1,
  transformResidual(residual, { name, channels, layers }) {
    const dense = (suffix: string, units: number, inFeatures: number, activation: 'relu' | 'sigmoid') =>
      layers.dense({ name: `${name}_se_${suffix}`, units, inFeatures, activation });
    const hidden = Math.max(1, Math.floor(channels / reduction));
    // squeeze: one number per channel
    let s = tfl.layers.globalAveragePooling2d({ name: `${name}_se_pool` }).apply(residual) as SymbolicTensor;
    // excitation: a per-channel weight in (0, 1)
    s = dense('reduce', hidden, channels, 'relu').apply(s) as SymbolicTensor;
    s = dense('expand', channels, hidden, 'sigmoid').apply(s) as SymbolicTensor;
    s = tfl.layers
      .reshape({ name: `${name}_se_reshape`, targetShape: [1, 1, channels] })
      .apply(s) as SymbolicTensor;
    return tfl.layers.multiply({ name: `${name}_se_scale` }).apply([residual, s]) as SymbolicTensor;
  },
});

/**
 * Registers the unit as 'squeeze-excite'. `replace: true` makes a second call (hot reload, a test run
 * again in the same process) replace the entry instead of failing on the taken name.
 */
export function registerSqueezeExcite(): void {
  registerUnit('squeeze-excite', squeezeExciteUnit, { replace: true });
}
