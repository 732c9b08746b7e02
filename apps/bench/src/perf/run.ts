// `perf`'s measurement: for every model, rounds of our training and inference speed, alternating with the
// PyTorch reference when asked, then the medians and the median of the rounds' ratios.
import { cpus } from 'node:os';
import { type BackendInfo, initBackend } from '@resnet/backend';
import { type FastKernelsInfo, registerFastKernels, unregisterFastKernels } from '@resnet/backend/internals';
import { MomentumSgd } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { median } from '../stats.js';
import { modelConfig } from './models.js';
import { type PytorchRow, runPytorch } from './pytorch.js';
import { inferenceStep, medianMs, profileStep, trainingStep } from './timing.js';
import type { PerfOptions, PerfResult, PerfRound } from './types.js';

async function threadsInUse(info: BackendInfo): Promise<number> {
  if (info.name === 'wasm')
    return info.threads ?? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  if (info.name === 'tensorflow') return cpus().length;
  return 1;
}

/** Measures every model of `options`; prints progress lines through `log`. */
export async function runPerf(
  options: PerfOptions,
  log: (line: string) => void = () => {},
): Promise<PerfResult[]> {
  // Chosen before initBackend: the wasm thread count can only be set before the wasm backend starts (it
  // applies to wasm only, whichever backend 'auto' then picks). --stock records 'off' explicitly, so that
  // initBackend's own registerFastKernels call keeps it off.
  const choice = options.stock
    ? { threads: 1, batchNorm: false, sharedIdentity: false, native: false }
    : { threads: options.threads, batchNorm: true, sharedIdentity: true, native: true };
  if (options.stock) unregisterFastKernels();
  registerFastKernels('wasm', choice);
  const info = await initBackend({ backend: options.backend });
  const fast: FastKernelsInfo = registerFastKernels(info.name);
  const threads = await threadsInUse(info);
  log(
    `backend ${info.name} (${info.package}), ${threads} thread(s), ${options.stock ? 'stock tfjs' : 'fast kernels'}`,
  );

  const rounds = options.rounds ?? 1;
  const results: PerfResult[] = [];
  for (const name of options.models) {
    const { depth, build } = modelConfig(name);
    const model = build();
    const classes = model.outputs[0]!.shape[1] as number;
    const [height, width, channels] = model.inputs[0]!.shape.slice(1) as [number, number, number];
    const images = tf.randomNormal(
      [options.batch, height, width, channels],
      0,
      1,
      'float32',
      1,
    ) as tf.Tensor4D;
    const labels = tf.tidy(() =>
      tf.oneHot(tf.randomUniform([options.batch], 0, classes, 'int32', 2) as tf.Tensor1D, classes),
    ) as tf.Tensor2D;
    const optimizer = new MomentumSgd(model.trainableWeights);
    const step = trainingStep(model, images, labels, optimizer);
    const measured: PerfRound[] = [];
    const inference: number[] = [];
    const pytorchInference: number[] = [];
    let pytorchVersion: string | null = null;
    let pytorchNote: string | null = null;
    for (let round = 0; round < rounds; round++) {
      const trainMs = await medianMs(step, options.warmup, options.steps);
      inference.push(await medianMs(inferenceStep(model, images), options.warmup, options.steps));
      const ours = (options.batch * 1000) / trainMs;
      let reference: PytorchRow | undefined;
      if (options.vsPytorch && pytorchNote === null) {
        const answer = await runPytorch(options, [depth], threads);
        if ('error' in answer) pytorchNote = answer.error;
        else {
          pytorchVersion = answer.version;
          reference = answer.rows.find((r) => r.depth === depth);
        }
      }
      if (reference !== undefined) pytorchInference.push(reference.inferenceImagesPerSec);
      measured.push({
        trainImagesPerSec: ours,
        pytorchTrainImagesPerSec: reference?.trainImagesPerSec ?? null,
        ratio: reference === undefined ? null : ours / reference.trainImagesPerSec,
      });
      log(
        `${name}${rounds > 1 ? ` round ${round + 1}/${rounds}` : ''}: train ${ours.toFixed(1)} img/s` +
          (reference === undefined
            ? ''
            : `, PyTorch ${reference.trainImagesPerSec.toFixed(1)} img/s, ratio ${(ours / reference.trainImagesPerSec).toFixed(3)}`),
      );
    }
    const profile = options.profile ? await profileStep(step) : undefined;
    const params = model.countParams();
    optimizer.dispose();
    images.dispose();
    labels.dispose();
    model.dispose();
    const medianOf = (values: Array<number | null>) => {
      const present = values.filter((value): value is number => value !== null);
      return present.length === 0 ? null : median(present);
    };
    const trainImagesPerSec = median(measured.map((r) => r.trainImagesPerSec));
    const inferenceImagesPerSec = (options.batch * 1000) / median(inference);
    const pytorchInferenceImagesPerSec = medianOf(pytorchInference);
    const row: PerfResult = {
      model: name,
      depth,
      batch: options.batch,
      backend: info.name,
      threads,
      fast: fast.batchNorm,
      params,
      trainStepMs: (options.batch * 1000) / trainImagesPerSec,
      trainImagesPerSec,
      inferenceImagesPerSec,
      pytorchTrainImagesPerSec: medianOf(measured.map((r) => r.pytorchTrainImagesPerSec)),
      pytorchInferenceImagesPerSec,
      ratio: medianOf(measured.map((r) => r.ratio)),
      inferenceRatio:
        pytorchInferenceImagesPerSec === null ? null : inferenceImagesPerSec / pytorchInferenceImagesPerSec,
      pytorchVersion,
      pytorchNote,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      rounds: measured,
      ...(profile === undefined ? {} : { profile }),
    };
    results.push(row);
  }
  return results;
}
