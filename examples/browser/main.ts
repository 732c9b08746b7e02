// A pre-activation ResNet built with @resnet/models and trained for a few steps in a browser page by
// @resnet/trainer (its browser entry: the same loop, optimiser and schedule as in Node.js), on CIFAR-10-format
// records made in the page and batched by @resnet/data-cifar (its browser entry: augmentation and batches from
// bytes in memory), on a backend initialised by @resnet/backend (its browser entry: the gradients training
// needs, and cpu, wasm or webgpu). See ../README.md for the install line; `npx vite` (or `npx vite build`).
// A real page would `fetch` CIFAR's binary files and hand their bytes to cifarFromBuffers.
import { type BackendChoice, initBackend } from '@resnet/backend';
import { cifarFromBuffers, computeNormalization, trainBatches } from '@resnet/data-cifar';
import { resnet } from '@resnet/models';
import { constantSchedule, train } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';

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

/** `count` CIFAR-10 binary records (a label byte, then 3,072 pixel bytes): each class a brightness band. */
function records(count: number): Uint8Array {
  const bytes = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    bytes[i * 3073] = label;
    for (let p = 1; p <= 3072; p++) bytes[i * 3073 + p] = (label * 25 + ((i * 7 + p * 13) % 20)) & 0xff;
  }
  return bytes;
}

async function run(): Promise<ExampleResult> {
  // cpu runs everywhere (headless CI too); ?backend=wasm is faster (its .wasm files served from ./wasm/, copied
  // from @tensorflow/tfjs-backend-wasm/dist/), ?backend=webgpu runs on the page's GPU, ?backend=auto picks.
  const backend = (new URLSearchParams(location.search).get('backend') ?? 'cpu') as BackendChoice;
  await initBackend({ backend, wasmPaths: new URL('wasm/', location.href).href });
  const tensorsBefore = tf.memory().numTensors;

  const data = cifarFromBuffers({ dataset: 'cifar10', train: records(64), test: records(10) });
  const normalization = computeNormalization(data.train, 'per-channel');
  const source = trainBatches(data.train, { batchSize: 8, normalization, seed: 1 });
  // ResNet-8 (full pre-activation), narrow: the paper's structure, small enough to train on the cpu backend.
  const model = resnet({ depth: 8, classes: 10, widths: [4, 8, 8], stemFilters: 4, seed: 1 });

  const losses: number[] = [];
  const tensorsAfterStep: number[] = [];
  const result = await train({
    model,
    data: source,
    iterations: 3,
    schedule: constantSchedule(0.05),
    logEvery: 1, // read every step's loss as it ends
    seed: 1,
    callbacks: {
      onStepEnd: ({ iteration, loss }) => {
        losses.push(loss);
        tensorsAfterStep.push(tf.memory().numTensors);
        print(`step ${iteration}: loss ${loss.toFixed(4)}`);
      },
    },
  });
  source.close();
  model.dispose();
  print(`training ${result.status} after ${result.iteration} iterations`);
  if (result.status !== 'completed') throw new Error(`training ${result.status}`);
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
