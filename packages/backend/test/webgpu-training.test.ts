// A small pre-activation residual network trains on the webgpu backend as on cpu: one training step gives the
// same loss and gradients, SGD steps leak no tensors, a model saved on webgpu loads back and predicts the same,
// and a process that trained on webgpu exits by itself once disposeWebgpu has run. (Each Fig. 4 order, built by
// @resnet/models, is checked in apps/bench/test/webgpu.test.ts: this package cannot depend on the models.)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeWebgpu, initBackend, listBackends, probeWebgpu } from '../src/index.js';
import { randomValues, relativeError } from './helpers.js';
import { adapterName, requireAdapter, webgpuReady } from './webgpu-setup.js';

requireAdapter();

type Node = tfl.SymbolicTensor;

function conv(x: Node, filters: number, kernelSize: number, strides: number): Node {
  return tfl.layers
    .conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal' })
    .apply(x) as Node;
}

function bnRelu(x: Node): Node {
  const normalised = tfl.layers.batchNormalization().apply(x) as Node;
  return tfl.layers.activation({ activation: 'relu' }).apply(normalised) as Node;
}

/** Full pre-activation unit; with stride 2 a 1×1 projection reads the shared pre-activation. */
function unit(x: Node, filters: number, strides: number): Node {
  const preact = bnRelu(x);
  // shortcut branch
  const shortcut = strides !== 1 || x.shape[3] !== filters ? conv(preact, filters, 1, strides) : x;
  // residual branch
  const residual = conv(bnRelu(conv(preact, filters, 3, strides)), filters, 3, 1);
  return tfl.layers.add().apply([shortcut, residual]) as Node;
}

/** conv1 → unit (8) → unit (16, stride 2, projection) → BN-ReLU → pool → dense. */
function buildNetwork(classes: number): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let x = conv(input, 8, 3, 1);
  x = unit(x, 8, 1);
  x = unit(x, 16, 2);
  x = tfl.layers.globalAveragePooling2d({}).apply(bnRelu(x)) as Node;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: classes }).apply(x) as Node });
}

const batch = 4;
const classes = 5;
let model: tfl.LayersModel;
let images: Float32Array;
let labels: number[];

beforeAll(async () => {
  if (!webgpuReady) return;
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'webgpu' });
  tf.setBackend('cpu');
  model = buildNetwork(classes);
  images = randomValues([batch, 8, 8, 3]);
  labels = Array.from({ length: batch }, (_, i) => i % classes);
});

afterAll(async () => {
  await disposeWebgpu();
});

function lossOf(xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const logits = model.apply(xs, { training: true }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(ys, logits) as tf.Scalar;
}

/** Loss and gradient of every trainable weight, by weight name, on `backend`. */
async function stepOn(
  backend: 'cpu' | 'webgpu',
): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await tf.setBackend(backend);
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(images, [batch, 8, 8, 3]);
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    return tf.variableGrads(() => lossOf(xs, ys));
  });
  const values = new Map<string, Float32Array>();
  for (const [name, grad] of Object.entries(grads)) values.set(name, (await grad.data()) as Float32Array);
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: values };
}

describe.runIf(webgpuReady)(`training on webgpu (${adapterName})`, () => {
  it('lists the adapter it trains on: listBackends (a child process asks Dawn) agrees with initBackend', async () => {
    const listed = (await listBackends()).find((status) => status.name === 'webgpu')!;
    const probed = await probeWebgpu();
    const info = await initBackend({ backend: 'webgpu' });
    expect(listed.usable).toBe(true);
    expect(probed.ok && listed.adapter).toEqual(probed.ok ? probed.adapter : undefined);
    expect(info.adapter).toEqual(listed.adapter);
    expect(listed.gpu).toBe(!listed.adapter!.software);
  });

  it('gives the same loss and gradients on webgpu as on cpu, and leaks no tensors', async () => {
    const expected = await stepOn('cpu');
    const before = tf.memory().numTensors;
    const actual = await stepOn('webgpu');
    expect(tf.memory().numTensors).toBe(before);

    expect(Math.abs(actual.loss - expected.loss) / Math.abs(expected.loss)).toBeLessThan(1e-5);
    expect([...actual.grads.keys()].sort()).toEqual([...expected.grads.keys()].sort());
    expect(expected.grads.size).toBe(model.trainableWeights.length);
    for (const [name, grad] of expected.grads) {
      expect(relativeError(actual.grads.get(name)!, grad), name).toBeLessThan(1e-4);
    }
  });

  it('refuses dataSync in Node.js with a message that names await data(), which works', async () => {
    await tf.setBackend('webgpu');
    // Large enough for tfjs to run it on the GPU (it computes tiny tensors on the CPU).
    const y = tf.add(tf.tensor1d(new Float32Array(4096).fill(1)), 1);
    expect(() => y.dataSync()).toThrow(
      /cannot read a tensor of the 'webgpu' backend.*await tensor\.data\(\)/,
    );
    expect((await y.data()).every((value) => value === 2)).toBe(true);
    y.dispose();
  });

  it('trains: SGD with momentum lowers the loss on a fixed batch, tf.memory().numTensors flat', async () => {
    await tf.setBackend('webgpu');
    const optimizer = tf.train.momentum(0.05, 0.9);
    const xs = tf.tensor4d(images, [batch, 8, 8, 3]);
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
    const step = async () => {
      const loss = tf.tidy(() => optimizer.minimize(() => lossOf(xs, ys), true)!);
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    };
    const first = await step();
    // The optimizer makes its momentum accumulators in the first step; later steps must add nothing.
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) {
      last = await step();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(last).toBeLessThan(first);
    optimizer.dispose();
    tf.dispose([xs, ys]);
  });

  it('saves a model trained on webgpu and loads it back: same predictions', async () => {
    await tf.setBackend('webgpu');
    const xs = tf.tensor4d(images, [batch, 8, 8, 3]);
    const predicted = model.predict(xs) as tf.Tensor;
    const expected = await predicted.data();
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (saved) => {
        artifacts = saved;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
    const again = loaded.predict(xs) as tf.Tensor;
    expect(relativeError(await again.data(), expected)).toBeLessThan(1e-6);
    tf.dispose([xs, predicted, again]);
    loaded.dispose();
  });
});

// The child script lives in a temporary folder: it names every module by its resolved path.
const require = createRequire(import.meta.url);
const source = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const tfjsCore = require.resolve('@tensorflow/tfjs-core');
const tfjsLayers = require.resolve('@tensorflow/tfjs-layers');
const tsx = require.resolve('tsx/cli');

describe.runIf(webgpuReady)('a Node.js process that trained on webgpu', () => {
  it('exits by itself after disposeWebgpu, within 60 s', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'resnet-webgpu-exit-'));
    const script = join(folder, 'train.mts');
    writeFileSync(
      script,
      `import * as tf from ${JSON.stringify(tfjsCore)};
import * as tfl from ${JSON.stringify(tfjsLayers)};
import { disposeWebgpu, initBackend } from ${JSON.stringify(source)};
const info = await initBackend({ backend: 'webgpu' });
const input = tfl.input({ shape: [8, 8, 3] });
let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor;
x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
const model = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3 }).apply(x) as tfl.SymbolicTensor });
const optimizer = tf.train.momentum(0.1, 0.9);
const xs = tf.randomNormal([2, 8, 8, 3]);
const ys = tf.oneHot(tf.tensor1d([0, 1], 'int32'), 3);
const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
console.log(JSON.stringify({ backend: info.name, loss: (await loss.data())[0] }));
await disposeWebgpu();
`,
    );
    try {
      const started = Date.now();
      // No timeout kill from us beyond the limit: the child must end on its own.
      const { stdout, stderr, code } = await new Promise<{
        stdout: string;
        stderr: string;
        code: number | null;
      }>((resolve, reject) => {
        const child = execFile(
          process.execPath,
          [tsx, '--conditions=@resnet/source', script],
          { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000, killSignal: 'SIGKILL' },
          (error, out, err) => {
            if (error !== null && (error as { killed?: boolean }).killed) {
              reject(new Error(`the child did not exit within 60 s (killed): ${out}${err}`));
            } else resolve({ stdout: out, stderr: err, code: child.exitCode });
          },
        );
      });
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { backend: string; loss: number };
      expect(result.backend).toBe('webgpu');
      expect(Number.isFinite(result.loss)).toBe(true);
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
