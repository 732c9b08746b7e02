// Load, in a fresh process, the model train-cifar.ts saved, and predict the first test batch again; or
// restore the same network from the trainer's final checkpoint. With --expect, fails unless the predictions
// match the ones saved at training time.
//
//   node dist/predict.js --run runs/example --data-dir path/to/cifar-10-batches-bin [--expect]
//   node dist/predict.js --run runs/example --data-dir … --from-checkpoint --preset preact-resnet110 --depth 20
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '@resnet/backend';
import { evalBatches, loadCifar, type Normalization } from '@resnet/data-cifar';
// Importing @resnet/models (or @resnet/shortcuts) registers the project's custom layers, which a saved model
// with gated, scaled or zero-padded shortcuts needs to load (`Unknown layer: @resnet/shortcuts>…` otherwise).
import { getPreset, resnet } from '@resnet/models';
import { loadCheckpoint, RUN_FILES } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const { values: args } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/example' },
    'data-dir': { type: 'string' },
    expect: { type: 'boolean', default: false },
    'from-checkpoint': { type: 'boolean', default: false },
    preset: { type: 'string', default: 'preact-resnet110' },
    depth: { type: 'string', default: '20' },
  },
});

/**
 * Rebuilds the network with the same configuration and writes a checkpoint's weights into it. The trainer
 * stores every weight (BN's moving statistics too) under its `originalName`, which the model's positional
 * layer names make stable from one build to the next.
 */
async function restoreFromCheckpoint(path: string): Promise<tfl.LayersModel> {
  const checkpoint = await loadCheckpoint(path);
  const model = resnet({ ...getPreset(args.preset).config, depth: Number(args.depth) });
  const stored = new Map(checkpoint.weights.map((w) => [w.name, w]));
  for (const weight of model.weights) {
    const saved = stored.get(weight.originalName);
    if (!saved)
      throw new Error(
        `${path} has no weight '${weight.originalName}': was it trained with this --preset and --depth?`,
      );
    tf.tidy(() => {
      weight.write(tf.tensor(saved.data, saved.shape, saved.dtype));
    });
  }
  return model;
}

await initBackend();
const model = args['from-checkpoint']
  ? await restoreFromCheckpoint(join(args.run, 'run', RUN_FILES.final))
  : // @resnet/backend registers a file:// handler in Node.js (where tfjs-node, which has its own, is absent).
    await tfl.loadLayersModel(`file://${join(args.run, 'model', 'model.json')}`);

const normalization = JSON.parse(
  await readFile(join(args.run, 'normalization.json'), 'utf8'),
) as Normalization;
const data = await loadCifar({
  dataset: 'cifar10',
  ...(args['data-dir'] ? { dataDir: args['data-dir'] } : {}),
  allowUnofficial: true, // the same files train-cifar.ts trained on, generated or not
  download: false,
});
let predictions: number[][] = [];
for await (const { xs, ys } of evalBatches(data.test, { batchSize: 100, normalization })) {
  const probabilities = tf.tidy(() => model.predict(xs) as tf.Tensor);
  predictions = (await probabilities.array()) as number[][];
  tf.dispose([xs, ys, probabilities]);
  break;
}
const classes = predictions.map((row) => row.indexOf(Math.max(...row)));
console.log(
  `predicted classes of the first ${classes.length} test images: ${classes.slice(0, 20).join(' ')} …`,
);

if (args.expect) {
  const saved = JSON.parse(await readFile(join(args.run, 'predictions.json'), 'utf8')) as number[][];
  let maxDiff = 0;
  for (const [i, row] of saved.entries()) {
    for (const [j, p] of row.entries())
      maxDiff = Math.max(maxDiff, Math.abs(p - (predictions[i]?.[j] ?? Number.NaN)));
  }

  if (saved.length !== predictions.length || !(maxDiff <= 1e-5)) {
    console.error(`predictions differ from the ones saved at training time (max |Δ| ${maxDiff})`);
    process.exit(1);
  }
  console.log(`the same predictions as at training time (max |Δ| ${maxDiff})`);
}
model.dispose();
