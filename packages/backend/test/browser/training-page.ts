// The page of test/browser-training.test.ts, bundled by esbuild for the browser: the browser entry initialises
// each backend asked for (`?backends=cpu,wasm`; wasm's .wasm files from /wasm/), and a small convolutional
// network (Conv2D → BatchNormalization → ReLU → pooling → Dense) trains a few SGD steps on it, so that a gradient
// flows through the convolution and the batch normalisation. The result goes on `globalThis.resnetBrowserTest`.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type BackendChoice, describeOverrides, initBackend, listBackends } from '../../src/browser.js';

/** What the page reports for one backend (test/browser-training.test.ts reads it). */
export interface BackendRun {
  requested: string;
  name: string;
  threads?: number;
  losses: number[];
  tensorsAfterStep: number[];
  tensorsBefore: number;
  tensorsAfter: number;
  /** Override rows installed for this backend, by target. */
  installed: string[];
}

/** What the page puts on `globalThis.resnetBrowserTest`. */
export interface PageResult {
  error?: string;
  statuses: Array<{ name: string; usable: boolean; detail: string }>;
  runs: BackendRun[];
}

function model(): tfl.Sequential {
  const seed = (n: number) => tfl.initializers.glorotUniform({ seed: n });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: seed(1),
      }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        kernelInitializer: seed(2),
      }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 3, kernelInitializer: seed(3) }),
    ],
  });
}

async function train(requested: BackendChoice): Promise<BackendRun> {
  const info = await initBackend({ backend: requested, wasmPaths: '/wasm/' });
  const tensorsBefore = tf.memory().numTensors;
  const net = model();
  const optimizer = tf.train.sgd(0.1);
  net.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const x = tf.tidy(() => tf.sin(tf.reshape(tf.linspace(-1, 1, 4 * 8 * 8 * 3), [4, 8, 8, 3])));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3));
  const losses: number[] = [];
  const tensorsAfterStep: number[] = [];
  for (let step = 0; step < 4; step++) {
    losses.push(Number(await net.trainOnBatch(x, y)));
    tensorsAfterStep.push(tf.memory().numTensors);
  }
  x.dispose();
  y.dispose();
  net.dispose();
  // The model does not own its optimizer (which holds its learning rate as a tensor).
  optimizer.dispose();
  return {
    requested,
    name: info.name,
    ...(info.threads === undefined ? {} : { threads: info.threads }),
    losses,
    tensorsAfterStep,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
    installed: describeOverrides()
      .filter((row) => row.installed && (row.backend === info.name || row.backend === 'any'))
      .map((row) => row.target),
  };
}

async function main(): Promise<PageResult> {
  // No DOM types in this package: the page's location is read as the browser has it.
  const { search } = (globalThis as unknown as { location: { search: string } }).location;
  const backends = (new URLSearchParams(search).get('backends') ?? 'cpu').split(',');
  const statuses = await listBackends();
  const runs: BackendRun[] = [];
  for (const backend of backends) runs.push(await train(backend as BackendChoice));
  return { statuses, runs };
}

const holder = globalThis as { resnetBrowserTest?: unknown };
main().then(
  (result) => {
    holder.resnetBrowserTest = result;
  },
  (error: unknown) => {
    holder.resnetBrowserTest = { error: String((error as Error)?.stack ?? error) };
  },
);
