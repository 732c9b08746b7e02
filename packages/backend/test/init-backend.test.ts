// initBackend picks as documented, reports a missing backend with install steps, and is safe to call twice.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackendStatus,
  backendSpecs,
  initBackend,
  listBackends,
  resolveAutoBackend,
} from '../src/index.js';
import { wasmTrainingKernels } from '../src/internals.js';

let statuses: BackendStatus[];
let tensorflowUsable: boolean;

beforeAll(async () => {
  statuses = await listBackends();
  tensorflowUsable = statuses.some((status) => status.name === 'tensorflow' && status.usable);
});

describe('listBackends', () => {
  it('lists every known backend once, in the order auto prefers them', () => {
    expect(statuses.map((status) => status.package)).toEqual(backendSpecs.map((spec) => spec.package));
    const others = statuses.filter((status) => status.name !== 'webgpu');
    expect(others.map((status) => status.gpu)).toEqual([true, false, false, false]);
    // webgpu's gpu flag is its adapter's: false on a software one (Mesa's lavapipe in CI).
    const webgpu = statuses.find((status) => status.name === 'webgpu')!;
    if (webgpu.adapter !== undefined) expect(webgpu.gpu).toBe(!webgpu.adapter.software);
  });

  it('sees the embedded backends, which are dependencies of this package', () => {
    for (const name of ['wasm', 'cpu']) {
      const status = statuses.find((candidate) => candidate.name === name)!;
      expect(status).toMatchObject({ installed: true, usable: true });
    }
  });

  it('says how to install a tensorflow backend that is missing', () => {
    for (const status of statuses.filter(
      (candidate) => candidate.name === 'tensorflow' && !candidate.installed,
    )) {
      expect(status.usable).toBe(false);
      expect(status.detail).toContain(`npm install ${status.package}`);
    }
  });
});

describe('resolveAutoBackend', () => {
  it('picks the first usable backend without initialising it', async () => {
    const active = tf.getBackend();
    const pick = await resolveAutoBackend();
    // A software WebGPU adapter is usable but never auto's pick.
    expect(pick).toEqual(
      statuses.find((status) => status.usable && (status.name !== 'webgpu' || status.gpu)),
    );
    expect(tf.getBackend()).toBe(active);
  });

  it.skipIf(tensorflowUsable)('picks wasm where no tensorflow backend is usable', async () => {
    expect((await resolveAutoBackend()).name).toBe('wasm');
  });
});

describe('initBackend', () => {
  it.skipIf(tensorflowUsable)("'auto' initialises wasm with the training kernels", async () => {
    const info = await initBackend();
    expect(info).toMatchObject({
      name: 'wasm',
      requested: 'auto',
      package: '@tensorflow/tfjs-backend-wasm',
      gpu: false,
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(info.versions['@tensorflow/tfjs-core']).toBe(tf.version_core);
    expect(info.versions['@tensorflow/tfjs-backend-wasm']).toMatch(/^4\./);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    for (const { config } of wasmTrainingKernels) {
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    }
  });

  it("initialises 'cpu' when asked, then 'wasm' again, and twice in a row, and concurrently", async () => {
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu).toMatchObject({
      name: 'cpu',
      requested: 'cpu',
      package: '@tensorflow/tfjs-backend-cpu',
      gpu: false,
    });
    expect(cpu.threads).toBeUndefined();
    expect(tf.getBackend()).toBe('cpu');
    const first = await initBackend({ backend: 'wasm' });
    const second = await initBackend({ backend: 'wasm' });
    expect(second).toEqual(first);
    const [a, b] = await Promise.all([initBackend({ backend: 'cpu' }), initBackend({ backend: 'wasm' })]);
    expect([a.name, b.name]).toEqual(['cpu', 'wasm']);
    expect(tf.getBackend()).toBe('wasm');
    // The training kernels survive re-initialisation: a conv filter gradient runs on wasm.
    const grad = tf.tidy(() =>
      tf.grad((f: tf.Tensor) =>
        tf.sum(tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')),
      )(tf.ones([3, 3, 1, 1])),
    );
    expect(Array.from(grad.dataSync())).toEqual(new Array(9).fill(4));
    grad.dispose();
  });

  it.skipIf(tensorflowUsable)(
    "'tensorflow' fails with the install steps when it is not installed",
    async () => {
      const failure = initBackend({ backend: 'tensorflow' });
      await expect(failure).rejects.toThrow(/npm install @tensorflow\/tfjs-node-gpu/);
      await expect(failure).rejects.toThrow(/onlyBuiltDependencies/);
      await expect(failure).rejects.toThrow(/CUDA 11\.2 and cuDNN 8\.1/);
      await expect(failure).rejects.toThrow(/@tensorflow\/tfjs-node/);
    },
  );

  it('rejects an unknown backend name, listing the known ones', async () => {
    await expect(initBackend({ backend: 'metal' as never })).rejects.toThrow(
      "unknown backend 'metal'; expected one of 'auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'",
    );
  });
});

describe('an installed tfjs-node whose install script never ran', () => {
  // pnpm 10 installs a package but skips its install script unless onlyBuiltDependencies lists it: the
  // package directory exists and its native addon does not. This recreates that layout in a temporary project.
  const cwd = process.cwd();
  let project: string;

  afterEach(() => {
    process.chdir(cwd);
    rmSync(project, { recursive: true, force: true });
  });

  it('is listed as installed but not usable, with the fix, and initBackend refuses it', async () => {
    project = mkdtempSync(join(tmpdir(), 'resnet-backend-'));
    const directory = join(project, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(directory, { recursive: true });
    writeFileSync(
      join(directory, 'package.json'),
      JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0', main: 'index.js' }),
    );
    writeFileSync(join(directory, 'index.js'), "throw new Error('the native addon is missing');\n");
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', private: true }));
    process.chdir(project);

    const status = (await listBackends()).find((candidate) => candidate.package === '@tensorflow/tfjs-node')!;
    expect(status).toMatchObject({ installed: true, usable: false });
    expect(status.detail).toContain('npm rebuild @tensorflow/tfjs-node');
    expect(status.detail).toContain('onlyBuiltDependencies');
    await expect(initBackend({ backend: 'tensorflow' })).rejects.toThrow(
      /@tensorflow\/tfjs-node: installed, but its native addon is missing/,
    );
  });
});
