// The page as a user meets it: built by Vite, served by `vite preview` on 127.0.0.1 (cross-origin isolated),
// driven in Debian's headless Chromium through its controls. It trains two rows on generated images on wasm
// (threads) and checks what the page shows, pauses, resumes and stops a run, loads the files a row offers into
// Node.js with @resnet/models (the same predictions as the page's) and back into the page, and trains a few
// iterations on WebGPU on Chromium's software adapter (SwiftShader). Writes screenshots to test-output/.
// Skipped only where Chromium is absent (.ci/run installs it).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@resnet/backend';
import {
  cifarFromBuffers,
  computeNormalization,
  DATASETS,
  evalBatches,
  type Normalization,
  syntheticCifarFiles,
} from '@resnet/data-cifar';
import { type ResNetConfig, resnet } from '@resnet/models';
import { loadCheckpoint, restoreWeights } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageState } from '../src/main.js';
import type { Strip, Top3 } from '../src/protocol.js';
import { buildAndServe, chromiumPath, launchChromium, loadGeneratedImages, type Served } from './serve.js';

const haveChromium = existsSync(chromiumPath);
const output = fileURLToPath(new URL('../test-output/', import.meta.url));

/** Chromium's WebGPU on its software Vulkan adapter (SwiftShader): the flags that bring an adapter up here. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan'];

let served: Served;
let browser: Browser;
let files: string;

beforeAll(async () => {
  if (!haveChromium) return;
  served = await buildAndServe();
  browser = await launchChromium();
  files = await mkdtemp(join(tmpdir(), 'resnet-web-files-'));
  await mkdir(output, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await served?.close();
  if (files) await rm(files, { recursive: true, force: true });
});

/** A fresh page on the served app, collecting console errors, page errors and requests leaving the server. */
async function openPage(on: Browser, query = ''): Promise<{ page: Page; problems: string[] }> {
  const problems: string[] = [];
  const page = await on.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  // Nothing leaves the page: any request outside the local server is refused and reported.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(served.url) || url.startsWith('blob:') || url.startsWith('data:'))
      return route.continue();
    problems.push(`request outside the page's server: ${url}`);
    return route.abort('blockedbyclient');
  });
  await page.goto(`${served.url}${query}`);
  await page.waitForFunction(
    () => window.resnetWeb?.backend !== undefined || window.resnetWeb?.errors.length > 0,
    null,
    {
      timeout: 120_000,
    },
  );
  return { page, problems };
}

const pageState = (page: Page) =>
  page.evaluate(() => structuredClone(window.resnetWeb)) as Promise<PageState>;

/** Loads generated images and trains the two Table 2 rows with these settings; resolves when they end. */
async function train(
  page: Page,
  settings: { depth: number; batch: number; iterations: number; evaluateEvery: number; testImages: number },
): Promise<void> {
  await loadGeneratedImages(page, 200, 40);
  await page.selectOption('#depth', String(settings.depth));
  await page.fill('#batch', String(settings.batch));
  await page.fill('#iterations', String(settings.iterations));
  await page.fill('#evaluate-every', String(settings.evaluateEvery));
  await page.fill('#test-images', String(settings.testImages));
  await page.click('#start');
  await page.waitForFunction(
    () =>
      (window.resnetWeb.state === 'done' && Object.keys(window.resnetWeb.downloads).length === 2) ||
      window.resnetWeb.errors.length > 0,
    null,
    { timeout: 600_000 },
  );
}

/** The same three classes for every image, in the same order, with the same probabilities (to 1e-4). */
function expectSameTop3(actual: readonly Top3[], expected: readonly Top3[]): void {
  expect(actual.map((top) => top.map((t) => t.label))).toEqual(
    expected.map((top) => top.map((t) => t.label)),
  );
  for (const [i, top] of actual.entries()) {
    for (const [k, t] of top.entries()) expect(t.probability).toBeCloseTo(expected[i]![k]!.probability, 4);
  }
}

/** Each strip image's three most probable classes under `model` in Node.js. */
async function top3InNode(
  model: tfl.LayersModel,
  strip: Strip,
  normalization: Normalization,
): Promise<Top3[]> {
  // The strip's bytes come back from the page as a plain object of indices.
  const split = {
    images: Uint8Array.from(Object.values(strip.images)),
    labels: Uint8Array.from(strip.labels),
    size: strip.labels.length,
  };
  const rows: Top3[] = [];
  for await (const batch of evalBatches(split, { batchSize: split.size, normalization })) {
    const probabilities = (await (model.predict(batch.xs) as tf.Tensor).array()) as number[][];
    tf.dispose([batch.xs, batch.ys]);
    for (const p of probabilities) {
      const ranked = p.map((probability, label) => ({ label, probability }));
      rows.push(ranked.sort((a, b) => b.probability - a.probability).slice(0, 3));
    }
  }
  return rows;
}

/** Mean of the first and of the second half of a row's logged training losses. */
function halves(losses: number[]): [number, number] {
  const mid = Math.floor(losses.length / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean(losses.slice(0, mid)), mean(losses.slice(mid))];
}

// Each test waits for training in Chromium: generous limits for a loaded 2-core machine.
describe.skipIf(!haveChromium)(
  `the page in headless Chromium (${chromiumPath})`,
  { timeout: 900_000 },
  () => {
    let trained: PageState;

    it('loads with no console errors, cross-origin isolated, on wasm with more than one thread', async () => {
      // tfjs's own count is half the cores (one on CI's two): ?threads=2 asks for both.
      const { page, problems } = await openPage(browser, '?threads=2');
      const state = await pageState(page);
      await page.close();
      expect(problems).toEqual([]);
      expect(state.errors).toEqual([]);
      expect(state.crossOriginIsolated).toBe(true);
      // auto never takes a software WebGPU adapter, and headless Chromium has no other: wasm.
      expect(state.backend?.name).toBe('wasm');
      expect(state.backend?.threads).toBe(2);
    });

    it('trains 20 iterations of two rows on generated images, and draws the curves and predictions', async () => {
      const { page, problems } = await openPage(browser);
      await train(page, { depth: 8, batch: 16, iterations: 20, evaluateEvery: 10, testImages: 40 });
      // The last curves are drawn a moment after the last record.
      await page.waitForFunction((n) => window.resnetWeb.chartsDrawn >= n, 1);
      await page.waitForTimeout(600);
      trained = await pageState(page);
      await page.screenshot({ path: join(output, 'trained-wasm.png'), fullPage: true });
      // Every file a row offers, as the user's download would save it.
      for (const [row, links] of Object.entries(trained.downloads)) {
        await mkdir(join(files, row), { recursive: true });
        for (const [name, url] of Object.entries(links)) {
          const bytes = await page.evaluate(async (href) => {
            const buffer = await (await fetch(href)).arrayBuffer();
            return Array.from(new Uint8Array(buffer));
          }, url);
          await writeFile(join(files, row, name), Uint8Array.from(bytes));
        }
      }
      const svgs = await page.evaluate(() =>
        ['loss-chart', 'error-chart'].map((id) => document.querySelectorAll(`#${id} svg path`).length),
      );
      await page.close();
      expect(problems).toEqual([]);
      expect(trained.errors).toEqual([]);
      expect(trained.rows.map((r) => r.preset)).toEqual(['t2-original-110', 't2-full-preact-110']);
      for (const row of trained.rows) {
        expect(trained.finished[row.id]).toMatchObject({ status: 'completed', iteration: 20 });
        const losses = trained.records[row.id]!.filter((r) => r.trainLoss !== undefined).map(
          (r) => r.trainLoss!,
        );
        expect(losses).toHaveLength(20);
        expect(losses.every(Number.isFinite)).toBe(true);
        const [first, second] = halves(losses);
        expect(second).toBeLessThan(first);
        expect(trained.records[row.id]!.filter((r) => r.testError !== undefined)).toHaveLength(2);
        expect(trained.predictions[row.id]?.top3).toHaveLength(trained.strip!.labels.length);
        expect(Object.keys(trained.downloads[row.id]!).sort()).toEqual([
          'config.json',
          'metrics.jsonl',
          'model.json',
          'weights.bin',
        ]);
      }
      // Both charts hold a line per row.
      expect(svgs.every((paths) => paths >= 2)).toBe(true);
      expect(trained.speed!.imagesPerSecond).toBeGreaterThan(0);
      expect(trained.schedule).toBe(
        "the paper's scaled to 20 iterations: lr 0.1, ÷10 at 10 and 15; warm-up 1 iteration at 0.01",
      );
    });

    it('offers files that Node.js loads with @resnet/models, predicting what the page predicted', async () => {
      await initBackend({ backend: 'cpu' });
      for (const row of trained.rows) {
        const dir = join(files, row.id);
        const model = await tfl.loadLayersModel(`file://${join(dir, 'model.json')}`);
        const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
          normalizationStats: Normalization;
          preset: string;
          model: { depth: number };
        };
        expect(config.preset).toBe(row.preset);
        expect(config.model.depth).toBe(8);
        const metrics = (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(metrics[0].type).toBe('start');
        expect(metrics.at(-1)).toMatchObject({ type: 'end', status: 'completed', iteration: 20 });
        expectSameTop3(
          await top3InNode(model, trained.strip!, config.normalizationStats),
          trained.predictions[row.id]!.top3,
        );
        model.dispose();
      }
    });

    it('loads a downloaded model back into the page and shows its predictions', async () => {
      const { page, problems } = await openPage(browser);
      await loadGeneratedImages(page, 200, 40);
      const row = trained.rows[1]!.id;
      await page.setInputFiles(
        '#model-files',
        ['model.json', 'weights.bin', 'config.json'].map((name) => join(files, row, name)),
      );
      await page.waitForFunction(
        () => window.resnetWeb.loadedModel !== undefined || window.resnetWeb.errors.length > 0,
      );
      const state = await pageState(page);
      await page.close();
      expect(problems).toEqual([]);
      expect(state.errors).toEqual([]);
      expectSameTop3(state.loadedModel!.top3, trained.predictions[row]!.top3);
    });

    it('loads a model the bench trained (config.json and final.ckpt of its run) and shows its predictions', async () => {
      // A real bench run: Table 2's full pre-activation row at the smoke scale (ResNet-14, 4 iterations, wasm).
      const { runTable } = await import('../../bench/src/runner.js');
      const out = join(files, 'bench');
      await runTable({
        table: 2,
        rows: ['full-preact-110'],
        scale: 'smoke',
        backend: 'wasm',
        out,
        log: () => {},
        progress: 'none',
      });
      const run = join(out, 'table2', 'full-preact-110', 'run1');
      const { page, problems } = await openPage(browser);
      await loadGeneratedImages(page, 200, 40);
      await page.setInputFiles('#model-files', [join(run, 'config.json'), join(run, 'final.ckpt')]);
      await page.waitForFunction(
        () => window.resnetWeb.loadedModel !== undefined || window.resnetWeb.errors.length > 0,
      );
      const state = await pageState(page);
      await page.close();
      expect(problems).toEqual([]);
      expect(state.errors).toEqual([]);
      expect(state.loadedModel!.name).toBe('final.ckpt (iteration 4)');
      // The same network and weights in Node.js, on the page's strip normalised by the page's training split.
      const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8')) as { model: ResNetConfig };
      const model = resnet(config.model);
      restoreWeights(model.weights, await loadCheckpoint(join(run, 'final.ckpt')));
      const generated = syntheticCifarFiles({ dataset: 'cifar10', trainCount: 200, testCount: 40, seed: 1 });
      const train = cifarFromBuffers({
        dataset: 'cifar10',
        train: DATASETS.cifar10.trainFiles.map((f) => generated.get(f.name)!),
        test: generated.get('test_batch.bin')!,
      }).train;
      const normalization = computeNormalization(train, 'per-channel');
      expectSameTop3(await top3InNode(model, state.strip!, normalization), state.loadedModel!.top3);
      model.dispose();
    });

    it('pauses, resumes and stops a run, which ends interrupted with its files offered', async () => {
      const { page, problems } = await openPage(browser);
      await loadGeneratedImages(page, 200, 40);
      await page.selectOption('#depth', '8');
      await page.fill('#batch', '8');
      await page.fill('#iterations', '1000');
      await page.click('#start');
      await page.waitForFunction(() => (window.resnetWeb.speed?.iterationsDone ?? 0) >= 4);
      await page.click('#pause');
      await page.waitForFunction(() => window.resnetWeb.state === 'paused');
      // Each loop finishes the iteration it was in, then waits.
      await page.waitForTimeout(1500);
      const before = (await pageState(page)).speed!.iterationsDone;
      await page.waitForTimeout(2000);
      expect((await pageState(page)).speed!.iterationsDone).toBe(before);
      await page.click('#pause'); // now labelled Resume
      await page.waitForFunction((n) => (window.resnetWeb.speed?.iterationsDone ?? 0) > n + 2, before);
      await page.click('#stop');
      await page.waitForFunction(
        () => window.resnetWeb.state === 'done' && Object.keys(window.resnetWeb.downloads).length === 2,
        null,
        { timeout: 120_000 },
      );
      const state = await pageState(page);
      await page.close();
      expect(problems).toEqual([]);
      expect(state.errors).toEqual([]);
      for (const row of state.rows) {
        expect(state.finished[row.id]!.status).toBe('interrupted');
        expect(state.finished[row.id]!.iteration).toBeLessThan(1000);
      }
    });

    it('trains on WebGPU where Chromium brings up its software adapter', async () => {
      const gpuBrowser = await launchChromium(WEBGPU_FLAGS);
      try {
        const { page, problems } = await openPage(gpuBrowser, '?backend=webgpu');
        const ready = await pageState(page);
        expect(ready.errors).toEqual([]);
        expect(ready.backend?.name).toBe('webgpu');
        // A software adapter trains slowly (seconds per image): a few iterations of small batches.
        await train(page, { depth: 8, batch: 4, iterations: 3, evaluateEvery: 3, testImages: 8 });
        const state = await pageState(page);
        await page.screenshot({ path: join(output, 'trained-webgpu.png'), fullPage: true });
        await page.close();
        expect(problems).toEqual([]);
        expect(state.errors).toEqual([]);
        for (const row of state.rows) {
          expect(state.finished[row.id]).toMatchObject({ status: 'completed', iteration: 3 });
          const losses = state.records[row.id]!.map((r) => r.trainLoss).filter((l) => l !== undefined);
          expect(losses.every(Number.isFinite)).toBe(true);
        }
        console.log(
          `webgpu on ${JSON.stringify(ready.backend?.adapter)}: ${state.speed!.imagesPerSecond.toFixed(2)} images/s`,
        );
      } finally {
        await gpuBrowser.close();
      }
    });
  },
);
