// Register a Residual Unit of your own and build a whole network from it by name: the squeeze-and-excitation
// unit of ./squeeze-excite.ts, trained for a few steps on a random batch; and any function made a unit with
// defineUnit.
// Run: node dist/custom-unit.js (after `npx tsc`).
import { initBackend } from '@resnet/backend';
import { resnet } from '@resnet/models';
import { createUnit, defineUnit, listUnits } from '@resnet/units';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { registerSqueezeExcite } from './squeeze-excite.js';

await initBackend();
registerSqueezeExcite();
console.log('registered units:', listUnits().join(', ')); // basic, bottleneck, one-layer, squeeze-excite

const model = resnet({ depth: 8, unit: 'squeeze-excite', order: 'full-preact', classes: 10, seed: 1 });
model.compile({ optimizer: tf.train.momentum(0.1, 0.9), loss: 'categoricalCrossentropy' });
const xs = tf.randomNormal([8, 32, 32, 3], 0, 1, 'float32', 2);
const ys = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10));
for (let step = 1; step <= 3; step++) {
  const loss = (await model.trainOnBatch(xs, ys)) as number;
  if (!Number.isFinite(loss)) throw new Error(`step ${step}: the loss is ${loss}`);
  console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}
tf.dispose([xs, ys]);
model.dispose();

// Any function of symbolic tensors: defineUnit fills in `stride` and `layers`, so a strict unit uses them as is.
// y = x + conv(x), for inputs that keep their shape.
const tiny = defineUnit(
  (x, args) => {
    const conv = args.layers.conv({
      name: `${args.name}_conv1`,
      filters: args.filters,
      kernelSize: 3,
      strides: args.stride,
      inChannels: x.shape[3]!,
    });
    const f = conv.apply(x) as tfl.SymbolicTensor;
    return tfl.layers.add({ name: `${args.name}_add` }).apply([x, f]) as tfl.SymbolicTensor;
  },
  { layersPerUnit: 1, expansion: 1 },
);
const input = tfl.input({ shape: [8, 8, 16] });
const output = createUnit(tiny, { name: 'tiny', filters: 16, order: 'full-preact' })(input);
console.log(`defineUnit: ${JSON.stringify(input.shape)} → ${JSON.stringify(output.shape)}`);
