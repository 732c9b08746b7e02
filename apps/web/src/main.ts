// The page: its controls, what the training worker reports (backend, data, records, speed, predictions,
// files), and the charts. TensorFlow.js runs only in the worker (worker.ts); this file draws. Everything the
// page shows is also kept on `window.resnetWeb`, which the Playwright test reads.
import type { BackendChoice, BackendInfo } from '@resnet/backend';
import type { LogRecord, MetricsRecord } from '@resnet/trainer';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { drawCurves } from './charts.js';
import type {
  DataChoice,
  DataSummary,
  PageMessage,
  RowInfo,
  RunState,
  Strip,
  Top3,
  TrainSettings,
  WorkerMessage,
} from './protocol.js';
import { COMPARISONS, DEPTHS, rowChoices } from './rows.js';

/** What the page has shown, for tests and for anyone curious in the console. */
export interface PageState {
  backend?: BackendInfo;
  crossOriginIsolated?: boolean;
  hardwareConcurrency?: number;
  data?: DataSummary;
  /** The test images shown with predictions. */
  strip?: Strip;
  rows: RowInfo[];
  schedule?: string;
  state: RunState;
  records: Record<string, LogRecord[]>;
  finished: Record<string, { status: string; iteration: number; testError?: number }>;
  predictions: Record<string, { iteration: number; top3: Top3[] }>;
  downloads: Record<string, Record<string, string>>;
  loadedModel?: { name: string; description: string; top3: Top3[] };
  speed?: { imagesPerSecond: number; secondsLeft: number; iterationsDone: number; iterationsTotal: number };
  chartsDrawn: number;
  errors: string[];
}

declare global {
  interface Window {
    resnetWeb: PageState;
  }
}

const state: PageState = {
  rows: [],
  state: 'idle',
  records: {},
  finished: {},
  predictions: {},
  downloads: {},
  chartsDrawn: 0,
  errors: [],
};
window.resnetWeb = state;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (message: PageMessage) => worker.postMessage(message);

// ---- backend ---------------------------------------------------------------------------------------------

const query = new URLSearchParams(location.search);
const requested = (query.get('backend') ?? 'auto') as BackendChoice;
// ?threads=N: XNNPACK's threads on wasm (default: tfjs's own count, half the cores the browser reports).
const threads = Number(query.get('threads')) || undefined;
send({
  type: 'init',
  backend: requested,
  ...(threads ? { threads } : {}),
  wasmPaths: {
    'tfjs-backend-wasm.wasm': new URL(wasmPlain, location.href).href,
    'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, location.href).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, location.href).href,
  },
});

function showBackend(info: BackendInfo, isolated: boolean, cores: number): void {
  const what =
    info.name === 'webgpu'
      ? `WebGPU on ${[info.adapter?.vendor, info.adapter?.architecture, info.adapter?.description].filter(Boolean).join(' ') || 'an adapter'}`
      : info.name === 'wasm'
        ? `WebAssembly on ${info.threads ?? 1} thread${info.threads === 1 ? '' : 's'} (of ${cores} cores)`
        : 'plain JavaScript (cpu): slow';
  const isolation = isolated
    ? 'cross-origin isolated'
    : 'not cross-origin isolated: wasm runs on one thread (serve the page with COOP/COEP headers)';
  $('backend').innerHTML =
    `<b>backend:</b> ${info.name} — ${what}; ${isolation}. ` +
    `Other backends: <a href="?backend=auto">auto</a> · <a href="?backend=webgpu">webgpu</a> · ` +
    `<a href="?backend=wasm">wasm</a> · <a href="?backend=cpu">cpu</a>`;
}

// ---- data ------------------------------------------------------------------------------------------------

const dataKind = () => (document.querySelector('input[name="data"]:checked') as HTMLInputElement).value;

for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="data"]')) {
  radio.addEventListener('change', () => {
    for (const box of document.querySelectorAll<HTMLElement>('.data-options')) {
      box.hidden = box.dataset['for'] !== dataKind();
    }
  });
}

function dataChoice(): DataChoice | string {
  const allowUnofficial = input('allow-unofficial').checked;
  switch (dataKind()) {
    case 'archive': {
      const file = input('archive-file').files?.[0];
      return file ? { kind: 'archive', file, allowUnofficial } : 'choose cifar-10-binary.tar.gz first';
    }
    case 'folder': {
      const files = [...(input('folder-files').files ?? [])];
      return files.length > 0
        ? { kind: 'folder', files, allowUnofficial }
        : 'choose the cifar-10-batches-bin folder first';
    }
    default:
      return {
        kind: 'synthetic',
        trainCount: Number(input('synthetic-train').value),
        testCount: Number(input('synthetic-test').value),
        seed: 1,
      };
  }
}

$('load-data').addEventListener('click', () => {
  const choice = dataChoice();
  if (typeof choice === 'string') return showError(choice);
  clearError();
  $('data-summary').textContent = 'reading…';
  send({ type: 'load-data', data: choice });
});

function showData(summary: DataSummary, strip: Strip): void {
  const n = (x: number) => x.toLocaleString('en-US');
  const images = `${n(summary.train)} training and ${n(summary.test)} test images`;
  const took = `read in ${summary.seconds.toFixed(1)} s`;
  if (summary.synthetic) {
    $('data-summary').textContent =
      `${images} ${summary.source}: not CIFAR-10, so their errors say nothing about the paper; ${took}`;
  } else {
    const check = summary.official
      ? `every file official${summary.archive ? ` (archive MD5 ${summary.archive.md5})` : ' (MD5)'}`
      : `NOT the official files: ${summary.files
          .filter((f) => f.origin !== 'official' && f.origin !== 'official-archive')
          .map((f) => `${f.name} (${f.origin})`)
          .join(', ')}`;
    $('data-summary').textContent = `${images} from ${summary.source}; ${check}; ${took}`;
  }
  drawStrip(strip);
  ($('start') as HTMLButtonElement).disabled = false;
}

// ---- rows and settings -----------------------------------------------------------------------------------

const choices = rowChoices();
const rowList = $('row-list');
for (const table of ['Table 1', 'Table 2']) {
  const group = document.createElement('fieldset');
  group.innerHTML = `<legend>${table}</legend>`;
  for (const row of choices.filter((c) => c.table === table)) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" value="${row.preset}" /> ${row.label}`;
    group.append(label);
  }
  rowList.append(group);
}
const rowBoxes = () => [...rowList.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')];
const choose = (presets: readonly string[]) => {
  for (const box of rowBoxes()) box.checked = presets.includes(box.value);
};
for (const comparison of COMPARISONS) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = comparison.title;
  button.addEventListener('click', () => choose(comparison.rows));
  $('comparisons').append(button);
}
choose(COMPARISONS[0]!.rows);

const depthSelect = $<HTMLSelectElement>('depth');
for (const depth of DEPTHS)
  depthSelect.add(new Option(`ResNet-${depth}`, String(depth), false, depth === 20));

function settings(): TrainSettings | string {
  const rows = rowBoxes()
    .filter((box) => box.checked)
    .map((box) => box.value);
  if (rows.length < 2) return 'choose at least two rows to compare';
  const iterations = Number(input('iterations').value);
  const numbers = {
    batch: Number(input('batch').value),
    iterations,
    evaluateEvery: Number(input('evaluate-every').value),
    testImages: Number(input('test-images').value),
  };
  for (const [name, value] of Object.entries(numbers)) {
    if (!Number.isInteger(value) || value < 1) return `${name} must be a positive whole number`;
  }
  return {
    rows,
    depth: Number(depthSelect.value),
    batchSize: numbers.batch,
    iterations,
    evaluateEvery: numbers.evaluateEvery,
    testImages: numbers.testImages,
    // About a hundred points per curve: one record per logging interval.
    logEvery: Math.max(1, Math.round(iterations / 100)),
    seed: Number(input('seed').value) || 0,
  };
}

// ---- controls --------------------------------------------------------------------------------------------

const button = (id: string) => $<HTMLButtonElement>(id);

button('start').addEventListener('click', () => {
  const chosen = settings();
  if (typeof chosen === 'string') return showError(chosen);
  clearError();
  for (const key of Object.keys(state.records)) delete state.records[key];
  for (const key of Object.keys(state.finished)) delete state.finished[key];
  for (const key of Object.keys(state.predictions)) delete state.predictions[key];
  for (const key of Object.keys(state.downloads)) delete state.downloads[key];
  $('downloads').innerHTML = '';
  send({ type: 'start', settings: chosen });
});
button('pause').addEventListener('click', () =>
  send({ type: state.state === 'paused' ? 'resume' : 'pause' }),
);
button('stop').addEventListener('click', () => send({ type: 'stop' }));

function showState(next: RunState): void {
  state.state = next;
  const running = next === 'training' || next === 'paused';
  button('start').disabled = running || next === 'stopping' || !state.data;
  button('pause').disabled = !running;
  button('pause').textContent = next === 'paused' ? 'Resume' : 'Pause';
  button('stop').disabled = !running;
  $('load-data').toggleAttribute('disabled', running || next === 'stopping');
  document.body.dataset['state'] = next;
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '…';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function showProgress(): void {
  const speed = state.speed;
  if (!speed) return;
  const finished = state.state === 'done';
  $('progress').textContent =
    `${state.state}: ${speed.iterationsDone} of ${speed.iterationsTotal} iterations (all rows), ` +
    `${speed.imagesPerSecond.toFixed(1)} images/s on ${state.backend?.name ?? '?'}` +
    (finished ? '' : `, about ${formatSeconds(speed.secondsLeft)} left`);
}

// ---- strip -----------------------------------------------------------------------------------------------

let strip: Strip | undefined;

/** A class's name as shown (underscores as spaces, so that long generated names wrap). */
function className(names: readonly string[], label: number): string {
  return (names[label] ?? String(label)).replace(/_/g, ' ');
}

/** One CIFAR image (CHW bytes) on a canvas. */
function imageCanvas(images: Uint8Array, index: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 32;
  const context = canvas.getContext('2d')!;
  const pixels = context.createImageData(32, 32);
  const base = index * 3072;
  for (let p = 0; p < 1024; p++) {
    pixels.data[p * 4] = images[base + p]!;
    pixels.data[p * 4 + 1] = images[base + 1024 + p]!;
    pixels.data[p * 4 + 2] = images[base + 2048 + p]!;
    pixels.data[p * 4 + 3] = 255;
  }
  context.putImageData(pixels, 0, 0);
  return canvas;
}

function drawStrip(next?: Strip): void {
  if (next) {
    strip = next;
    state.strip = next;
  }
  if (!strip) return;
  const { images, labels, classNames } = strip;
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  head.insertCell().textContent = '';
  labels.forEach((label, i) => {
    const cell = head.insertCell();
    cell.append(imageCanvas(images, i));
    const name = document.createElement('div');
    name.className = 'truth';
    name.textContent = className(classNames, label);
    cell.append(name);
  });
  const body = table.createTBody();
  const predictionRows: Array<[string, Top3[] | undefined, string]> = state.rows.map((row) => [
    row.id,
    state.predictions[row.id]?.top3,
    `${shortLabel(row)}${state.predictions[row.id] ? ` · it. ${state.predictions[row.id]!.iteration}` : ''}`,
  ]);
  if (state.loadedModel)
    predictionRows.push(['loaded', state.loadedModel.top3, `loaded: ${state.loadedModel.name}`]);
  for (const [id, top3, title] of predictionRows) {
    const tr = body.insertRow();
    tr.dataset['row'] = id;
    tr.insertCell().textContent = title;
    labels.forEach((label, i) => {
      const cell = tr.insertCell();
      for (const guess of top3?.[i] ?? []) {
        const line = document.createElement('div');
        line.className = guess.label === label ? 'guess right' : 'guess';
        line.textContent = `${className(classNames, guess.label)} ${(guess.probability * 100).toFixed(0)}%`;
        cell.append(line);
      }
    });
  }
  $('strip').replaceChildren(table);
}

// ---- charts ----------------------------------------------------------------------------------------------

let chartsPending = false;
function scheduleCharts(): void {
  if (chartsPending) return;
  chartsPending = true;
  setTimeout(() => {
    chartsPending = false;
    drawCurves(
      state.rows.map((row) => ({ label: shortLabel(row), records: state.records[row.id] ?? [] })),
      {
        loss: $('loss-chart'),
        error: $('error-chart'),
      },
    )
      .then(() => {
        state.chartsDrawn++;
      })
      .catch((error: unknown) => showError(`could not draw the curves: ${String(error)}`));
  }, 250);
}

function shortLabel(row: RowInfo): string {
  return `${row.preset.startsWith('t1-') ? 'T1' : 'T2'}: ${row.label.replace(/^[^:]*:\s*/, '')}`;
}

// ---- downloads and loading -------------------------------------------------------------------------------

function offerDownloads(row: string, files: Array<{ name: string; type: string; bytes: Uint8Array }>): void {
  const links: Record<string, string> = {};
  const box = document.createElement('div');
  box.className = 'download';
  const info = state.rows.find((r) => r.id === row);
  box.innerHTML = `<b>${info ? shortLabel(info) : row}</b> `;
  for (const file of files) {
    const url = URL.createObjectURL(new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: file.type }));
    links[file.name] = url;
    const a = document.createElement('a');
    a.href = url;
    a.download = file.name;
    a.textContent = file.name;
    box.append(a, ' ');
  }
  state.downloads[row] = links;
  $('downloads').append(box);
}

input('model-files').addEventListener('change', () => {
  const files = [...(input('model-files').files ?? [])];
  if (files.length === 0) return;
  clearError();
  $('loaded-model').textContent = 'loading…';
  send({ type: 'load-model', files });
});

// A trained model exists only in this page until its files are saved: ask before the tab closes.
window.addEventListener('beforeunload', (event) => {
  if (state.state === 'training' || state.state === 'paused' || Object.keys(state.downloads).length > 0) {
    event.preventDefault();
  }
});

// ---- errors ----------------------------------------------------------------------------------------------

function showError(message: string): void {
  state.errors.push(message);
  $('error').textContent = message;
  $('error').hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
}

// ---- the worker's reports ----------------------------------------------------------------------------------

worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'backend':
      state.backend = message.info;
      state.crossOriginIsolated = message.crossOriginIsolated;
      state.hardwareConcurrency = message.hardwareConcurrency;
      showBackend(message.info, message.crossOriginIsolated, message.hardwareConcurrency);
      return;
    case 'status':
      $('data-summary').textContent = message.text;
      return;
    case 'data':
      state.data = message.summary;
      showData(message.summary, message.strip);
      showState(state.state);
      return;
    case 'rows':
      state.rows = message.rows;
      state.schedule = message.schedule;
      $('schedule').textContent =
        `${message.rows.map((r) => `${shortLabel(r)}: ${r.parameters.toLocaleString('en-US')} parameters`).join('; ')}. ` +
        `Schedule: ${message.schedule} (@resnet/trainer's scaledPaperSchedule).`;
      drawStrip();
      return;
    case 'state':
      showState(message.state);
      showProgress();
      return;
    case 'record':
      if (message.record.type === 'log') {
        state.records[message.row] = [...(state.records[message.row] ?? []), message.record];
        scheduleCharts();
      }
      return;
    case 'speed':
      state.speed = message;
      showProgress();
      return;
    case 'predictions':
      state.predictions[message.row] = { iteration: message.iteration, top3: message.top3 };
      drawStrip();
      return;
    case 'finished':
      state.finished[message.row] = message;
      return;
    case 'artifacts':
      offerDownloads(message.row, message.files);
      return;
    case 'loaded-model':
      state.loadedModel = message;
      $('loaded-model').textContent = `loaded ${message.name}: ${message.description}`;
      drawStrip();
      return;
    case 'error':
      showError(message.message);
      if (state.state !== 'training' && state.state !== 'paused') showState(state.state);
      return;
  }
};

worker.onerror = (event) => showError(`the training worker failed: ${event.message}`);

export type { MetricsRecord };
