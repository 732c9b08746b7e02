// A training step of a small pre-activation ResNet (stem, an identity unit, a stride-2 unit with a 1×1
// projection, BN-ReLU, pooling, softmax) with registerFastKernels on threaded wasm gives the loss, gradients
// and BN moving averages of stock tfjs on the cpu backend; it leaks no tensors; the model saves and loads as
// a plain tf.LayersModel; the native kernels' pool has the threads asked for; the copy-free Identity shares data safely.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { nativeKernelsOfBackend, registerFastKernels, unregisterFastKernels } from '../src/internals.js';
import { randomValues, relativeError } from './helpers.js';

const BATCH = 4;
const CLASSES = 5;

function bnRelu(x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor {
  const bn = tfl.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9 }).apply(x);
  return tfl.layers.activation({ name: `${name}_relu`, activation: 'relu' }).apply(bn) as tfl.SymbolicTensor;
}

function conv(x: tfl.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number) {
  return tfl.layers
    .conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false })
    .apply(x) as tfl.SymbolicTensor;
}

/** Pre-activation units as the paper's Fig. 4(e); the stride-2 unit shares its BN-ReLU with a projection. */
function smallResnet(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let x = conv(input, 'stem_conv', 4, 3, 1);
  let pre = bnRelu(x, 'unit1_preact');
  let residual = conv(pre, 'unit1_conv1', 4, 3, 1);
  residual = conv(bnRelu(residual, 'unit1_mid'), 'unit1_conv2', 4, 3, 1);
  x = tfl.layers.add({ name: 'unit1_add' }).apply([x, residual]) as tfl.SymbolicTensor;
  pre = bnRelu(x, 'unit2_preact');
  const shortcut = conv(pre, 'unit2_projection', 8, 1, 2);
  residual = conv(pre, 'unit2_conv1', 8, 3, 2);
  residual = conv(bnRelu(residual, 'unit2_mid'), 'unit2_conv2', 8, 3, 1);
  x = tfl.layers.add({ name: 'unit2_add' }).apply([shortcut, residual]) as tfl.SymbolicTensor;
  x = bnRelu(x, 'final');
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const output = tfl.layers.dense({ name: 'fc', units: CLASSES, activation: 'softmax' }).apply(pooled);
  return tfl.model({ inputs: input, outputs: output as tfl.SymbolicTensor });
}

interface StepResult {
  loss: number;
  grads: Float32Array[];
  /** Every weight after the step's forward pass: BN moving averages moved, trainable weights unchanged. */
  weights: Float32Array[];
}

/** Forward (training mode), cross-entropy, gradients of every trainable weight. */
function step(model: tfl.LayersModel, images: Float32Array, labels: Float32Array): StepResult {
  return tf.tidy(() => {
    const xs = tf.tensor4d(images, [BATCH, 8, 8, 3]);
    const ys = tf.tensor2d(labels, [BATCH, CLASSES]);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const probabilities = model.apply(xs, { training: true }) as tf.Tensor;
      return tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(probabilities)), -1))) as tf.Scalar;
    }, variables);
    return {
      loss: value.dataSync()[0]!,
      grads: variables.map((v) => grads[v.name]!.dataSync() as Float32Array),
      weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
    };
  });
}

/** A fresh model with the given weights (in the order of `model.weights`). */
function withWeights(weights: Float32Array[]): tfl.LayersModel {
  const copy = smallResnet();
  const tensors = copy.weights.map((w, i) => tf.tensor(weights[i]!, w.shape as number[]));
  copy.setWeights(tensors);
  tf.dispose(tensors);
  return copy;
}

const images = randomValues([BATCH, 8, 8, 3]);
const labels = new Float32Array(BATCH * CLASSES);
for (let i = 0; i < BATCH; i++) labels[i * CLASSES + ((i * 3) % CLASSES)] = 1;

let reference: StepResult;
let initialWeights: Float32Array[];

beforeAll(async () => {
  // Stock tfjs on cpu is the reference; the threaded wasm build must be chosen before wasm starts.
  await initBackend({ backend: 'cpu' });
  const model = smallResnet();
  initialWeights = model.getWeights().map((w) => w.dataSync().slice() as Float32Array);
  reference = step(model, images, labels);
  registerFastKernels('wasm', { threads: 2 });
  await initBackend({ backend: 'wasm' });
  registerFastKernels('wasm');
});

describe('registerFastKernels on wasm', () => {
  it('runs the native kernels on the threads asked for, and XNNPACK on one', async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasm.getThreadsCount()).toBe(1);
    expect(nativeKernelsOfBackend(tf.backend())?.threads).toBe(2);
  });

  it('gives the loss, gradients and moving averages of stock tfjs on cpu', () => {
    const model = withWeights(initialWeights);
    const actual = step(model, images, labels);
    expect(Math.abs(actual.loss - reference.loss) / Math.abs(reference.loss)).toBeLessThan(1e-5);
    expect(actual.grads).toHaveLength(reference.grads.length);
    actual.grads.forEach((g, i) => {
      expect(relativeError(g, reference.grads[i]!), model.trainableWeights[i]!.name).toBeLessThan(1e-4);
    });
    actual.weights.forEach((w, i) => {
      expect(relativeError(w, reference.weights[i]!), model.weights[i]!.name).toBeLessThan(1e-5);
    });
  });

  it('leaves tf.memory().numTensors flat over training steps', () => {
    const model = withWeights(initialWeights);
    step(model, images, labels);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step(model, images, labels);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the model a plain tf.LayersModel that saves and loads', async () => {
    const model = withWeights(initialWeights);
    step(model, images, labels);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved!.modelTopology);
    expect(topology).toContain('"class_name":"BatchNormalization"');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const [before, after] = tf.tidy(() => {
      const xs = tf.tensor4d(images, [BATCH, 8, 8, 3]);
      return [model.predict(xs) as tf.Tensor, loaded.predict(xs) as tf.Tensor].map((t) => t.dataSync());
    });
    expect(relativeError(after!, before!)).toBeLessThan(1e-6);
    const original = step(model, images, labels);
    const reloaded = step(loaded, images, labels);
    reloaded.grads.forEach((g, i) => {
      expect(relativeError(g, original.grads[i]!)).toBeLessThan(1e-5);
    });
  });

  it('clones without copying, and a clone outlives its source', () => {
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(x);
    expect(backend.getMemoryOffset(copy.dataId)).toBe(backend.getMemoryOffset(x.dataId));
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
  });

  it('can be turned off again: unregisterFastKernels restores the stock gradients', () => {
    unregisterFastKernels();
    const model = withWeights(initialWeights);
    const actual = step(model, images, labels);
    actual.grads.forEach((g, i) => {
      expect(relativeError(g, reference.grads[i]!)).toBeLessThan(1e-4);
    });
    registerFastKernels('wasm');
  });
});
