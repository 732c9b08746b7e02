// One training step of a small pre-activation residual network, built here with tfjs-layers, gives the same
// loss and gradients on wasm (with @resnet/backend's kernels) as on the pure-JavaScript cpu backend, and
// leaks no tensors. The network has what the paper's CIFAR networks use: 3×3 convs without bias, BN, ReLU,
// identity shortcuts, a stride-2 stage with a 1×1 projection shortcut reading the shared pre-activation,
// a sigmoid-gated shortcut (Table 1), global average pooling, a dense layer and softmax cross-entropy.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { randomValues, relativeError } from './helpers.js';

type Node = tfl.SymbolicTensor;

function conv(x: Node, filters: number, kernelSize: number, strides: number, name: string): Node {
  return tfl.layers
    .conv2d({
      filters,
      kernelSize,
      strides,
      padding: 'same',
      useBias: false,
      kernelInitializer: 'heNormal',
      name,
    })
    .apply(x) as Node;
}

function bnRelu(x: Node, name: string): Node {
  const normalised = tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(x) as Node;
  return tfl.layers.activation({ activation: 'relu', name: `${name}_relu` }).apply(normalised) as Node;
}

/** Full pre-activation unit; with `strides` 2 or new width, a 1×1 projection reads the shared pre-activation. */
function unit(x: Node, filters: number, strides: number, name: string): Node {
  const preact = bnRelu(x, `${name}_preact`);
  const projected = strides !== 1 || x.shape[3] !== filters;
  // shortcut branch
  const shortcut = projected ? conv(preact, filters, 1, strides, `${name}_proj`) : x;
  // residual branch
  let residual = conv(preact, filters, 3, strides, `${name}_conv1`);
  residual = bnRelu(residual, `${name}_mid`);
  residual = conv(residual, filters, 3, 1, `${name}_conv2`);
  return tfl.layers.add({ name: `${name}_add` }).apply([shortcut, residual]) as Node;
}

/**
 * A unit with a sigmoid-gated shortcut, g(x)·x + F(x), g = σ(1×1 conv(x) + b): the kernels of Table 1's
 * gating variants (its 1 − g(x) differs from g(x) only by a subtraction, which needs no other kernel).
 */
function gatedUnit(x: Node, name: string): Node {
  const filters = x.shape[3] as number;
  const gate = tfl.layers
    .conv2d({
      filters,
      kernelSize: 1,
      activation: 'sigmoid',
      biasInitializer: tfl.initializers.constant({ value: -1 }),
      name: `${name}_gate`,
    })
    .apply(x) as Node;
  // shortcut branch
  const shortcut = tfl.layers.multiply({ name: `${name}_gated` }).apply([gate, x]) as Node;
  // residual branch
  let residual = conv(bnRelu(x, `${name}_preact`), filters, 3, 1, `${name}_conv1`);
  residual = conv(bnRelu(residual, `${name}_mid`), filters, 3, 1, `${name}_conv2`);
  return tfl.layers.add({ name: `${name}_add` }).apply([shortcut, residual]) as Node;
}

/** conv1 → unit (16) → gated unit (16) → unit (32, stride 2, projection) → BN-ReLU → pool → dense. */
function buildNetwork(classes: number): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3], name: 'input' });
  let x = conv(input, 16, 3, 1, 'conv1');
  x = unit(x, 16, 1, 'stage1_unit1');
  x = gatedUnit(x, 'stage1_unit2');
  x = unit(x, 32, 2, 'stage2_unit1');
  x = bnRelu(x, 'final');
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Node;
  const logits = tfl.layers.dense({ units: classes, name: 'fc' }).apply(x) as Node;
  return tfl.model({ inputs: input, outputs: logits });
}

const batch = 4;
const classes = 5;
let model: tfl.LayersModel;
let images: Float32Array;
let labels: number[];

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'wasm' });
  tf.setBackend('cpu');
  model = buildNetwork(classes);
  images = randomValues([batch, 8, 8, 3]);
  labels = Array.from({ length: batch }, (_, i) => i % classes);
});

function lossOf(xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const logits = model.apply(xs, { training: true }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
}

/** Loss and gradient of every trainable weight, by weight name, on `backend`. */
function stepOn(backend: 'cpu' | 'wasm'): { loss: number; grads: Map<string, Float32Array> } {
  tf.setBackend(backend);
  let loss = Number.NaN;
  const values = new Map<string, Float32Array>();
  tf.tidy(() => {
    const xs = tf.tensor4d(images, [batch, 8, 8, 3]);
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const { value, grads } = tf.variableGrads(() => lossOf(xs, ys));
    for (const [name, grad] of Object.entries(grads)) values.set(name, grad.dataSync() as Float32Array);
    loss = value.dataSync()[0]!;
  });
  return { loss, grads: values };
}

it('gives the same loss and gradients on wasm as on cpu, and leaks no tensors', () => {
  const expected = stepOn('cpu');
  const before = tf.memory().numTensors;
  const actual = stepOn('wasm');
  expect(tf.memory().numTensors).toBe(before);

  expect(Math.abs(actual.loss - expected.loss) / Math.abs(expected.loss)).toBeLessThan(1e-5);
  expect([...actual.grads.keys()].sort()).toEqual([...expected.grads.keys()].sort());
  // Every conv (3×3, 1×1 projection at stride 2, gate) and every BN, the dense layer and the gate's bias.
  expect(expected.grads.size).toBe(model.trainableWeights.length);
  for (const [name, grad] of expected.grads) {
    expect(relativeError(actual.grads.get(name)!, grad), name).toBeLessThan(1e-4);
  }
});

it('trains on wasm: SGD with momentum lowers the loss on a fixed batch without leaking tensors', () => {
  tf.setBackend('wasm');
  const optimizer = tf.train.momentum(0.05, 0.9);
  const xs = tf.tensor4d(images, [batch, 8, 8, 3]);
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  const step = () => tf.tidy(() => optimizer.minimize(() => lossOf(xs, ys), true)!.dataSync()[0]!);
  const first = step();
  // The optimizer makes its momentum accumulators in the first step; later steps must add nothing.
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 5; i++) last = step();
  expect(tf.memory().numTensors).toBe(before);
  expect(last).toBeLessThan(first);
  optimizer.dispose();
  tf.dispose([xs, ys]);
});
