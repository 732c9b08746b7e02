// Build one of the paper's networks from its preset, count its parameters, and predict on a batch.
// Run: node dist/build-preset.js [preset] (after `npx tsc`), e.g. preact-resnet164 or t2-full-preact-110.
import { initBackend } from '@resnet/backend';
import { countParameters, getPreset, listPresets, resnet } from '@resnet/models';
import * as tf from '@tensorflow/tfjs-core';

const name = process.argv[2] ?? 'preact-resnet164';
if (!listPresets().includes(name)) {
  console.error(`unknown preset '${name}'; presets: ${listPresets().join(', ')}`);
  process.exit(2);
}

const backend = await initBackend(); // 'auto': tensorflow if installed, else the embedded wasm backend
const preset = getPreset(name);
const model = resnet(preset.config);
console.log(`${preset.name}: ${preset.description}`);
console.log('parameters:', countParameters(model)); // preact-resnet164: { params: 1703258, … }

// The same network at a smaller depth, seeded: spread the preset's config and change what you need.
const small = resnet({ ...preset.config, depth: preset.config.unit === 'bottleneck' ? 11 : 8, seed: 1 });
const probabilities = tf.tidy(
  () => small.predict(tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1)) as tf.Tensor,
);
console.log(`${small.name} on ${backend.name}: output ${JSON.stringify(probabilities.shape)}`);
const rows = (await probabilities.array()) as number[][];
for (const row of rows) {
  const sum = row.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-4) throw new Error(`softmax outputs sum to ${sum}, not 1`);
}
tf.dispose(probabilities);
model.dispose();
small.dispose();
