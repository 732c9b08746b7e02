// The training worker: everything that touches TensorFlow.js runs here, so the page stays responsive. It
// initialises the backend (@resnet/backend's browser entry), reads and checks the data the user chose
// (@resnet/data-cifar's browser entry), builds each row's network (@resnet/models) and trains the rows side
// by side with @resnet/trainer's browser entry (two train() loops on one backend, taking turns at each
// iteration's yield), reporting every metrics record, the speed and the strip's predictions to the page.
import { type BackendChoice, type BackendInfo, initBackend } from '@resnet/backend';
import {
  CifarDataError,
  type CifarSplit,
  cifarFromBuffers,
  cifarFromFiles,
  computeNormalization,
  DATASETS,
  evalBatches,
  type Normalization,
  PIXELS,
  readCifarArchive,
  syntheticCifarFiles,
  trainBatches,
} from '@resnet/data-cifar';
import { countParameters, getPreset, type ResNetConfig, resnet } from '@resnet/models';
import { type BatchSource, type MetricsRecord, readCheckpoint, restoreWeights, train } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { jsonArtifact, jsonLinesArtifact, modelArtifacts } from './artifacts.js';
import type {
  DataChoice,
  DataSummary,
  PageMessage,
  RowInfo,
  Strip,
  Top3,
  TrainSettings,
  WorkerMessage,
} from './protocol.js';
import { describeSchedule, runSchedule, scheduleData } from './schedule.js';

/** The worker's global scope, as far as this file uses it (the page's tsconfig has DOM's types, not WebWorker's). */
const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
  crossOriginIsolated: boolean;
  navigator: { hardwareConcurrency: number };
};
/** The cores the browser reports, read before useThreads changes what tfjs sees. */
const cores = scope.navigator.hardwareConcurrency;

const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

/** Images per evaluation batch: inference keeps no gradients, so larger batches are cheap (the bench's 250). */
const EVAL_BATCH = 250;
/** Images in the strip of predictions: one per class where the test split has them. */
const STRIP_IMAGES = 10;
const CIFAR10 = DATASETS.cifar10;

interface LoadedData {
  train: CifarSplit;
  test: CifarSplit;
  classNames: string[];
  normalization: Normalization;
  summary: DataSummary;
  /** The strip's images as one split (for evalBatches), and where they sit in the test split. */
  strip: CifarSplit;
}

let backend: BackendInfo | undefined;
let data: LoadedData | undefined;
let run: Run | undefined;

/**
 * `?threads=N`: XNNPACK's threads in tfjs's threaded wasm build (which tfjs loads where the page is
 * cross-origin isolated). tfjs gives it half of navigator.hardwareConcurrency (at most 4), assuming two hardware
 * threads per core, and caps any count asked for there too; its wasm reads that number once, as it starts, so
 * the worker reports twice the count asked for until then. Left out, tfjs's own count stands: on the 2-core
 * development machine one thread trained faster than two (README, "Speed"). @resnet/backend's browser entry
 * has no thread option.
 */
async function useThreads(count: number): Promise<void> {
  Object.defineProperty(scope.navigator, 'hardwareConcurrency', { value: 2 * count, configurable: true });
  (await import('@tensorflow/tfjs-backend-wasm')).setThreadsCount(count);
}

/** Holds the training loops' next batch while paused. */
class Gate {
  private waiters: Array<() => void> = [];
  paused = false;

  wait(): Promise<void> | undefined {
    return this.paused ? new Promise((resolve) => this.waiters.push(resolve)) : undefined;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/** Training time without pauses, and the images trained in it (both rows): the page's images/s. */
class Clock {
  private since: number | undefined;
  private seconds = 0;
  images = 0;

  start(): void {
    this.since ??= performance.now();
  }

  stop(): void {
    if (this.since !== undefined) this.seconds += (performance.now() - this.since) / 1000;
    this.since = undefined;
  }

  elapsed(): number {
    return this.seconds + (this.since === undefined ? 0 : (performance.now() - this.since) / 1000);
  }
}

interface Run {
  settings: TrainSettings;
  gate: Gate;
  clock: Clock;
  controller: AbortController;
}

function describeError(error: unknown): string {
  if (error instanceof CifarDataError) {
    const advice =
      error.code === 'unofficial'
        ? 'Tick “use files that are not the official ones” to train on them anyway: the downloaded config.json then lists every file with its SHA-256 and origin.'
        : `Choose the official ${CIFAR10.archiveName} (${CIFAR10.archiveBytes.toLocaleString('en-US')} bytes) or the extracted ${CIFAR10.folder} folder.`;
    return `${error.detail} ${advice}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The first test image of each class (in class order), then further images until there are STRIP_IMAGES. */
function stripIndices(test: CifarSplit): number[] {
  const chosen: number[] = [];
  for (let label = 0; label < 10; label++) {
    const at = test.labels.indexOf(label);
    if (at >= 0) chosen.push(at);
  }
  for (let i = 0; chosen.length < Math.min(STRIP_IMAGES, test.size); i++) {
    if (!chosen.includes(i)) chosen.push(i);
  }
  return chosen.slice(0, STRIP_IMAGES);
}

function subset(split: CifarSplit, indices: readonly number[]): CifarSplit {
  const images = new Uint8Array(indices.length * PIXELS);
  indices.forEach((index, k) => {
    images.set(split.images.subarray(index * PIXELS, (index + 1) * PIXELS), k * PIXELS);
  });
  return { images, labels: Uint8Array.from(indices.map((i) => split.labels[i]!)), size: indices.length };
}

function firstImages(split: CifarSplit, count: number): CifarSplit {
  const size = Math.min(count, split.size);
  return {
    images: split.images.subarray(0, size * PIXELS),
    labels: split.labels.subarray(0, size),
    size,
  };
}

async function loadData(choice: DataChoice): Promise<LoadedData> {
  const started = performance.now();
  let parsed: { train: CifarSplit; test: CifarSplit; classNames: string[] };
  let summary: Omit<DataSummary, 'seconds' | 'train' | 'test'>;
  if (choice.kind === 'synthetic') {
    const files = syntheticCifarFiles({ dataset: 'cifar10', ...choice });
    const buffers = cifarFromBuffers({
      dataset: 'cifar10',
      train: CIFAR10.trainFiles.map((f) => files.get(f.name)!),
      test: files.get(CIFAR10.testFiles[0]!.name)!,
      classNames: new TextDecoder().decode(files.get(CIFAR10.nameFiles.fine)!),
    });
    parsed = { ...buffers, classNames: buffers.classNames! };
    summary = {
      source: `generated in the page (seed ${choice.seed})`,
      synthetic: true,
      official: false,
      files: [],
    };
  } else {
    const common = { dataset: 'cifar10' as const, allowUnofficial: choice.allowUnofficial };
    if (choice.kind === 'archive') {
      post({ type: 'status', text: `reading ${choice.file.name}: gunzip, untar and MD5…` });
      const archive = await readCifarArchive(choice.file, { dataset: 'cifar10', name: choice.file.name });
      post({ type: 'status', text: `checking and parsing ${archive.files.size} files…` });
      const read = await cifarFromFiles(archive.files, { ...common, archive, source: choice.file.name });
      parsed = read;
      summary = {
        source: read.source,
        synthetic: false,
        official: read.official,
        archive: { md5: archive.md5, official: archive.official },
        files: read.files,
      };
    } else {
      const byName = new Map(choice.files.map((file) => [file.name, file]));
      const folder = choice.files[0]?.webkitRelativePath.split('/')[0] || CIFAR10.folder;
      post({ type: 'status', text: `checking and parsing ${folder}…` });
      const read = await cifarFromFiles(byName, { ...common, source: folder });
      parsed = read;
      summary = { source: read.source, synthetic: false, official: read.official, files: read.files };
    }
  }
  const strip = subset(parsed.test, stripIndices(parsed.test));
  return {
    train: parsed.train,
    test: parsed.test,
    classNames: parsed.classNames,
    normalization: computeNormalization(parsed.train, 'per-channel'),
    strip,
    summary: {
      ...summary,
      train: parsed.train.size,
      test: parsed.test.size,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/** Each strip image's three most probable classes under `model` (whose predict gives probabilities). */
async function predictStrip(model: tfl.LayersModel, loaded: LoadedData): Promise<Top3[]> {
  const rows: Top3[] = [];
  for await (const batch of evalBatches(loaded.strip, {
    batchSize: loaded.strip.size,
    normalization: loaded.normalization,
  })) {
    const probabilities = tf.tidy(() => model.predict(batch.xs) as tf.Tensor2D);
    tf.dispose([batch.xs, batch.ys]);
    const values = (await probabilities.array()) as number[][];
    probabilities.dispose();
    for (const p of values) {
      const order = p.map((probability, label) => ({ label, probability }));
      order.sort((a, b) => b.probability - a.probability);
      rows.push(order.slice(0, 3));
    }
  }
  return rows;
}

async function startTraining(settings: TrainSettings): Promise<void> {
  if (!data) throw new Error('choose the data first');
  if (run) throw new Error('a run is in progress: stop it first');
  const loaded = data;
  const schedule = runSchedule(settings.iterations);
  const lrSchedule = scheduleData(schedule, settings.iterations);
  const scheduleText = describeSchedule(lrSchedule, settings.iterations);
  const current: Run = {
    settings,
    gate: new Gate(),
    clock: new Clock(),
    controller: new AbortController(),
  };
  run = current;
  const test = firstImages(loaded.test, settings.testImages);
  const rows = settings.rows.map((name) => {
    const preset = getPreset(name);
    const model = resnet({ ...preset.config, depth: settings.depth, classes: 10, seed: settings.seed });
    const info: RowInfo = {
      id: name,
      preset: name,
      label: preset.description,
      parameters: countParameters(model).params,
    };
    return { preset, model, info };
  });
  post({ type: 'rows', rows: rows.map((r) => r.info), schedule: scheduleText, scheduleData: lrSchedule });
  post({ type: 'state', state: 'training' });
  const total = settings.iterations * rows.length;
  let done = 0;
  let lastSpeed = 0;
  const reportSpeed = (force = false) => {
    const now = performance.now();
    if (!force && now - lastSpeed < 400) return;
    lastSpeed = now;
    const seconds = current.clock.elapsed();
    const imagesPerSecond = seconds > 0 ? current.clock.images / seconds : 0;
    const left = (total - done) * settings.batchSize;
    post({
      type: 'speed',
      imagesPerSecond,
      secondsLeft: imagesPerSecond > 0 ? left / imagesPerSecond : Number.NaN,
      iterationsDone: done,
      iterationsTotal: total,
    });
  };
  current.clock.start();
  try {
    await Promise.all(
      rows.map(async ({ preset, model, info }) => {
        const source = trainBatches(loaded.train, {
          batchSize: settings.batchSize,
          normalization: loaded.normalization,
          augment: true,
          seed: settings.seed,
          dropLast: true,
        });
        // Predictions are read between iterations (in the next batch's request), never while the trainer counts
        // live tensors between an evaluation and its record.
        let predictionsDue: number | undefined;
        const gated: BatchSource = {
          next: async () => {
            if (predictionsDue !== undefined) {
              const iteration = predictionsDue;
              predictionsDue = undefined;
              post({ type: 'predictions', row: info.id, iteration, top3: await predictStrip(model, loaded) });
            }
            const waiting = current.gate.wait();
            if (waiting) await waiting;
            return source.next();
          },
          getState: () => source.getState(),
          setState: (state) => source.setState(state),
        };
        const records: MetricsRecord[] = [];
        const config = runConfig(preset.name, info, settings, lrSchedule, scheduleText, loaded, backend);
        try {
          const result = await train({
            model,
            data: gated,
            iterations: settings.iterations,
            schedule,
            evaluate: {
              every: settings.evaluateEvery,
              batches: () =>
                evalBatches(test, { batchSize: EVAL_BATCH, normalization: loaded.normalization }),
            },
            logEvery: settings.logEvery,
            seed: settings.seed,
            config: config as unknown as Record<string, unknown>,
            itersPerEpoch: Math.floor(loaded.train.size / settings.batchSize),
            signal: current.controller.signal,
            callbacks: {
              onLog: (record) => {
                records.push(record);
                post({ type: 'record', row: info.id, record });
              },
              onStepEnd: ({ batchSize }) => {
                done++;
                current.clock.images += batchSize;
                reportSpeed();
              },
              onEvaluate: ({ iteration }) => {
                predictionsDue = iteration;
              },
            },
          });
          post({
            type: 'predictions',
            row: info.id,
            iteration: result.iteration,
            top3: await predictStrip(model, loaded),
          });
          post({
            type: 'finished',
            row: info.id,
            status: result.status,
            iteration: result.iteration,
            ...(result.test ? { testError: result.test.error } : {}),
          });
          const files = [
            ...(await modelArtifacts(model)),
            jsonLinesArtifact('metrics.jsonl', records),
            jsonArtifact('config.json', { ...config, result: { ...result, test: result.test ?? null } }),
          ];
          post(
            { type: 'artifacts', row: info.id, files },
            files.map((f) => f.bytes.buffer as ArrayBuffer),
          );
        } finally {
          source.close();
          model.dispose();
        }
      }),
    );
  } finally {
    current.clock.stop();
    reportSpeed(true);
    run = undefined;
    post({ type: 'state', state: 'done' });
  }
}

/**
 * What config.json holds: the bench's run fields (row, preset, model, iterations, batch size, schedule in
 * words and as data, optimiser, normalisation, evaluation, data identity), plus what only the page knows: the
 * normalisation's statistics (a model loaded back needs them), the backend it trained on, and the browser.
 */
function runConfig(
  preset: string,
  info: RowInfo,
  settings: TrainSettings,
  lrSchedule: ReturnType<typeof scheduleData>,
  schedule: string,
  loaded: LoadedData,
  on: BackendInfo | undefined,
) {
  const config = getPreset(preset).config;
  return {
    table: preset.startsWith('t1-') ? 1 : 2,
    row: preset.replace(/^t\d-/, ''),
    label: info.label,
    preset,
    run: 1,
    baseSeed: settings.seed,
    seed: settings.seed,
    scale: 'web',
    shrinks: [
      `depth: ${config.depth} → ${settings.depth}`,
      `iterations: 64,000 → ${settings.iterations}, mini-batch 128 → ${settings.batchSize}, schedule scaled with the iterations`,
      `test error measured on the first ${Math.min(settings.testImages, loaded.test.size)} test images`,
      'runs per row: 5 → 1',
    ],
    comparable: false,
    dataset: 'cifar10',
    data: loaded.summary.synthetic ? 'synthetic' : 'real',
    model: { ...config, depth: settings.depth, seed: settings.seed, classes: 10 },
    iterations: settings.iterations,
    batchSize: settings.batchSize,
    schedule,
    lrSchedule,
    epochs: null,
    loss: 'log-softmax',
    optimizer: { momentum: 0.9, nesterov: false, weightDecay: 1e-4, noDecay: [] },
    normalization: 'per-channel',
    normalizationStats: loaded.normalization,
    augment: true,
    evaluateEvery: settings.evaluateEvery,
    testImages: settings.testImages,
    runs: 1,
    dataIdentity: {
      official: loaded.summary.official,
      source: loaded.summary.source,
      ...(loaded.summary.archive ? { archive: loaded.summary.archive } : {}),
      files: loaded.summary.files.map(({ split, name, records, sha256, origin }) => ({
        split,
        name,
        records,
        sha256,
        origin,
      })),
      splits: {
        train: loaded.train.size,
        validation: 0,
        test: loaded.test.size,
        testEvaluated: Math.min(settings.testImages, loaded.test.size),
      },
    },
    environment: {
      backend: on?.name ?? tf.getBackend(),
      threads: on?.threads ?? null,
      tfjs: tf.version_core,
      userAgent: navigator.userAgent,
    },
  };
}

/** What loadModel reads of a config.json: the page's (with the statistics it normalised by) or the bench's. */
interface SavedConfig {
  label?: string;
  preset?: string;
  model?: ResNetConfig;
  normalizationStats?: Normalization;
}

/**
 * A trained model chosen by the user: `model.json` with its weights file (what a row here offers, or any
 * `model.save`), or a bench run folder's `config.json` with its `final.ckpt` (the network rebuilt from the
 * config's `model`, its weights read from the checkpoint by @resnet/trainer). The strip shows its predictions.
 */
async function loadModel(files: File[]): Promise<void> {
  if (!data) throw new Error('choose the data first: the strip of test images comes from it');
  const loaded = data;
  const configFile = files.find((file) => file.name === 'config.json');
  const config = configFile ? (JSON.parse(await configFile.text()) as SavedConfig) : undefined;
  const json = files.find((file) => file.name.endsWith('.json') && file !== configFile);
  const checkpoint = files.find((file) => file.name.endsWith('.ckpt'));
  let model: tfl.LayersModel;
  let name: string;
  if (json) {
    const weights = files.filter(
      (file) => file !== json && file !== configFile && !file.name.endsWith('.json'),
    );
    model = await tfl.loadLayersModel(tf.io.browserFiles([json, ...weights]));
    name = json.name;
  } else if (checkpoint && config?.model) {
    const ckpt = await readCheckpoint(new Uint8Array(await checkpoint.arrayBuffer()), checkpoint.name);
    model = resnet({ ...config.model, classes: config.model.classes ?? 10 });
    try {
      restoreWeights(model.weights, ckpt);
    } catch (error) {
      model.dispose();
      throw error;
    }
    name = `${checkpoint.name} (iteration ${ckpt.iteration})`;
  } else {
    throw new Error(
      'choose a model.json with its weights.bin (the files a row here offers), or a bench run folder’s ' +
        'config.json with its final.ckpt',
    );
  }
  try {
    // A model trained here records the normalisation it trained with; otherwise (the bench's) it is the
    // per-channel statistics of the training split loaded here, which is what the bench uses on the same data.
    const normalization = config?.normalizationStats ?? loaded.normalization;
    const parameters = `${countParameters(model).params.toLocaleString('en-US')} parameters`;
    const what = config?.label ?? config?.preset;
    post({
      type: 'loaded-model',
      name,
      description: what ? `${what} (${parameters})` : `${model.name}: ${parameters}`,
      top3: await predictStrip(model, { ...loaded, normalization }),
    });
  } finally {
    model.dispose();
  }
}

async function handle(message: PageMessage): Promise<void> {
  switch (message.type) {
    case 'init': {
      if (message.threads !== undefined && scope.crossOriginIsolated) await useThreads(message.threads);
      backend = await initBackend({
        backend: message.backend as BackendChoice,
        wasmPaths: message.wasmPaths,
      });
      post({
        type: 'backend',
        info: backend,
        crossOriginIsolated: scope.crossOriginIsolated,
        hardwareConcurrency: cores,
      });
      return;
    }
    case 'load-data': {
      if (run) throw new Error('stop the run before choosing other data');
      data = undefined;
      data = await loadData(message.data);
      const strip: Strip = {
        images: data.strip.images.slice(),
        labels: Array.from(data.strip.labels),
        classNames: data.classNames,
      };
      post({ type: 'data', summary: data.summary, strip });
      return;
    }
    case 'start':
      await startTraining(message.settings);
      return;
    case 'pause':
      if (run && !run.gate.paused) {
        run.gate.pause();
        run.clock.stop();
        post({ type: 'state', state: 'paused' });
      }
      return;
    case 'resume':
      if (run?.gate.paused) {
        run.clock.start();
        run.gate.resume();
        post({ type: 'state', state: 'training' });
      }
      return;
    case 'stop':
      if (run) {
        run.controller.abort();
        run.gate.resume();
        post({ type: 'state', state: 'stopping' });
      }
      return;
    case 'load-model':
      await loadModel(message.files);
      return;
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((error: unknown) => post({ type: 'error', message: describeError(error) }));
};
