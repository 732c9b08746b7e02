// `perf`: training and inference speed of whole networks on the active TensorFlow.js backend, with an optional
// PyTorch reference (apps/bench/pytorch/perf_reference.py: same network, batch and thread count) run in the
// same invocation, so that a ratio ours/PyTorch is measured side by side on the same machine.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BackendChoice, type BackendInfo, initBackend } from '@resnet/backend';
import { type FastKernelsInfo, registerFastKernels, unregisterFastKernels } from '@resnet/backend/internals';
import { getPreset, resnet } from '@resnet/models';
import { MomentumSgd } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseList, parsePositiveInt } from './shared.js';

const execFileAsync = promisify(execFile);

/** Options of {@link runPerf}. */
export interface PerfOptions {
  /** Preset names of @resnet/models, or `preact-resnet<depth>` / `resnet<depth>` for any 6n+2 depth. */
  models: string[];
  batch: number;
  backend: BackendChoice;
  /** Timed steps (the median is reported); each measurement first runs `warmup` untimed steps. */
  steps: number;
  warmup: number;
  /** wasm threads; default every core (at most 8). */
  threads?: number;
  /** Measure tfjs as shipped: no closed-form BN gradient, no native kernels, single-threaded wasm. */
  stock: boolean;
  /** Also run the PyTorch reference. */
  vsPytorch: boolean;
  /** Python interpreters to try, in order; the first that imports torch runs the reference. */
  python: string[];
  /** Also time each kernel of one training step (tf.profile). */
  profile?: boolean;
  /**
   * Measurements per model, ours and PyTorch's alternating (default 1): the figures reported are medians
   * over rounds, and the ratio is the median of the rounds' ratios, each measured minutes apart at most, so
   * that a shared machine's drifting load weighs on both sides alike.
   */
  rounds?: number;
}

/** One round of one model: ours, then (with vsPytorch) PyTorch's, measured back to back. */
export interface PerfRound {
  trainImagesPerSec: number;
  pytorchTrainImagesPerSec: number | null;
  ratio: number | null;
}

/** Time spent in one kernel over one training step. */
export interface KernelTime {
  kernel: string;
  ms: number;
  /** Fraction of the summed kernel time. */
  share: number;
}

/** One row of `perf --json`. */
export interface PerfResult {
  model: string;
  depth: number;
  batch: number;
  backend: string;
  /** Threads our kernels ran on (wasm: XNNPACK's pool; tensorflow: every core; cpu: 1). */
  threads: number;
  /** Whether @resnet/backend's faster kernels were on (false with --stock). */
  fast: boolean;
  params: number;
  trainStepMs: number;
  trainImagesPerSec: number;
  inferenceImagesPerSec: number;
  pytorchTrainImagesPerSec: number | null;
  pytorchInferenceImagesPerSec: number | null;
  /** trainImagesPerSec / pytorchTrainImagesPerSec. */
  ratio: number | null;
  inferenceRatio: number | null;
  pytorchVersion: string | null;
  /** Why there is no PyTorch figure, when asked for and missing. */
  pytorchNote: string | null;
  /** With `profile`: kernels of one training step, slowest first. */
  profile?: KernelTime[];
  /** Every round's figures (trainImagesPerSec, pytorchTrainImagesPerSec and ratio are their medians). */
  rounds: PerfRound[];
  /** Peak resident memory of this process so far (after this model), MiB. */
  peakRssMB: number;
}

interface PytorchRow {
  model: string;
  depth: number;
  trainImagesPerSec: number;
  inferenceImagesPerSec: number;
}

/** A model name to a @resnet/models config: a preset, or a named preset with another 6n+2 depth. */
export function modelConfig(name: string): { depth: number; build: () => tfl.LayersModel } {
  let config: ReturnType<typeof getPreset>['config'];
  try {
    config = getPreset(name).config;
  } catch (error) {
    const match = /^(preact-)?resnet(\d+)$/.exec(name);
    if (match === null) throw error;
    config = { ...getPreset(`${match[1] ?? ''}resnet110`).config, depth: Number(match[2]) };
  }
  const order = config.order ?? 'full-preact';
  if ((config.unit ?? 'basic') !== 'basic' || order !== 'full-preact') {
    // The PyTorch reference implements the basic full pre-activation unit only; ours would run, but the
    // ratio would compare different networks.
    console.warn(`perf: ${name} is not a basic pre-activation ResNet; --vs-pytorch compares it with one`);
  }
  const resolved = { ...config, seed: 1 };
  return { depth: config.depth, build: () => resnet(resolved) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function medianMs(step: () => Promise<void>, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await step();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * Forward, softmax cross-entropy, backward and @resnet/trainer's update (SGD, momentum 0.9, weight decay
 * 1e-4 on every trainable weight): the iteration the trainer runs, on a fixed random batch.
 */
function trainStep(model: tfl.LayersModel, images: tf.Tensor4D, labels: tf.Tensor2D, optimizer: MomentumSgd) {
  return async () => {
    const loss = tf.tidy(() => {
      const variables = optimizer.weights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const probabilities = model.apply(images, { training: true }) as tf.Tensor;
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(tf.add(probabilities, 1e-7))), -1))) as tf.Scalar;
      }, variables);
      optimizer.apply(grads, 0.1);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
}

function inferenceStep(model: tfl.LayersModel, images: tf.Tensor4D) {
  return async () => {
    const out = tf.tidy(() => model.predict(images) as tf.Tensor);
    await out.data();
    out.dispose();
  };
}

/**
 * Kernel times of one step. tf.profile also lists op scopes (`…__op`) and custom-gradient ops, which contain
 * kernels listed on their own: they are left out so that shares add up to the step's kernel time.
 */
async function profileStep(step: () => Promise<void>): Promise<KernelTime[]> {
  const info = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const kernel of info.kernels) {
    if (kernel.name.endsWith('__op') || kernel.name === 'unnamed scope') continue;
    const ms = await kernel.kernelTimeMs;
    if (typeof ms === 'number') byKernel.set(kernel.name, (byKernel.get(kernel.name) ?? 0) + ms);
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0) || 1;
  return [...byKernel].map(([kernel, ms]) => ({ kernel, ms, share: ms / total })).sort((a, b) => b.ms - a.ms);
}

async function threadsInUse(info: BackendInfo): Promise<number> {
  if (info.name === 'wasm')
    return info.threads ?? (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  if (info.name === 'tensorflow') return cpus().length;
  return 1;
}

/** Runs the PyTorch reference; resolves to its rows, or to the reason it could not run. */
async function runPytorch(
  options: PerfOptions,
  depths: number[],
  threads: number,
): Promise<{ rows: PytorchRow[]; version: string } | { error: string }> {
  const script = fileURLToPath(new URL('../../pytorch/perf_reference.py', import.meta.url));
  const args = [
    script,
    '--depths',
    depths.join(','),
    '--batch',
    String(options.batch),
    '--threads',
    String(threads),
    '--steps',
    String(options.steps),
    '--warmup',
    String(options.warmup),
  ];
  const failures: string[] = [];
  for (const python of options.python) {
    try {
      const { stdout } = await execFileAsync(python, args, { maxBuffer: 1 << 20 });
      const parsed = JSON.parse(stdout) as { torch: string; results: PytorchRow[] };
      return { rows: parsed.results, version: parsed.torch };
    } catch (error) {
      const failure = error as { code?: unknown; stdout?: string; message: string };
      const detail =
        failure.code === 'ENOENT' ? 'not found' : (failure.stdout?.trim() || failure.message).slice(0, 300);
      failures.push(`${python}: ${detail}`);
    }
  }
  return {
    error:
      `PyTorch is not available (${failures.join('; ')}). Install it (Debian: apt-get install python3-torch) ` +
      'or name an interpreter with --python',
  };
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
    const step = trainStep(model, images, labels, optimizer);
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

function formatTable(results: PerfResult[]): string {
  const header = [
    'model',
    'batch',
    'backend',
    'thr',
    'train img/s',
    'infer img/s',
    'torch train',
    'ratio',
    'torch infer',
    'ratio',
    'peak RSS',
  ];
  const fixed = (value: number | null, digits = 1) => (value === null ? '—' : value.toFixed(digits));
  const rows = results.map((r) => [
    r.model,
    String(r.batch),
    r.fast ? r.backend : `${r.backend} (stock)`,
    String(r.threads),
    fixed(r.trainImagesPerSec),
    fixed(r.inferenceImagesPerSec),
    fixed(r.pytorchTrainImagesPerSec),
    r.ratio === null ? '—' : `${r.ratio.toFixed(3)}×`,
    fixed(r.pytorchInferenceImagesPerSec),
    r.inferenceRatio === null ? '—' : `${r.inferenceRatio.toFixed(3)}×`,
    `${r.peakRssMB.toFixed(0)} MiB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function parseBackend(value: string): BackendChoice {
  const choices = ['auto', 'tensorflow', 'wasm', 'cpu'];
  if (!choices.includes(value))
    throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got '${value}'`);
  return value as BackendChoice;
}

function parseModels(value: string): string[] {
  const names = parseList(value);
  for (const name of names) {
    try {
      modelConfig(name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  return names;
}

/** Registers `perf` on the bench CLI. */
export function perfCommand(program: Command): Command {
  return program
    .command('perf')
    .description(
      'training and inference images/s of whole networks (median step after warm-up), peak memory, and with ' +
        '--vs-pytorch the same measurement in PyTorch on the same machine and the ratio ours/PyTorch',
    )
    .option(
      '--models <presets>',
      'comma-separated presets of @resnet/models (or preact-resnet<depth>)',
      parseModels,
      ['preact-resnet20', 'preact-resnet110'],
    )
    .option('--batch <n>', 'mini-batch size', parsePositiveInt, 128)
    .addOption(
      new Option('--backend <name>', 'auto | tensorflow | wasm | cpu')
        .default('auto')
        .argParser(parseBackend),
    )
    .option('--steps <n>', 'timed steps per measurement (the median is reported)', parsePositiveInt, 5)
    .option('--warmup <n>', 'untimed steps before timing', parsePositiveInt, 2)
    .option(
      '--rounds <n>',
      'measurements per model, alternating with PyTorch under --vs-pytorch; medians are reported',
      parsePositiveInt,
      1,
    )
    .option('--threads <n>', 'wasm threads (default: every core, at most 8)', parsePositiveInt)
    .option(
      '--stock',
      'tfjs as shipped: composed BN gradient, copying Identity, no native kernels, single-threaded wasm',
      false,
    )
    .option('--vs-pytorch', 'also run the PyTorch reference (python3 with torch) and print the ratio', false)
    .option('--python <paths>', 'Python interpreters to try for --vs-pytorch', parseList, [
      'python3',
      '/usr/bin/python3',
    ])
    .option(
      '--profile',
      'also time each kernel of one training step (tf.profile) and print the slowest',
      false,
    )
    .option('--json', 'print the results as a JSON array', false)
    .action(async (raw: PerfOptions & { json: boolean }) => {
      const options: PerfOptions = { ...raw, threads: raw.stock ? 1 : raw.threads };
      const results = await runPerf(options, raw.json ? undefined : (line) => console.log(line));
      if (raw.json) {
        console.log(JSON.stringify(results, null, 2));
        return;
      }
      console.log(`\n${formatTable(results)}`);
      for (const row of results.filter((r) => r.profile !== undefined)) {
        const top = row.profile!.slice(0, 12).map((k) => `${k.kernel} ${(100 * k.share).toFixed(1)}%`);
        console.log(`\n${row.model}, one training step by kernel: ${top.join(', ')}`);
      }
      const note = results.find((r) => r.pytorchNote !== null)?.pytorchNote;
      if (note) console.log(`\n${note}`);
      const cpu = cpus();
      console.log(
        `\nmachine: ${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}; Node ${process.version}`,
      );
    });
}
