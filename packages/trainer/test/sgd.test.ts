// The optimiser against a hand computation: one dense layer, softmax cross-entropy, two steps, computed here
// in float64 from the update equations of the README.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Batch, type SgdOptions, train } from '../src/index.js';
import { setupBackend } from './helpers.js';

beforeAll(setupBackend);

const W0 = [
  [0.2, -0.1],
  [0.05, 0.3],
  [-0.4, 0.1],
];
const B0 = [0.01, -0.02];
const BATCHES = [
  {
    xs: [
      [1, 2, -1],
      [0.5, -1, 2],
    ],
    labels: [0, 1],
  },
  {
    xs: [
      [-1, 0.5, 0.3],
      [2, 1, 0],
    ],
    labels: [1, 1],
  },
];
const LRS = [0.1, 0.05];

function denseModel(name: string): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 2, inputShape: [3], name: `${name}_fc` })],
  });
  model.setWeights([tf.tensor2d(W0), tf.tensor1d(B0)]);
  return model;
}

interface HandOptions {
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  decayBias: boolean;
}

/** The README's equations, in float64. */
function byHand(o: HandOptions): { w: number[][]; b: number[] } {
  const w = W0.map((r) => [...r]);
  const b = [...B0];
  const vw = w.map((r) => r.map(() => 0));
  const vb = b.map(() => 0);
  BATCHES.forEach(({ xs, labels }, step) => {
    const n = xs.length;
    const gw = w.map((r) => r.map(() => 0));
    const gb = b.map(() => 0);
    xs.forEach((x, k) => {
      const z = [0, 1].map((j) => b[j]! + x.reduce((s, xi, i) => s + xi * w[i]![j]!, 0));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e[0]! + e[1]!;
      const dz = e.map((v, j) => (v / sum - (labels[k] === j ? 1 : 0)) / n);
      x.forEach((xi, i) => {
        for (let j = 0; j < 2; j++) gw[i]![j]! += xi * dz[j]!;
      });
      for (let j = 0; j < 2; j++) gb[j]! += dz[j]!;
    });
    const lr = LRS[step]!;
    const update = (value: number, grad: number, velocity: number, decay: boolean) => {
      const g = grad + (decay ? o.weightDecay * value : 0);
      const v = o.momentum * velocity + g;
      const d = o.nesterov ? g + o.momentum * v : v;
      return { value: value - lr * d, velocity: v };
    };
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        const r = update(w[i]![j]!, gw[i]![j]!, vw[i]![j]!, true);
        w[i]![j] = r.value;
        vw[i]![j] = r.velocity;
      }
    }
    for (let j = 0; j < 2; j++) {
      const r = update(b[j]!, gb[j]!, vb[j]!, o.decayBias);
      b[j] = r.value;
      vb[j] = r.velocity;
    }
  });
  return { w, b };
}

async function byTrainer(name: string, optimizer: SgdOptions): Promise<{ w: number[][]; b: number[] }> {
  const model = denseModel(name);
  let i = 0;
  const data = {
    next(): Batch {
      const { xs, labels } = BATCHES[i++]!;
      return { xs: tf.tensor2d(xs), ys: tf.tensor1d(labels, 'int32') };
    },
  };
  await train({ model, data, iterations: 2, schedule: (it) => LRS[it]!, optimizer, progress: 'none' });
  const [w, b] = model.getWeights();
  return { w: (await w!.array()) as number[][], b: (await b!.array()) as number[] };
}

function expectClose(actual: { w: number[][]; b: number[] }, expected: { w: number[][]; b: number[] }): void {
  const got = [...actual.w.flat(), ...actual.b];
  const want = [...expected.w.flat(), ...expected.b];
  for (const [k, v] of got.entries()) expect(v).toBeCloseTo(want[k]!, 6);
}

describe('SGD with momentum and weight decay, two steps of one dense layer', () => {
  test('momentum 0.9, weight decay on every weight (the default selection)', async () => {
    const expected = byHand({ momentum: 0.9, weightDecay: 0.05, nesterov: false, decayBias: true });
    expectClose(await byTrainer('plain', { momentum: 0.9, weightDecay: 0.05 }), expected);
    // The hand computation is not trivially satisfied: without decay the weights differ.
    const noDecay = byHand({ momentum: 0.9, weightDecay: 0, nesterov: false, decayBias: false });
    expect(Math.abs(noDecay.w[0]![0]! - expected.w[0]![0]!)).toBeGreaterThan(1e-4);
  });

  test('Nesterov, weight decay on kernels only', async () => {
    const expected = byHand({ momentum: 0.9, weightDecay: 0.05, nesterov: true, decayBias: false });
    const actual = await byTrainer('nesterov', {
      momentum: 0.9,
      weightDecay: 0.05,
      nesterov: true,
      decay: (w) => w.originalName.endsWith('kernel'),
    });
    expectClose(actual, expected);
  });

  test('noDecay leaves the named weights out of weight decay (name patterns)', async () => {
    const expected = byHand({ momentum: 0.9, weightDecay: 0.05, nesterov: false, decayBias: false });
    const actual = await byTrainer('nodecay', { momentum: 0.9, weightDecay: 0.05, noDecay: ['/bias$'] });
    expectClose(actual, expected);
    const model = denseModel('badpattern');
    const data = { next: () => ({ xs: tf.zeros([1, 3]), ys: tf.tensor1d([0], 'int32') }) };
    await expect(
      train({ model, data, iterations: 1, optimizer: { noDecay: ['(unclosed'] }, progress: 'none' }),
    ).rejects.toThrow(/optimizer.noDecay: '\(unclosed' is not a regular expression/);
  });

  test('momentum 0 is plain SGD', async () => {
    const expected = byHand({ momentum: 0, weightDecay: 0, nesterov: false, decayBias: false });
    expectClose(await byTrainer('sgd', { momentum: 0, weightDecay: 0 }), expected);
  });

  test('bad hyper-parameters are refused', async () => {
    const model = denseModel('bad');
    const data = { next: () => ({ xs: tf.zeros([1, 3]), ys: tf.tensor1d([0], 'int32') }) };
    await expect(train({ model, data, iterations: 1, optimizer: { momentum: -1 } })).rejects.toThrow(
      /optimizer.momentum must be/,
    );
    await expect(
      train({ model, data, iterations: 1, optimizer: { momentum: 0, nesterov: true } }),
    ).rejects.toThrow(/nesterov needs a momentum/);
  });
});
