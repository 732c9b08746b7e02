// A real run of the browser entry in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// test/browser/training-page.ts, bundled by esbuild for the browser and served with tfjs-backend-wasm's .wasm
// files by a local HTTP server, initialises cpu and then wasm (wasmPaths) and trains a small convolutional
// network a few steps on each: finite losses, the same on both backends, and a flat tensor count. Skipped only
// where Chromium is absent (.ci/run installs it before the tests).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageResult } from './browser/training-page.js';

const chromiumPath = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);

const wasmDist = join(
  dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
  'dist',
);

let server: Server | undefined;
let origin = '';

beforeAll(async () => {
  if (!haveChromium) return;
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./browser/training-page.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.contents;
  const page = '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>';
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (path === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (/^\/wasm\/tfjs-backend-wasm[\w-]*\.wasm$/.test(path)) {
      readFile(join(wasmDist, path.slice('/wasm/'.length))).then(
        (body) => response.writeHead(200, { 'content-type': 'application/wasm' }).end(body),
        () => response.writeHead(404).end(),
      );
    } else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
});

describe.skipIf(!haveChromium)(`the browser entry in headless Chromium (${chromiumPath})`, () => {
  it('trains a convolutional network with batch normalisation on cpu and on wasm', async () => {
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    const pageErrors: string[] = [];
    const requested: string[] = [];
    let result: PageResult;
    try {
      const page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
      // Nothing outside this server: the bundle and the served .wasm files are everything the page needs.
      await page.route('**/*', (route) => {
        requested.push(route.request().url());
        return route.request().url().startsWith(origin) ? route.continue() : route.abort('blockedbyclient');
      });
      await page.goto(`${origin}/?backends=cpu,wasm`);
      await page.waitForFunction(() => 'resnetBrowserTest' in globalThis, null, { timeout: 120_000 });
      result = (await page.evaluate(
        () => (globalThis as { resnetBrowserTest?: unknown }).resnetBrowserTest,
      )) as PageResult;
    } finally {
      await browser.close();
    }
    expect(result.error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    expect(result.statuses.map((status) => [status.name, status.usable])).toEqual([
      ['webgpu', false], // headless Chromium here has no WebGPU adapter
      ['wasm', true],
      ['cpu', true],
    ]);
    const [cpu, wasm] = result.runs;
    expect(cpu?.name).toBe('cpu');
    expect(wasm?.name).toBe('wasm');
    // tfjs fetched a wasm binary from wasmPaths.
    expect(requested.some((url) => url.startsWith(`${origin}/wasm/`) && url.endsWith('.wasm'))).toBe(true);
    for (const run of [cpu!, wasm!]) {
      expect(run.losses).toHaveLength(4);
      expect(run.losses.every(Number.isFinite)).toBe(true);
      // SGD lowers the loss on this fixed batch.
      expect(run.losses.at(-1)!).toBeLessThan(run.losses[0]!);
      // Each step leaves as many tensors as the one before; disposing the model leaves none behind.
      expect(new Set(run.tensorsAfterStep).size).toBe(1);
      expect(run.tensorsAfter).toBe(run.tensorsBefore);
      // The closed-form batch normalisation trained the layer (the override table's layer row).
      expect(run.installed).toContain('BatchNormalization.prototype.call (tfjs-layers)');
    }
    // On wasm, the convolution's filter gradient is this package's kernel (tfjs-backend-wasm has none).
    expect(wasm!.installed).toContain('Conv2DBackpropFilter');
    // No native kernels in a browser: the wasm kernels take their stock or JavaScript paths, which compute
    // what the cpu backend computes.
    for (let step = 0; step < 4; step++) {
      expect(Math.abs(wasm!.losses[step]! - cpu!.losses[step]!)).toBeLessThan(1e-4);
    }
    console.log(
      `Chromium: cpu losses ${cpu!.losses.map((l) => l.toFixed(4)).join(' → ')}; wasm (${wasm!.threads} thread) ` +
        `${wasm!.losses.map((l) => l.toFixed(4)).join(' → ')}; tensors after each step ${cpu!.tensorsAfterStep[0]} / ${wasm!.tensorsAfterStep[0]}`,
    );
  });
});
