// The synthetic dataset generator: official layouts, archives, determinism, and content a model can learn.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCifar, PIXELS, writeSyntheticCifar } from '../src/index.js';
import { tempDir } from './helpers.js';

let root: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  root = await tempDir('synthetic');
});

afterAll(async () => {
  await root.remove();
});

describe('writeSyntheticCifar', () => {
  it('writes the CIFAR-10 layout and an archive of it', async () => {
    const out = await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root.path, 'a'),
      trainCount: 23,
      testCount: 7,
      archive: true,
    });
    expect(out.dir).toBe(join(root.path, 'a', 'cifar-10-batches-bin'));
    // 23 images over five files: 5, 5, 5, 4, 4 records of 3073 bytes.
    const sizes = [];
    for (let b = 1; b <= 5; b++) sizes.push((await readFile(join(out.dir, `data_batch_${b}.bin`))).length);
    expect(sizes).toEqual([5, 5, 5, 4, 4].map((n) => n * 3073));
    const members: string[] = [];
    await tar.t({ file: out.archive!, onReadEntry: (e) => members.push(e.path) });
    expect(members.filter((m) => m.endsWith('.bin') || m.endsWith('.txt')).sort()).toEqual(
      [
        'batches.meta.txt',
        'data_batch_1.bin',
        'data_batch_2.bin',
        'data_batch_3.bin',
        'data_batch_4.bin',
        'data_batch_5.bin',
        'test_batch.bin',
      ].map((f) => `cifar-10-batches-bin/${f}`),
    );
  });

  it('writes CIFAR-100 records with coarse and fine labels, the same for the same seed', async () => {
    const a = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'b'),
      trainCount: 200,
      testCount: 10,
      seed: 4,
    });
    const b = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'c'),
      trainCount: 200,
      testCount: 10,
      seed: 4,
    });
    const c = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'd'),
      trainCount: 200,
      testCount: 10,
      seed: 5,
    });
    const train = await readFile(join(a.dir, 'train.bin'));
    expect(train.length).toBe(200 * 3074);
    expect(train.equals(await readFile(join(b.dir, 'train.bin')))).toBe(true);
    expect(train.equals(await readFile(join(c.dir, 'train.bin')))).toBe(false);
    const data = await loadCifar({ dataset: 'cifar100', dataDir: a.dir, allowUnofficial: true });
    // Balanced: each of the 100 fine classes twice.
    const counts = new Array(100).fill(0);
    for (const label of data.train.labels) counts[label]++;
    expect(new Set(counts)).toEqual(new Set([2]));
  });

  it('makes classes a nearest-mean classifier tells apart', async () => {
    const { dir } = await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root.path, 'e'),
      trainCount: 300,
      testCount: 100,
    });
    const data = await loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true });
    // Class means of the mean colour per channel: a model that only sees colour already separates the classes.
    const colour = (images: Uint8Array, i: number) =>
      [0, 1, 2].map((c) => {
        let s = 0;
        for (let p = 0; p < 1024; p++) s += images[i * PIXELS + c * 1024 + p]!;
        return s / 1024;
      });
    const means = Array.from({ length: 10 }, () => [0, 0, 0]);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < data.train.size; i++) {
      const label = data.train.labels[i]!;
      colour(data.train.images, i).forEach((v, c) => {
        means[label]![c]! += v;
      });
      counts[label]++;
    }
    for (const [k, m] of means.entries()) {
      for (let c = 0; c < 3; c++) m[c]! /= counts[k];
    }
    let correct = 0;
    for (let i = 0; i < data.test.size; i++) {
      const x = colour(data.test.images, i);
      const distances = means.map((m) => m.reduce((s, v, c) => s + (v - x[c]!) ** 2, 0));
      if (distances.indexOf(Math.min(...distances)) === data.test.labels[i]) correct++;
    }
    expect(correct / data.test.size).toBeGreaterThan(0.9);
  });
});
