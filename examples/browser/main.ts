// A pre-activation ResNet built with @resnet/models and trained for a few steps in a browser page, on
// generated images. `npm install @resnet/models @tensorflow/tfjs` and `npx vite` (or `npx vite build`).
// @tensorflow/tfjs brings tfjs-core, tfjs-layers (the peers of @resnet/models), the gradients and the cpu and
// webgl backends. The loop is tfjs's own `trainOnBatch`: @resnet/trainer's entry still imports Node's modules.
import { resnet } from '@resnet/models';
import * as tf from '@tensorflow/tfjs';

/** What the page reports, on `window.resnetExample` (CI reads it) and in the page. */
interface ExampleResult {
  backend: string;
  losses: number[];
  /** Tensors alive after each step: flat when a step leaks nothing. */
  tensorsAfterStep: number[];
  tensorsBefore: number;
  tensorsAfter: number;
  error?: string;
}

declare global {
  interface Window {
    resnetExample?: ExampleResult;
  }
}

const log = document.getElementById('log')!;
const print = (line: string) => {
  log.textContent = `${log.textContent === 'starting…' ? '' : log.textContent}${line}\n`;
};

async function run(): Promise<ExampleResult> {
  // cpu runs everywhere (headless CI too); 'webgl' is faster where the page has a GPU.
  const backend = new URLSearchParams(location.search).get('backend') ?? 'cpu';
  await tf.setBackend(backend);
  await tf.ready();
  const tensorsBefore = tf.memory().numTensors;

  // ResNet-8 (full pre-activation) on 16×16 images: the same structure as the paper's, small enough to train here.
  const model = resnet({ depth: 8, order: 'full-preact', classes: 4, inputShape: [16, 16, 3], seed: 1 });
  // Plain SGD: tfjs 4.22's MomentumOptimizer.dispose() leaves one scalar (its learning rate) behind, which
  // would blur this page's leak check; @resnet/trainer's MomentumSgd is the paper's optimizer.
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
  const xs = tf.randomNormal([8, 16, 16, 3], 0, 1, 'float32', 1);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4));
  const losses: number[] = [];
  const tensorsAfterStep: number[] = [];
  for (let step = 1; step <= 3; step++) {
    const loss = (await model.trainOnBatch(xs, ys)) as number;
    losses.push(loss);
    tensorsAfterStep.push(tf.memory().numTensors);
    print(`step ${step}: loss ${loss.toFixed(4)}`);
  }
  tf.dispose([xs, ys]);
  model.optimizer.dispose();
  model.dispose();
  return {
    backend: tf.getBackend(),
    losses,
    tensorsAfterStep,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
}

run()
  .then((result) => {
    print(`backend ${result.backend}; tensors before ${result.tensorsBefore}, after ${result.tensorsAfter}`);
    window.resnetExample = result;
  })
  .catch((error: unknown) => {
    print(`failed: ${String(error)}`);
    window.resnetExample = {
      backend: '',
      losses: [],
      tensorsAfterStep: [],
      tensorsBefore: 0,
      tensorsAfter: 0,
      error: String(error),
    };
  });
