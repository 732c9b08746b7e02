// Train a pre-activation ResNet on CIFAR-10 with @resnet/data-cifar and @resnet/trainer, then save the model
// and its predictions on the first test images (predict.ts loads it back in another process).
//
//   node dist/train-cifar.js --out runs/example                        # downloads CIFAR-10 once (170 MB)
//   node dist/train-cifar.js --data-dir path/to/cifar-10-batches-bin   # a local copy
//   node dist/train-cifar.js --synthetic /tmp/cifar --iterations 5     # generated images: no download
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '@resnet/backend';
import {
  computeNormalization,
  evalBatches,
  loadCifar,
  trainBatches,
  writeSyntheticCifar,
} from '@resnet/data-cifar';
import { getPreset, resnet } from '@resnet/models';
import { scaledPaperSchedule, train } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: 'preact-resnet110' },
    depth: { type: 'string', default: '20' },
    iterations: { type: 'string', default: '200' },
    'batch-size': { type: 'string', default: '64' },
    'data-dir': { type: 'string' },
    synthetic: { type: 'string' },
    out: { type: 'string', default: 'runs/example' },
  },
});
const iterations = Number(args.iterations);
const batchSize = Number(args['batch-size']);

const backend = await initBackend(); // 'auto'
console.log(`backend: ${backend.name}`);

let dataDir = args['data-dir'];
if (args.synthetic) {
  // A small learnable dataset in CIFAR-10's binary format, for trying the pipeline without the download.
  dataDir = (await writeSyntheticCifar({ dataset: 'cifar10', dir: args.synthetic, trainCount: 512, seed: 1 }))
    .dir;
}
// Generated data differs from the official files: it must be allowed explicitly (and is then reported).
const data = await loadCifar({
  dataset: 'cifar10',
  ...(dataDir ? { dataDir } : {}),
  allowUnofficial: Boolean(args.synthetic),
});
const normalization = computeNormalization(data.train, 'per-channel');

const preset = getPreset(args.preset);
const model = resnet({ ...preset.config, depth: Number(args.depth), seed: 1 });
const source = trainBatches(data.train, { batchSize, normalization, seed: 1, dropLast: true });
const firstTest = () => evalBatches(data.test, { batchSize: 100, normalization });

const result = await train({
  model,
  data: source,
  iterations,
  schedule: scaledPaperSchedule(iterations), // the paper's warm-up and steps, shrunk to this length
  evaluate: { every: iterations, batches: firstTest },
  runDir: join(args.out, 'run'), // metrics.jsonl, checkpoint.ckpt, final.ckpt
  checkpointEvery: iterations,
  seed: 1,
  config: { preset: preset.name, depth: Number(args.depth), batchSize, iterations },
});
source.close();
const summary = (m?: { loss: number; error: number }) =>
  m ? `loss ${m.loss.toFixed(3)}, error ${(100 * m.error).toFixed(1)}%` : 'none';
console.log(
  `training ${result.status} after ${result.iteration} iterations: train ${summary(result.train)}; test ${summary(result.test)}`,
);
if (result.status !== 'completed') process.exit(1);

// model.json + weights.bin (the tfjs-node layout), through @resnet/backend's file:// handler in Node.js.
await model.save(`file://${join(args.out, 'model')}`);
await writeFile(join(args.out, 'normalization.json'), JSON.stringify(normalization));

// Predictions on the first test batch, for predict.ts to compare against.
for await (const { xs, ys } of firstTest()) {
  const probabilities = tf.tidy(() => model.predict(xs) as tf.Tensor);
  await writeFile(join(args.out, 'predictions.json'), JSON.stringify(await probabilities.array()));
  tf.dispose([xs, ys, probabilities]);
  break;
}
console.log(`saved ${join(args.out, 'model')}/model.json and the first test batch's predictions`);
model.dispose();
