// `perf` measures a real (tiny) network end to end on wasm, reports a missing PyTorch instead of failing,
// runs the PyTorch reference when this machine has torch, and rejects bad options with clear errors.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { perfCommand } from '../src/commands/perf.js';
import { modelConfig } from '../src/perf/models.js';
import { runPerf } from '../src/perf/run.js';

const execFileAsync = promisify(execFile);
const script = fileURLToPath(new URL('../pytorch/perf_reference.py', import.meta.url));

async function torchPython(): Promise<string | undefined> {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      await execFileAsync(python, ['-c', 'import torch']);
      return python;
    } catch {}
  }
  return undefined;
}
const python = await torchPython();

describe('perf', () => {
  it('measures training and inference of a preset network and says when PyTorch is missing', async () => {
    const results = await runPerf({
      models: ['preact-resnet8'],
      batch: 2,
      backend: 'wasm',
      steps: 1,
      warmup: 1,
      threads: 2,
      stock: false,
      vsPytorch: true,
      python: ['/nonexistent/python3'],
      profile: true,
      rounds: 2,
    });
    expect(results).toHaveLength(1);
    const [row] = results;
    expect(row).toMatchObject({
      model: 'preact-resnet8',
      depth: 8,
      batch: 2,
      backend: 'wasm',
      threads: 2,
      fast: true,
    });
    expect(row!.params).toBe(modelConfig('preact-resnet8').build().countParams());
    expect(row!.trainImagesPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(row!.trainImagesPerSec)).toBe(true);
    expect(row!.inferenceImagesPerSec).toBeGreaterThan(row!.trainImagesPerSec);
    expect(row!.peakRssMB).toBeGreaterThan(10);
    expect(row!.pytorchTrainImagesPerSec).toBeNull();
    expect(row!.ratio).toBeNull();
    const kernels = row!.profile!.map((k) => k.kernel);
    expect(kernels).toContain('Conv2DBackpropFilter');
    expect(kernels).toContain('ResnetBatchNormTrainingGrad');
    expect(row!.profile!.reduce((sum, k) => sum + k.share, 0)).toBeCloseTo(1, 5);
    expect(row!.pytorchNote).toMatch(/PyTorch is not available.*\/nonexistent\/python3: not found/);
    // Two rounds; the figure reported is their median (the mean of two).
    expect(row!.rounds).toHaveLength(2);
    const [first, second] = row!.rounds.map((r) => r.trainImagesPerSec);
    expect(row!.trainImagesPerSec).toBeCloseTo((first! + second!) / 2, 6);
    expect(row!.rounds.every((r) => r.ratio === null && r.pytorchTrainImagesPerSec === null)).toBe(true);
  });

  it.skipIf(python === undefined)('alternates rounds with PyTorch and reports the median ratio', async () => {
    const results = await runPerf({
      models: ['preact-resnet8'],
      batch: 2,
      backend: 'wasm',
      steps: 1,
      warmup: 1,
      threads: 1,
      stock: false,
      vsPytorch: true,
      python: [python!],
      rounds: 3,
    });
    const [row] = results;
    expect(row!.rounds).toHaveLength(3);
    for (const round of row!.rounds) {
      expect(round.pytorchTrainImagesPerSec).toBeGreaterThan(0);
      expect(round.ratio).toBeCloseTo(round.trainImagesPerSec / round.pytorchTrainImagesPerSec!, 9);
    }
    const ratios = row!.rounds.map((r) => r.ratio!).sort((a, b) => a - b);
    expect(row!.ratio).toBe(ratios[1]);
    expect(row!.pytorchVersion).toMatch(/^\d+\.\d+/);
  });

  it.skipIf(python === undefined)('runs the PyTorch reference of the same network', async () => {
    const { stdout } = await execFileAsync(python!, [
      script,
      '--depths',
      '8',
      '--batch',
      '2',
      '--steps',
      '1',
      '--warmup',
      '1',
      '--threads',
      '1',
    ]);
    const report = JSON.parse(stdout) as { threads: number; results: Array<Record<string, number>> };
    expect(report.threads).toBe(1);
    const [row] = report.results;
    expect(row!['depth']).toBe(8);
    expect(row!['trainImagesPerSec']).toBeGreaterThan(0);
    // The same network in both frameworks: PyTorch counts trainable parameters only (no moving statistics).
    const ours = modelConfig('preact-resnet8').build();
    const trainable = ours.trainableWeights.reduce(
      (sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]),
      0,
    );
    expect(row!['params']).toBe(trainable);
  });

  it('turns preact-resnet<depth> into the ResNet-110 preset at that depth, and rejects unknown names', () => {
    expect(modelConfig('preact-resnet20').depth).toBe(20);
    expect(modelConfig('preact-resnet110').depth).toBe(110);
    expect(() => modelConfig('no-such-net')).toThrow(/unknown preset 'no-such-net'/);
  });

  it('rejects bad options before measuring anything', async () => {
    const program = new Command('bench')
      .exitOverride()
      .configureOutput({ writeErr: () => {}, writeOut: () => {} });
    perfCommand(program);
    await expect(program.parseAsync(['perf', '--batch', '0'], { from: 'user' })).rejects.toThrow(
      /positive integer/,
    );
    await expect(program.parseAsync(['perf', '--backend', 'gpu'], { from: 'user' })).rejects.toThrow(
      /auto, tensorflow, webgpu, wasm, cpu/,
    );
    await expect(program.parseAsync(['perf', '--models', 'resnet7x'], { from: 'user' })).rejects.toThrow(
      /unknown preset/,
    );
  });
});
