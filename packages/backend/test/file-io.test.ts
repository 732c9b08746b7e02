// model.save('file://dir') and tf.loadLayersModel('file://dir/model.json') work in Node without tfjs-node
// (the backend's own file handler): a real round trip through a temporary directory, predictions equal,
// and clear errors for a missing model and a missing weights file.
import { mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { seededValues } from './helpers.js';

const folder = mkdtempSync(join(tmpdir(), 'resnet-file-io-'));

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function model(): tfl.LayersModel {
  const input = tfl.input({ shape: [6, 6, 3] });
  const conv = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same' })
    .apply(input) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization().apply(conv) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(bn);
  const out = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

it('saves to file://dir and loads file://dir/model.json with the same predictions', async () => {
  const original = model();
  const directory = join(folder, 'saved');
  const result = await original.save(`file://${directory}`);
  expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
  expect(readdirSync(directory).sort()).toEqual(['model.json', 'weights.bin']);
  const loaded = await tfl.loadLayersModel(`file://${join(directory, 'model.json')}`);
  const xs = tf.tensor4d(seededValues(2 * 6 * 6 * 3), [2, 6, 6, 3]);
  const [before, after] = [original, loaded].map((m) => (m.predict(xs) as tf.Tensor).dataSync());
  expect(Array.from(after!)).toEqual(Array.from(before!));
  const values = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  expect(values(loaded)).toEqual(values(original));
});

it('names the file when there is no model.json, or its weights file is gone', async () => {
  await expect(tfl.loadLayersModel(`file://${join(folder, 'nothing', 'model.json')}`)).rejects.toThrow(
    /cannot read .*nothing\/model\.json \(ENOENT\)/,
  );
  const directory = join(folder, 'no-weights');
  await model().save(`file://${directory}`);
  rmSync(join(directory, 'weights.bin'));
  await expect(tfl.loadLayersModel(`file://${join(directory, 'model.json')}`)).rejects.toThrow(
    /weights file .*weights\.bin, which cannot be read \(ENOENT\)/,
  );
});

it('names the weights file and the tensor that does not fit when the weights are cut short', async () => {
  const directory = join(folder, 'cut');
  await model().save(`file://${directory}`);
  // The conv kernel [3, 3, 3, 4] is first: 432 bytes, its bias 16; cut inside the kernel.
  truncateSync(join(directory, 'weights.bin'), 250);
  await expect(tfl.loadLayersModel(`file://${join(directory, 'model.json')}`)).rejects.toThrow(
    /weights file .*cut\/weights\.bin hold 250 bytes, but .*cut\/model\.json lists tensor '[^']*kernel' \(float32, shape \[3,3,3,4\]\) at bytes 0–432/,
  );
});
