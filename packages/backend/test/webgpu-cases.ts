// The kernels of a ResNet training step beyond the convolution and batch-norm ones of ./geometry.ts (loss, BN
// statistics and their gradients, SGD), as cases on a geometry's input x: run by the webgpu kernel suite and by
// scripts/gpu-check on a real GPU.
import * as tf from '@tensorflow/tfjs-core';
import { type Geometry, kernelCases, shapes } from './geometry.js';
import { randomValues } from './helpers.js';

/** The other kernels of a training step (loss, BN statistics and gradients, SGD), on the geometry's input x. */
export const stepKernelCases: Record<string, (geometry: Geometry) => () => tf.Tensor> = {
  Step: (g) => unary(g, (x) => tf.step(x)),
  Multiply: (g) => binary(g, tf.mul),
  Sub: (g) => binary(g, tf.sub),
  RealDiv: (g) => binary(g, (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))),
  Rsqrt: (g) => unary(g, (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1))),
  Square: (g) => unary(g, tf.square),
  Exp: (g) => unary(g, tf.exp),
  Log: (g) => unary(g, (x) => tf.log(tf.add(tf.abs(x), 0.1))),
  Neg: (g) => unary(g, tf.neg),
  // BN's batch statistics and their gradients reduce over batch, height and width; the pooling over height
  // and width; the loss over classes.
  Mean: (g) =>
    unary(g, (x) =>
      tf.concat([tf.reshape(tf.mean(x, [0, 1, 2]), [-1]), tf.reshape(tf.mean(x, [1, 2]), [-1])]),
    ),
  Sum: (g) =>
    unary(g, (x) => tf.concat([tf.reshape(tf.sum(x, [0, 1, 2]), [-1]), tf.reshape(tf.sum(x, -1), [-1])])),
  Max: (g) => unary(g, (x) => tf.max(x, -1)),
  Tile: (g) => unary(g, (x) => tf.tile(x, [1, 2, 1, 2])),
  Softmax: (g) => unary(g, (x) => tf.softmax(tf.reshape(x, [-1, x.shape[3]]))),
  // The classifier: [batch, C] × [C, 10] with a bias, and its gradient's plain matrix product.
  _FusedMatMul: (g) => matmul(g, true),
  BatchMatMul: (g) => matmul(g, false),
};

function unary(geometry: Geometry, op: (x: tf.Tensor4D) => tf.Tensor): () => tf.Tensor {
  const shape = shapes(geometry).x;
  const x = randomValues(shape);
  return () => op(tf.tensor4d(x, shape));
}

function binary(geometry: Geometry, op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): () => tf.Tensor {
  const shape = shapes(geometry).x;
  const a = randomValues(shape);
  const b = randomValues(shape);
  return () => op(tf.tensor4d(a, shape), tf.tensor4d(b, shape));
}

function matmul(geometry: Geometry, fused: boolean): () => tf.Tensor {
  const [batch, , , channels] = shapes(geometry).x;
  const a = randomValues([batch, channels]);
  const b = randomValues([channels, 10]);
  const bias = randomValues([10]);
  return () => {
    const left = tf.tensor2d(a, [batch, channels]);
    const right = tf.tensor2d(b, [channels, 10]);
    return fused ? tf.fused.matMul({ a: left, b: right, bias: tf.tensor1d(bias) }) : tf.matMul(left, right);
  };
}

/** Every kernel of a training step, by kernel name: ./geometry.ts's and the ones above. */
export const trainingKernelCases: Record<string, (geometry: Geometry) => () => tf.Tensor> = {
  ...kernelCases,
  ...stepKernelCases,
};
