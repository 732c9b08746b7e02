// The browser entry: bundled for a browser by esbuild it pulls in nothing from Node (no `node:` module, no
// cli-progress), and its `train` runs the same loop (here in Node, on the cpu backend): it trains, gives the
// same numbers as the Node entry, and refuses what needs Node with what to do instead.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, test } from 'vitest';
import { train as browserTrain } from '../src/browser.js';
import { constantSchedule, train } from '../src/index.js';
import { RandomSource, setupBackend, tinyConvNet } from './helpers.js';

beforeAll(setupBackend);

// esbuild is the workspace's through tsx (a root dev dependency), so no new dependency is needed for this.
type Build = (options: Record<string, unknown>) => Promise<{
  metafile: { inputs: Record<string, unknown> };
  outputFiles: { text: string }[];
}>;
const { build } = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild') as {
  build: Build;
};

test('bundles for a browser with no Node built-in and no Node-only dependency', async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/browser.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // One copy of TensorFlow.js is the application's (peer dependencies).
    external: ['@tensorflow/*'],
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((p) => p.includes('cli-progress'))).toBe(false);
  expect(inputs.filter((p) => /node-host|metrics-file|checkpoint\.ts|progress\.ts/.test(p))).toEqual([]);
  const code = result.outputFiles[0]!.text;
  expect(code).not.toMatch(/from ["']node:|require\(["'](node:)?(fs|path|crypto)["']\)/);
  expect(code).toContain('logSoftmax');
});

test("the browser entry's train gives the Node entry's numbers, and refuses runDir and handleSignals", async () => {
  const options = (name: string) => ({
    model: tinyConvNet({ name, seed: 3 }),
    data: new RandomSource({ seed: 8 }),
    iterations: 6,
    logEvery: 3,
    seed: 2,
    schedule: constantSchedule(0.05),
    progress: 'none' as const,
  });
  const inBrowser = await browserTrain(options('entry'));
  const inNode = await train(options('entry'));
  expect(inBrowser.status).toBe('completed');
  expect(inBrowser.train).toEqual(inNode.train);
  await expect(browserTrain({ ...options('dir'), runDir: '/tmp/x' })).rejects.toThrow(
    /runDir needs a file system: this is the browser entry .*callbacks\.onLog/,
  );
  await expect(browserTrain({ ...options('sig'), handleSignals: true })).rejects.toThrow(
    /handleSignals needs Node\.js signals; in a browser, stop a run with an AbortSignal/,
  );
});
