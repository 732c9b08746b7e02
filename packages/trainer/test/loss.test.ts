// Cross-entropy from logits: the loss and its gradient equal a float64 log-softmax reference for logits up
// to ±100, and a model ending in a softmax layer is trained and evaluated on that layer's input.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, test } from 'vitest';
import { crossEntropyFromLogits, evaluate, resolveHead } from '../src/index.js';
import { setupBackend, tinyConvNet } from './helpers.js';

beforeAll(setupBackend);

/** Mean of logsumexp(z) − z_y over the batch, and its gradient (softmax(z) − onehot(y)) / B, in float64. */
function reference(logits: Float32Array, labels: Int32Array, classes: number) {
  const batch = labels.length;
  let loss = 0;
  const grad = new Float64Array(logits.length);
  for (let b = 0; b < batch; b++) {
    const row = Float64Array.from(logits.subarray(b * classes, (b + 1) * classes));
    const max = Math.max(...row);
    let sum = 0;
    for (const z of row) sum += Math.exp(z - max);
    const lse = max + Math.log(sum);
    loss += (lse - row[labels[b]!]!) / batch;
    for (let c = 0; c < classes; c++) {
      grad[b * classes + c] = (Math.exp(row[c]! - lse) - (c === labels[b] ? 1 : 0)) / batch;
    }
  }
  return { loss, grad };
}

describe('crossEntropyFromLogits', () => {
  test('loss and gradient equal a float64 log-softmax reference for logits up to ±100', () => {
    const batch = 16;
    const classes = 10;
    const values = new Float32Array(batch * classes);
    // Rows from gentle to extreme: scale 0.1 … 100, with confident right and confident wrong answers.
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647) * 2 - 1;
    };
    for (let b = 0; b < batch; b++) {
      const scale = 10 ** (-1 + (3 * b) / (batch - 1));
      for (let c = 0; c < classes; c++)
        values[b * classes + c] = Math.max(-100, Math.min(100, scale * random()));
    }
    values[3 * classes + 2] = 100; // row 3: confident in class 2 …
    values[3 * classes + 7] = -100; // … and its label is 7, at −100: loss 200
    values[5 * classes + 4] = 100; // row 5: confident and right
    const labels = Int32Array.from({ length: batch }, (_, b) => (b === 3 ? 7 : b === 5 ? 4 : b % classes));
    const ref = reference(values, labels, classes);
    const before = tf.memory().numTensors;
    const [loss, grad] = tf.tidy(() => {
      const z = tf.tensor2d(values, [batch, classes]);
      const ys = tf.tensor1d(labels, 'int32');
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => crossEntropyFromLogits(x, ys))([z]);
      return [value.dataSync()[0]!, grads[0]!.dataSync() as Float32Array];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(loss)).toBe(true);
    expect(ref.loss).toBeGreaterThan(200 / batch);
    expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-6);
    let worst = 0;
    for (let i = 0; i < grad.length; i++) worst = Math.max(worst, Math.abs(grad[i]! - ref.grad[i]!));
    expect(worst).toBeLessThan(1e-7);
    // The confidently wrong row keeps its full gradient (−1/B on its label), which clipping would have cut.
    expect(grad[3 * classes + 7]).toBeCloseTo(-1 / batch, 7);
  });
});

describe('a model ending in a softmax layer', () => {
  function withSoftmax(name: string): tfl.LayersModel {
    const base = tinyConvNet({ name });
    const probabilities = tfl.layers.softmax({ name: `${name}_softmax` }).apply(base.outputs[0]!);
    return tfl.model({ inputs: base.inputs, outputs: probabilities as tfl.SymbolicTensor });
  }

  test('is evaluated on the logits: a confident mistake costs its full log-softmax, not log(1e-7)', async () => {
    const model = withSoftmax('head');
    expect(resolveHead(model).kind).toBe('logits');
    expect(resolveHead(model).source).toBe("input of 'head_softmax'");
    // Large dense weights: logits in the hundreds.
    const fc = model.getLayer('head_fc');
    const [kernel, bias] = fc.getWeights();
    fc.setWeights([tf.mul(kernel!, 300), bias!]);
    const xs = tf.randomNormal([8, 4, 4, 2], 0, 1, 'float32', 3);
    const logitsModel = tfl.model({ inputs: model.inputs, outputs: fc.output as tfl.SymbolicTensor });
    const logits = logitsModel.predict(xs) as tf.Tensor;
    const logitValues = logits.dataSync() as Float32Array;
    // The label each sample is least confident in: a confident mistake everywhere.
    const labels = Int32Array.from({ length: 8 }, (_, b) => {
      const row = Array.from(logitValues.subarray(b * 3, b * 3 + 3));
      return row.indexOf(Math.min(...row));
    });
    const ref = reference(logitValues, labels, 3);
    expect(ref.loss).toBeGreaterThan(17);
    // predict still gives probabilities.
    const probabilities = model.predict(xs) as tf.Tensor;
    expect(
      tf
        .sum(probabilities, 1)
        .dataSync()
        .every((s) => Math.abs(s - 1) < 1e-5),
    ).toBe(true);
    const result = await evaluate(model, [{ xs: xs.clone(), ys: tf.tensor1d(labels, 'int32') }]);
    expect(Math.abs(result.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    expect(result.error).toBe(1);
    // 'probabilities' is the old, clipped form, for comparison: capped at −log(1e-7) ≈ 16.12.
    const clipped = await evaluate(
      model,
      [{ xs: xs.clone(), ys: tf.tensor1d(labels, 'int32') }],
      'probabilities',
    );
    expect(clipped.loss).toBeLessThanOrEqual(16.12);
    tf.dispose([xs, logits, probabilities]);
  });

  test('a Dense with activation softmax is trained on its affine part', () => {
    const model = tinyConvNet({ name: 'fused', softmax: true });
    const head = resolveHead(model);
    expect(head.kind).toBe('logits');
    const xs = tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 5);
    const [logits, probabilities] = tf.tidy(() => {
      const z = head.forward(xs, false);
      return [tf.softmax(z).dataSync(), (model.predict(xs) as tf.Tensor).dataSync()];
    });
    for (let i = 0; i < logits.length; i++) expect(logits[i]).toBeCloseTo(probabilities[i]!, 6);
    xs.dispose();
  });
});
