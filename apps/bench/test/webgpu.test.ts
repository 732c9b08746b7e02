// The networks of @resnet/models train on the webgpu backend as on cpu: one whole training step of each unit
// order of Fig. 4 (a–e) gives the same loss and gradients, and `perf --backend webgpu --profile` measures and
// profiles a network there. Needs a WebGPU adapter (Mesa's lavapipe in CI, where a missing one fails the
// suite); elsewhere one line says why it is skipped.
import { disposeWebgpu, initBackend, probeWebgpu } from '@resnet/backend';
import { resnet } from '@resnet/models';
import { MomentumSgd, readStep, trainStep } from '@resnet/trainer';
import { unitOrders } from '@resnet/units';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPerf } from '../src/perf/run.js';

const probe = await probeWebgpu();
const inCi = process.env['CI'] === 'true';
if (!probe.ok && !inCi) console.log(`webgpu suite skipped (no WebGPU adapter here): ${probe.reason}`);

it.runIf(!probe.ok && inCi)('has a WebGPU adapter (CI installs Mesa >= 25 lavapipe: see .ci/run)', () => {
  throw new Error(`no WebGPU adapter in CI: ${probe.ok ? '' : probe.reason}`);
});

/** max |a − b| / max |b|, b the cpu reference, with `floor` as the least divisor. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-30): number {
  let difference = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}

beforeAll(async () => {
  if (!probe.ok) return;
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'webgpu' });
});

afterAll(async () => {
  await disposeWebgpu();
});

const batch = 2;
const classes = 4;

describe.runIf(probe.ok)('webgpu: each unit order of Fig. 4', () => {
  for (const order of unitOrders) {
    it(`${order}: one training step gives the loss and gradients of cpu`, async () => {
      await tf.setBackend('cpu');
      // Depth 8 at width 4-8: every unit kind of the order (first unit, projection units at stages 2 and 3).
      const model = resnet({
        depth: 8,
        classes,
        order,
        inputShape: [8, 8, 3],
        widths: [4, 8, 8],
        stemFilters: 4,
        seed: 7,
      });
      const images = tf.randomUniform([batch, 8, 8, 3], -1, 1, 'float32', 3);
      // A fixed linear function of the output: the whole backward pass runs whatever the head ends with.
      const coefficients = tf.randomUniform([batch, classes], -1, 1, 'float32', 4);
      const step = async (backend: 'cpu' | 'webgpu') => {
        await tf.setBackend(backend);
        const { value, grads } = tf.variableGrads(() =>
          tf.sum(tf.mul(model.apply(images, { training: true }) as tf.Tensor, coefficients)),
        );
        const values = new Map<string, Float32Array>();
        for (const [name, grad] of Object.entries(grads))
          values.set(name, (await grad.data()) as Float32Array);
        const loss = (await value.data())[0]!;
        tf.dispose([value, ...Object.values(grads)]);
        return { loss, grads: values };
      };
      const expected = await step('cpu');
      const before = tf.memory().numTensors;
      const actual = await step('webgpu');
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.abs(actual.loss - expected.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected.loss)));
      expect(expected.grads.size).toBe(model.trainableWeights.length);
      // A gradient that is zero in exact arithmetic is float noise on both sides (in (b), the β of the BN on the
      // projection shortcut feeds the BN after the addition, which removes any constant shift: its gradient is
      // ~1e-10): errors are taken relative to at least 1e-3 of the largest gradient of the network.
      const largest = Math.max(...[...expected.grads.values()].map((g) => Math.max(...g.map(Math.abs))));
      const floor = 1e-3 * largest;
      for (const [name, grad] of expected.grads) {
        expect(relativeError(actual.grads.get(name)!, grad, floor), name).toBeLessThan(1e-4);
      }
      tf.dispose([images, coefficients]);
      model.dispose();
    });
  }
});

describe.runIf(probe.ok)("webgpu: @resnet/trainer's step", () => {
  // The step's weight check adds one term per weight (a ResNet has hundreds): WebGPU binds every input of an
  // AddN to one shader, and the device's limit of storage buffers per stage (8 on lavapipe) once made this step
  // an invalid pipeline whose loss read 0.
  it('gives the loss, error and weight check of cpu, and flags a non-finite weight', async () => {
    const build = () =>
      resnet({ depth: 8, classes, inputShape: [8, 8, 3], widths: [4, 8, 8], stemFilters: 4, seed: 11 });
    const step = async (backend: 'cpu' | 'webgpu', poison = false) => {
      await tf.setBackend(backend);
      const model = build();
      expect(model.weights.length).toBeGreaterThan(8);
      if (poison) {
        const weight = model.getLayer('fc').getWeights()[0]!;
        model
          .getLayer('fc')
          .setWeights([tf.fill(weight.shape, Number.NaN), model.getLayer('fc').getWeights()[1]!]);
      }
      const optimizer = new MomentumSgd(model.trainableWeights);
      const xs = tf.randomUniform([batch, 8, 8, 3], -1, 1, 'float32', 5);
      const ys = tf.tensor1d([0, 3], 'int32');
      const values = await readStep(trainStep({ model, optimizer, batch: { xs, ys }, lr: 0.1 }));
      tf.dispose([xs, ys]);
      optimizer.dispose();
      model.dispose();
      return values;
    };
    const expected = await step('cpu');
    const actual = await step('webgpu');
    expect(expected.weightsFinite).toBe(true);
    expect(actual.weightsFinite).toBe(true);
    expect(actual.loss).toBeGreaterThan(0);
    expect(Math.abs(actual.loss - expected.loss)).toBeLessThan(1e-5 * Math.max(1, expected.loss));
    expect(actual.wrong).toBe(expected.wrong);
    expect((await step('webgpu', true)).weightsFinite).toBe(false);
  });
});

describe.runIf(probe.ok)('webgpu: perf', () => {
  it('measures training and inference and profiles a step by kernel', async () => {
    const [row] = await runPerf({
      models: ['preact-resnet8'],
      batch: 2,
      backend: 'webgpu',
      steps: 1,
      warmup: 1,
      stock: false,
      vsPytorch: false,
      python: [],
      profile: true,
    });
    expect(row!.backend).toBe('webgpu');
    expect(row!.trainImagesPerSec).toBeGreaterThan(0);
    expect(row!.inferenceImagesPerSec).toBeGreaterThan(0);
    const kernels = row!.profile!.map((k) => k.kernel);
    for (const kernel of ['FusedConv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']) {
      expect(kernels).toContain(kernel);
    }
    expect(row!.profile!.every((k) => Number.isFinite(k.ms) && k.ms >= 0)).toBe(true);
  });
});
