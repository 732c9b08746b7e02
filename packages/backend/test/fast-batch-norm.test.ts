// The closed-form batch normalisation computes what tfjs's composed one computes: outputs, batch moments and
// gradients (x, γ, β) against the stock composition on the cpu backend, for several shapes, through each of
// its paths (fused kernels on cpu and wasm, composed ops), the replacement FusedBatchNorm gradient, and the
// patched BatchNormalization layer (output, gradients, moving averages), with no leaked tensors.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNormTraining, initBackend } from '../src/index.js';
import { fusedBatchNormGradConfig, registerFastKernels, unregisterFastKernels } from '../src/internals.js';
import { randomValues, relativeError } from './helpers.js';

const TOLERANCE = 2e-5;
const EPSILON = 1e-3;

const shapes: number[][] = [
  [4, 5, 5, 3],
  [2, 8, 8, 16],
  [7, 4],
  [3, 1, 1, 6],
  [1, 6, 6, 2],
  [2, 3, 5, 4, 3],
];

interface Case {
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  /** Weights of the loss Σ r·y, so that every output gets a different gradient. */
  r: Float32Array;
  shape: number[];
}

function makeCase(shape: number[], offset = 0): Case {
  const channels = shape[shape.length - 1]!;
  return {
    x: randomValues(shape).map((v) => v * 3 + offset),
    gamma: randomValues([channels]).map((v) => v + 1.5),
    beta: randomValues([channels]),
    r: randomValues(shape),
    shape,
  };
}

interface Result {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
}

type Bn = (
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
) => { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor };

/** tfjs-layers' training path: tf.moments then tf.batchNorm, with the gradients tfjs registers. */
const stock: Bn = (x, gamma, beta) => {
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return { y: tf.batchNorm(x, mean, variance, beta, gamma, EPSILON), mean, variance };
};

function expectClose(actual: Result, expected: Result): void {
  for (const key of Object.keys(expected) as (keyof Result)[]) {
    expect(relativeError(actual[key], expected[key]), key).toBeLessThan(TOLERANCE);
  }
}

let variableCounter = 0;
/** Like {@link run} but with fresh variable names, which tfjs requires to be unique per process. */
function runFresh(bn: Bn, c: Case): Result {
  return tf.tidy(() => {
    const id = variableCounter++;
    const x = tf.variable(tf.tensor(c.x, c.shape), true, `x${id}`);
    const gamma = tf.variable(tf.tensor1d(c.gamma), true, `gamma${id}`);
    const beta = tf.variable(tf.tensor1d(c.beta), true, `beta${id}`);
    const r = tf.tensor(c.r, c.shape);
    const forward = bn(x, gamma as tf.Tensor1D, beta as tf.Tensor1D);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(bn(x, gamma as tf.Tensor1D, beta as tf.Tensor1D).y, r)) as tf.Scalar,
      [x, gamma, beta],
    );
    const result = {
      y: forward.y.dataSync() as Float32Array,
      mean: forward.mean.dataSync() as Float32Array,
      variance: forward.variance.dataSync() as Float32Array,
      dx: grads[x.name]!.dataSync() as Float32Array,
      dGamma: grads[gamma.name]!.dataSync() as Float32Array,
      dBeta: grads[beta.name]!.dataSync() as Float32Array,
    };
    for (const v of [x, gamma, beta]) v.dispose();
    return result;
  });
}

const closedForm =
  (implementation: 'auto' | 'ops'): Bn =>
  (x, gamma, beta) =>
    batchNormTraining(x, gamma, beta, EPSILON, implementation);

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  await initBackend({ backend: 'cpu' });
  registerFastKernels('cpu');
  registerFastKernels('wasm');
});

afterAll(() => {
  unregisterFastKernels();
});

describe('batchNormTraining', () => {
  for (const shape of shapes) {
    for (const offset of [0, 20]) {
      it(`matches the stock composition for [${shape}], inputs centred on ${offset}`, () => {
        const c = makeCase(shape, offset);
        tf.setBackend('cpu');
        const expected = runFresh(stock, c);
        expectClose(runFresh(closedForm('ops'), c), expected);
        expectClose(runFresh(closedForm('auto'), c), expected);
        tf.setBackend('wasm');
        expectClose(runFresh(closedForm('auto'), c), expected);
        expectClose(runFresh(closedForm('ops'), c), expected);
      });
    }
  }

  it('leaks no tensors on either backend', () => {
    const c = makeCase([2, 4, 4, 3]);
    for (const backend of ['cpu', 'wasm']) {
      tf.setBackend(backend);
      runFresh(closedForm('auto'), c);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) runFresh(closedForm('auto'), c);
      expect(tf.memory().numTensors, backend).toBe(before);
    }
  });

  it('rejects γ and β that do not match the channels', () => {
    tf.setBackend('cpu');
    tf.tidy(() => {
      expect(() => batchNormTraining(tf.zeros([2, 3]), tf.ones([4]), tf.zeros([4]), EPSILON)).toThrow(
        /channels/,
      );
    });
  });
});

describe('FusedBatchNorm gradient without Tile', () => {
  it('gives the stock gradients for x, mean, variance, scale and offset', () => {
    tf.setBackend('cpu');
    const stockGrad = tf.getGradient(tf.FusedBatchNorm);
    for (const shape of [
      [3, 4, 4, 5],
      [6, 2],
    ]) {
      const channels = shape[shape.length - 1]!;
      const values = [
        randomValues(shape),
        randomValues([channels]),
        randomValues([channels]).map((v) => v + 1.5),
      ];
      const [scale, offset] = [randomValues([channels]), randomValues([channels])];
      const gradients = () =>
        tf.tidy(() => {
          const f = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
            tf.sum(tf.mul(tf.batchNorm(x, mean, variance, o, s, EPSILON), tf.tensor(values[0]!, shape)));
          return tf
            .grads(f as (...args: tf.Tensor[]) => tf.Tensor)([
              tf.tensor(
                values[0]!.map((v) => v * 2),
                shape,
              ),
              tf.tensor1d(values[1]!),
              tf.tensor1d(values[2]!),
              tf.tensor1d(scale),
              tf.tensor1d(offset),
            ])
            .map((g) => g.dataSync() as Float32Array);
        });
      const expected = gradients();
      tf.registerGradient(fusedBatchNormGradConfig);
      const actual = gradients();
      tf.registerGradient(stockGrad);
      actual.forEach((g, i) => {
        expect(relativeError(g, expected[i]!), `input ${i} of [${shape}]`).toBeLessThan(TOLERANCE);
      });
    }
    registerFastKernels('cpu');
  });
});

describe('BatchNormalization layers', () => {
  /** Output, gradients and moving statistics of one training call of a fresh layer with given weights. */
  function layerStep(c: Case, momentum: number) {
    const channels = c.shape[c.shape.length - 1]!;
    const layer = tfl.layers.batchNormalization({ momentum, epsilon: EPSILON });
    layer.build(c.shape);
    const initial = [
      tf.tensor1d(c.gamma),
      tf.tensor1d(c.beta),
      tf.tensor1d(c.beta.map((v) => v * 0.1)),
      tf.ones([channels]),
    ];
    layer.setWeights(initial);
    tf.dispose(initial);
    const result = tf.tidy(() => {
      const x = tf.tensor(c.x, c.shape);
      const r = tf.tensor(c.r, c.shape);
      const weights = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar,
        weights,
      );
      const dx = tf.grad((input: tf.Tensor) =>
        tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, r)),
      )(x);
      return [value, ...weights.map((w) => grads[w.name]!), dx, ...layer.getWeights().slice(2)].map(
        (t) => t.dataSync() as Float32Array,
      );
    });
    for (const weight of layer.weights) weight.dispose();
    return result;
  }

  it('train with the same output, gradients and moving averages as unpatched ones', () => {
    tf.setBackend('cpu');
    for (const shape of [
      [4, 6, 6, 8],
      [5, 3],
    ]) {
      const c = makeCase(shape, 2);
      unregisterFastKernels();
      const expected = layerStep(c, 0.9);
      registerFastKernels('cpu');
      for (const backend of ['cpu', 'wasm']) {
        tf.setBackend(backend);
        const actual = layerStep(c, 0.9);
        actual.forEach((values, i) => {
          expect(relativeError(values, expected[i]!), `${backend} [${shape}] output ${i}`).toBeLessThan(
            TOLERANCE,
          );
        });
      }
      tf.setBackend('cpu');
    }
  });

  it('take the closed-form path in training mode (registerFastKernels patched the class)', async () => {
    tf.setBackend('wasm');
    expect(registerFastKernels('wasm').batchNormLayer).toBe(true);
    const layer = tfl.layers.batchNormalization({});
    const x = tf.randomNormal([2, 3, 3, 4]);
    const kernelsOf = async (training: boolean) => {
      const info = await tf.profile(() => layer.apply(x, { training }) as tf.Tensor);
      tf.dispose(info.result as tf.Tensor);
      return info.kernels.map((k) => k.name);
    };
    expect(await kernelsOf(true)).toContain('ResnetBatchNormTraining');
    expect(await kernelsOf(false)).not.toContain('ResnetBatchNormTraining');
    x.dispose();
    for (const weight of layer.weights) weight.dispose();
  });

  it('leave inference mode to tfjs and leak nothing in training mode', () => {
    tf.setBackend('wasm');
    const c = makeCase([2, 3, 3, 4]);
    layerStep(c, 0.5);
    const before = tf.memory().numTensors;
    layerStep(c, 0.5);
    expect(tf.memory().numTensors).toBe(before);
    const layer = tfl.layers.batchNormalization({});
    const out = tf.tidy(() => {
      const x = tf.tensor(c.x, c.shape);
      // A fresh layer: moving mean 0, moving variance 1, γ 1, β 0.
      const y = layer.apply(x, { training: false }) as tf.Tensor;
      return tf.max(tf.abs(tf.sub(y, tf.div(x, Math.sqrt(1 + EPSILON)))));
    });
    expect(out.dataSync()[0]).toBeLessThan(1e-5);
    out.dispose();
    for (const weight of layer.weights) weight.dispose();
  });
});
