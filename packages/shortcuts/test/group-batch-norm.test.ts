// Tests of BN over groups of the batch: in training, exactly tfjs's standard BatchNormalization applied to
// each group separately (outputs, gradients, moving statistics); in inference, plain BN; saves and loads as a
// LayersModel; leaks nothing.
import { roundTrip, setUpBackend } from '@resnet/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLayerFactories, GroupBatchNormalization } from '../src/index.js';

beforeAll(setUpBackend);

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(x.length).toBe(y.length);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  return max;
}

/** Non-trivial γ, β so the check sees them applied per channel. */
function setAffine(layer: { setWeights(w: tf.Tensor[]): void; getWeights(): tf.Tensor[] }, c: number) {
  const [, , mean, variance] = layer.getWeights();
  layer.setWeights([tf.linspace(0.5, 1.5, c), tf.linspace(-0.2, 0.3, c), mean!.clone(), variance!.clone()]);
}

describe('GroupBatchNormalization', () => {
  const [batch, h, w, c] = [8, 3, 3, 4];
  // Two halves with different statistics, so per-half and whole-batch BN differ visibly.
  const makeInput = () =>
    tf.tidy(() =>
      tf.concat(
        [
          tf.randomNormal([batch / 2, h, w, c], 1, 2, 'float32', 1),
          tf.randomNormal([batch / 2, h, w, c], -3, 0.5, 'float32', 2),
        ],
        0,
      ),
    );

  it('in training equals standard BN applied to each half, moving statistics included', () => {
    const x = makeInput();
    const grouped = new GroupBatchNormalization({ name: 'g', groups: 2, momentum: 0.9, epsilon: 1e-5 });
    const halves = [0, 1].map((i) =>
      tfl.layers.batchNormalization({ name: `half${i}`, axis: -1, momentum: 0.9, epsilon: 1e-5 }),
    );
    grouped.build(x.shape);
    setAffine(grouped, c);
    for (const half of halves) {
      half.build(x.shape);
      setAffine(half, c);
    }
    const parts = tf.split(x, 2, 0);
    const before = tf.memory().numTensors;
    const y = grouped.apply(x, { training: true }) as tf.Tensor;
    expect(tf.memory().numTensors).toBe(before + 1);
    const expected = tf.concat(
      halves.map((half, i) => half.apply(parts[i]!, { training: true }) as tf.Tensor),
      0,
    );
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-5);
    // …and differs from BN over the whole batch, so the test can tell them apart.
    const whole = tfl.layers.batchNormalization({ name: 'whole', axis: -1, momentum: 0.9, epsilon: 1e-5 });
    whole.build(x.shape);
    setAffine(whole, c);
    const y1 = whole.apply(x, { training: true }) as tf.Tensor;
    expect(maxAbsDiff(y, y1)).toBeGreaterThan(0.1);

    // Moving statistics: the mean of the halves' (the update is linear in the batch statistic).
    const [, , gMean, gVar] = grouped.getWeights();
    const meanOfHalves = (k: number) =>
      tf.div(tf.add(halves[0]!.getWeights()[k]!, halves[1]!.getWeights()[k]!), 2);
    expect(maxAbsDiff(gMean!, meanOfHalves(2))).toBeLessThan(1e-6);
    expect(maxAbsDiff(gVar!, meanOfHalves(3))).toBeLessThan(1e-6);
    // Equal groups have the whole batch's mean, but not its variance (which adds the spread between them).
    expect(maxAbsDiff(gVar!, whole.getWeights()[3]!)).toBeGreaterThan(0.01);
    tf.dispose([x, y, expected, y1, ...parts]);
  });

  it('has the gradients of BN applied to each half (input, γ and β)', () => {
    const x = makeInput();
    const grouped = new GroupBatchNormalization({ name: 'gg', groups: 2 });
    const half = tfl.layers.batchNormalization({ name: 'hh', axis: -1, momentum: 0.9, epsilon: 1e-5 });
    grouped.build(x.shape);
    half.build(x.shape);
    const upstream = tf.randomNormal(x.shape, 0, 1, 'float32', 9);
    const loss = (layer: { apply: (t: tf.Tensor, k: object) => unknown }, input: tf.Tensor, up: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, up)) as tf.Scalar;
    const gradsOf = (layer: tfl.layers.Layer, input: tf.Tensor, up: tf.Tensor) => {
      const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const dx = tf.grad((t: tf.Tensor) => loss(layer, t, up))(input);
      const { grads } = tf.variableGrads(() => loss(layer, input, up), vars);
      return [dx, ...vars.map((v) => grads[v.name]!)];
    };
    const [gdx, gGamma, gBeta] = gradsOf(grouped, x, upstream);
    const xs = tf.split(x, 2, 0);
    const ups = tf.split(upstream, 2, 0);
    const per = [0, 1].map((i) => gradsOf(half, xs[i]!, ups[i]!));
    expect(maxAbsDiff(gdx!, tf.concat([per[0]![0]!, per[1]![0]!], 0))).toBeLessThan(1e-4);
    expect(maxAbsDiff(gGamma!, tf.add(per[0]![1]!, per[1]![1]!))).toBeLessThan(1e-4);
    expect(maxAbsDiff(gBeta!, tf.add(per[0]![2]!, per[1]![2]!))).toBeLessThan(1e-4);
  });

  it('in inference is plain BN with the moving statistics, and saves and loads', async () => {
    const layers = createLayerFactories({ seed: 3, batchNormGroups: 2 });
    const input = tfl.input({ shape: [h, w, c] });
    const bn = layers.batchNorm('stage1_unit1_bn1');
    expect(bn).toBeInstanceOf(GroupBatchNormalization);
    const model = tfl.model({ inputs: input, outputs: bn.apply(input) as tfl.SymbolicTensor });
    const x = makeInput();
    // Train the moving statistics a little so inference is not the identity.
    for (let i = 0; i < 3; i++) tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
    const [gamma, beta, mean, variance] = bn.getWeights();
    const y = model.predict(x) as tf.Tensor;
    const expected = tf.batchNorm(x, mean!, variance!, beta!, gamma!, 1e-5);
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-5);
    const loaded = await roundTrip(model);
    expect(loaded.getLayer('stage1_unit1_bn1').getClassName()).toBe(
      '@resnet/shortcuts>GroupBatchNormalization',
    );
    expect((loaded.getLayer('stage1_unit1_bn1') as GroupBatchNormalization).groups).toBe(2);
    const y2 = loaded.predict(x) as tf.Tensor;
    expect(maxAbsDiff(y, y2)).toBe(0);
    // Weight names are BN's, so checkpoints of one- and two-group models line up.
    expect(bn.weights.map((v) => v.originalName)).toEqual([
      'stage1_unit1_bn1/gamma',
      'stage1_unit1_bn1/beta',
      'stage1_unit1_bn1/moving_mean',
      'stage1_unit1_bn1/moving_variance',
    ]);
    // One group is tfjs's own layer.
    expect(createLayerFactories({ batchNormGroups: 1 }).batchNorm('b').getClassName()).toBe(
      'BatchNormalization',
    );
    tf.dispose([x, y, expected, y2]);
    model.dispose();
    loaded.dispose();
  });

  it('leaks nothing over repeated training calls', () => {
    const x = makeInput();
    const layer = new GroupBatchNormalization({ name: 'leak', groups: 4 });
    tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('refuses a batch the groups do not divide, and nonsense options', () => {
    const layer = new GroupBatchNormalization({ name: 'odd', groups: 3 });
    const x = tf.zeros([8, 2, 2, 2]);
    expect(() => layer.apply(x, { training: true })).toThrow(
      /odd: a training batch of 8 cannot be split into 3 equal BN groups; use a batch size that is a multiple of 3/,
    );
    // Inference does not care about the batch.
    tf.dispose(layer.apply(x) as tf.Tensor);
    x.dispose();
    expect(() => new GroupBatchNormalization({ groups: 0 })).toThrow(/groups must be a positive integer/);
    expect(() => createLayerFactories({ batchNormGroups: 1.5 })).toThrow(
      /batchNormGroups must be a positive integer, got 1.5/,
    );
  });
});
