// Training and evaluation batches: augmentation properties (crop offsets, flips, zero padding), seeded
// determinism and resumption, epochs and the last batch, normalisation statistics, labels, tensor leaks.
import { initBackend } from '@resnet/backend';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHORS_CIFAR10_NORMALIZATION,
  type Batch,
  type CifarSplit,
  computeNormalization,
  evalBatches,
  type Normalization,
  PIXELS,
  trainBatches,
} from '../src/index.js';

const backend = process.env['RESNET_TEST_BACKEND'] ?? 'cpu';

beforeAll(async () => {
  await initBackend({ backend: backend as 'cpu' | 'wasm' });
});

/**
 * Images whose pixels say where they come from: red = row + 1, green = column + 1, blue = image index + 1.
 * With the identity normalisation below, every output pixel can be traced back to its source.
 */
function tracedSplit(size: number): CifarSplit {
  const images = new Uint8Array(size * PIXELS);
  for (let i = 0; i < size; i++) {
    for (let p = 0; p < 1024; p++) {
      images[i * PIXELS + p] = Math.floor(p / 32) + 1;
      images[i * PIXELS + 1024 + p] = (p % 32) + 1;
      images[i * PIXELS + 2048 + p] = i + 1;
    }
  }
  return { images, labels: Uint8Array.from({ length: size }, (_, i) => (i * 3) % 10), size };
}

const identity: Normalization = { mode: 'per-channel', mean: [0, 0, 0], std: [1, 1, 1], count: 1 };

/** The paper's augmentation written the plain way: pad with zeros, flip, take the window at (dx, dy). */
function reference(split: CifarSplit, index: number, dx: number, dy: number, flip: boolean): Float32Array {
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const r = y + dy - 4;
      const c = x + dx - 4;
      if (r < 0 || r > 31 || c < 0 || c > 31) continue;
      const col = flip ? 31 - c : c;
      for (let ch = 0; ch < 3; ch++)
        out[(y * 32 + x) * 3 + ch] = split.images[index * PIXELS + ch * 1024 + r * 32 + col]!;
    }
  }
  return out;
}

/** Exact equality of typed arrays (vitest's deep equality is slow on thousands of large arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Batches as one byte string each, to compare runs. */
const fingerprint = (batches: { xs: Float32Array; ys: Int32Array }[]) =>
  batches.map((b) => Buffer.concat([Buffer.from(b.xs.buffer), Buffer.from(b.ys.buffer)]).toString('base64'));

interface Traced {
  index: number;
  dx: number;
  dy: number;
  flip: boolean;
}

/** Recovers image index, crop offset and flip from a traced output image (the window's centre is never padding). */
function trace(values: Float32Array, at: number): Traced {
  const px = (y: number, x: number, c: number) => values[at + (y * 32 + x) * 3 + c]!;
  const index = px(15, 15, 2) - 1;
  const dy = px(15, 15, 0) - 1 - 15 + 4;
  const flip = px(15, 16, 1) < px(15, 15, 1);
  const col = px(15, 15, 1) - 1;
  const dx = (flip ? 31 - col : col) - 15 + 4;
  return { index, dx, dy, flip };
}

async function take(
  source: { next(): Promise<Batch> },
  n: number,
): Promise<{ xs: Float32Array; ys: Int32Array }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const batch = await source.next();
    out.push({ xs: (await batch.xs.data()) as Float32Array, ys: (await batch.ys.data()) as Int32Array });
    tf.dispose([batch.xs, batch.ys]);
  }
  return out;
}

describe('trainBatches augmentation', () => {
  it('crops at offsets 0–8, flips about half the time, pads with exact zeros', async () => {
    const split = tracedSplit(200);
    const source = trainBatches(split, { batchSize: 50, normalization: identity, seed: 3 });
    const dxs = new Set<number>();
    const dys = new Set<number>();
    let flips = 0;
    let images = 0;
    let paddedPixels = 0;
    for (const { xs, ys } of await take(source, 40)) {
      for (let k = 0; k < 50; k++) {
        const t = trace(xs, k * PIXELS);
        expect(t.dx).toBeGreaterThanOrEqual(0);
        expect(t.dx).toBeLessThanOrEqual(8);
        expect(t.dy).toBeGreaterThanOrEqual(0);
        expect(t.dy).toBeLessThanOrEqual(8);
        expect(ys[k]).toBe(split.labels[t.index]);
        // Every value, padding included, is what the plain pad-flip-crop gives.
        const got = xs.subarray(k * PIXELS, (k + 1) * PIXELS);
        expect(sameBytes(got, reference(split, t.index, t.dx, t.dy, t.flip))).toBe(true);
        paddedPixels +=
          (Math.abs(t.dx - 4) * 32 + Math.abs(t.dy - 4) * 32 - Math.abs(t.dx - 4) * Math.abs(t.dy - 4)) * 3;
        dxs.add(t.dx);
        dys.add(t.dy);
        if (t.flip) flips++;
        images++;
      }
    }
    source.close();
    expect(paddedPixels).toBeGreaterThan(0);
    expect(dxs.size).toBe(9);
    expect(dys.size).toBe(9);
    // 2000 fair coin flips: 0.5 ± 0.05 is 4.5 standard deviations.
    expect(Math.abs(flips / images - 0.5)).toBeLessThan(0.05);
  });

  it('gives each image once per epoch and reshuffles every epoch', async () => {
    const split = tracedSplit(120);
    const source = trainBatches(split, { batchSize: 40, normalization: identity, seed: 9 });
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const order: number[] = [];
      for (const { xs } of await take(source, 3))
        for (let k = 0; k < 40; k++) order.push(trace(xs, k * PIXELS).index);
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i));
      expect(source.epoch).toBe(e);
      epochs.push(order);
    }
    expect(epochs[1]).not.toEqual(epochs[0]);
    expect(epochs[2]).not.toEqual(epochs[1]);
    source.close();
  });

  it('drops the last partial batch by default and keeps it on request', async () => {
    const split = tracedSplit(100);
    const sizes = async (dropLast: boolean) => {
      const source = trainBatches(split, { batchSize: 30, normalization: identity, seed: 1, dropLast });
      const out: number[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await source.next();
        out.push(b.size, b.xs.shape[0]);
        tf.dispose([b.xs, b.ys]);
      }
      source.close();
      return out;
    };
    expect(await sizes(true)).toEqual([30, 30, 30, 30, 30, 30, 30, 30, 30, 30]);
    expect(await sizes(false)).toEqual([30, 30, 30, 30, 30, 30, 10, 10, 30, 30]);
    expect(() => trainBatches(tracedSplit(10), { batchSize: 30, normalization: identity, seed: 1 })).toThrow(
      /fewer than one batch/,
    );
  });

  it('gives the same batches for the same seed and others for another seed', async () => {
    const split = tracedSplit(64);
    const run = (seed: number) =>
      take(trainBatches(split, { batchSize: 16, normalization: identity, seed }), 6);
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(fingerprint(a)).toEqual(fingerprint(b));
    expect(fingerprint(a)[0]).not.toEqual(fingerprint(c)[0]);
  });

  it('continues exactly where getState was taken, across epochs and through JSON', async () => {
    const split = tracedSplit(50);
    const options = { batchSize: 16, normalization: identity, seed: 11, dropLast: false };
    const source = trainBatches(split, options);
    await take(source, 5);
    // Let the background prefetch run before the state is read: it must not shift the state.
    await new Promise((resolve) => setImmediate(resolve));
    const saved = JSON.parse(JSON.stringify(source.getState()));
    const expected = await take(source, 9);
    source.close();
    const resumed = trainBatches(split, options);
    await take(resumed, 2);
    resumed.setState(saved);
    expect(resumed.epoch).toBe(1);
    const got = await take(resumed, 9);
    expect(fingerprint(got)).toEqual(fingerprint(expected));
    resumed.close();
    // Read at once after next(), before the prefetch ran: the same state.
    const again = trainBatches(split, options);
    await take(again, 4);
    const fifth = await again.next();
    expect(again.getState()).toEqual(saved);
    tf.dispose([fifth.xs, fifth.ys]);
    again.close();
    const other = trainBatches(split, { ...options, batchSize: 8 });
    expect(() => other.setState(saved)).toThrow(/batchSize = 16, this source has 8/);
    expect(() => other.setState({ nonsense: true })).toThrow(/getState\(\)/);
  });

  it('subtracts the per-pixel mean of the source pixel, before the crop and flip', async () => {
    const split = tracedSplit(64);
    const f = (r: number, c: number, ch: number) => r * 0.5 + c * 0.25 + ch;
    const mean = Array.from({ length: PIXELS }, (_, k) =>
      f(Math.floor(k / 96), Math.floor(k / 3) % 32, k % 3),
    );
    const perPixel: Normalization = { mode: 'per-pixel', mean, count: 1 };
    const plain = await take(trainBatches(split, { batchSize: 32, normalization: identity, seed: 8 }), 2);
    const centred = await take(trainBatches(split, { batchSize: 32, normalization: perPixel, seed: 8 }), 2);
    let checked = 0;
    const wrong: string[] = [];
    for (const [b, { xs }] of plain.entries()) {
      const got = centred[b]!.xs;
      for (let i = 0; i < xs.length; i += 3) {
        // Padding is zero in both; elsewhere red and green name the source row and column.
        const r = xs[i]! - 1;
        const c = xs[i + 1]! - 1;
        for (let ch = 0; ch < 3; ch++) {
          const want = xs[i] === 0 ? 0 : xs[i + ch]! - f(r, c, ch);
          if (Math.abs(got[i + ch]! - want) > 1e-4)
            wrong.push(`batch ${b} value ${i + ch}: ${got[i + ch]} ≠ ${want}`);
        }
        if (xs[i] !== 0) checked++;
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(50_000);
  });

  it('can turn augmentation off, keeping the shuffle', async () => {
    const split = tracedSplit(32);
    const source = trainBatches(split, { batchSize: 32, normalization: identity, seed: 2, augment: false });
    const [first] = await take(source, 1);
    const xs = first!.xs;
    const order: number[] = [];
    for (let k = 0; k < 32; k++) {
      const t = trace(xs, k * PIXELS);
      expect([t.dx, t.dy, t.flip]).toEqual([4, 4, false]);
      order.push(t.index);
    }
    expect(order).not.toEqual(Array.from({ length: 32 }, (_, i) => i));
    source.close();
  });
});

describe('labels and tensors', () => {
  it('gives int32 labels [B] or one-hot [B, classes]', async () => {
    const split = tracedSplit(20);
    const plain = await trainBatches(split, { batchSize: 10, normalization: identity, seed: 0 }).next();
    expect([plain.xs.shape, plain.xs.dtype, plain.ys.shape, plain.ys.dtype]).toEqual([
      [10, 32, 32, 3],
      'float32',
      [10],
      'int32',
    ]);
    const hot = await trainBatches(split, {
      batchSize: 10,
      normalization: identity,
      seed: 0,
      oneHot: 10,
    }).next();
    expect([hot.ys.shape, hot.ys.dtype]).toEqual([[10, 10], 'float32']);
    const ints = await plain.ys.data();
    const rows = (await hot.ys.array()) as number[][];
    rows.forEach((row, i) => {
      expect(row.reduce((a, b) => a + b, 0)).toBe(1);
      expect(row[ints[i]!]).toBe(1);
    });
    tf.dispose([plain.xs, plain.ys, hot.xs, hot.ys]);
    expect(() => trainBatches(split, { batchSize: 10, normalization: identity, seed: 0, oneHot: 5 })).toThrow(
      /oneHot: 5 classes, but image \d+ has label [5-9]/,
    );
  });

  it('leaks no tensors, also when batches are used inside tidy', async () => {
    const split = tracedSplit(40);
    const normalization = computeNormalization(split);
    const before = tf.memory().numTensors;
    const source = trainBatches(split, { batchSize: 16, normalization, seed: 0, oneHot: 10 });
    for (let i = 0; i < 6; i++) {
      const batch = await source.next();
      const loss = tf.tidy(() =>
        tf.add(tf.mean(tf.sum(tf.mul(batch.xs, batch.xs), [1, 2, 3])), tf.sum(batch.ys)),
      );
      await loss.data();
      tf.dispose([loss, batch.xs, batch.ys]);
    }
    source.close();
    for await (const batch of evalBatches(split, { batchSize: 16, normalization }))
      tf.dispose([batch.xs, batch.ys]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(source.next()).rejects.toThrow(/closed/);
  });
});

describe('evalBatches', () => {
  it('passes once over the split in order, unaugmented, keeping the last partial batch', async () => {
    const split = tracedSplit(45);
    const sizes: number[] = [];
    const indices: number[] = [];
    for await (const batch of evalBatches(split, { batchSize: 20, normalization: identity })) {
      sizes.push(batch.size);
      const xs = (await batch.xs.data()) as Float32Array;
      for (let k = 0; k < batch.size; k++) {
        const t = trace(xs, k * PIXELS);
        expect([t.dx, t.dy, t.flip]).toEqual([4, 4, false]);
        indices.push(t.index);
      }
      tf.dispose([batch.xs, batch.ys]);
    }
    expect(sizes).toEqual([20, 20, 5]);
    expect(indices).toEqual(Array.from({ length: 45 }, (_, i) => i));
  });
});

describe('normalisation', () => {
  /** A split of random bytes with a different level per channel. */
  function randomSplit(size: number): CifarSplit {
    const images = new Uint8Array(size * PIXELS);
    let s = 12345;
    for (let i = 0; i < images.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const channel = Math.floor((i % PIXELS) / 1024);
      images[i] = Math.min(255, ((s >>> 16) % (100 + 60 * channel)) + 20 * channel + ((i % 1024) % 7));
    }
    return { images, labels: new Uint8Array(size), size };
  }

  async function statsOf(split: CifarSplit, normalization: Normalization) {
    const sum = new Float64Array(PIXELS);
    const sq = new Float64Array(PIXELS);
    for await (const batch of evalBatches(split, { batchSize: 64, normalization })) {
      const xs = await batch.xs.data();
      for (let i = 0; i < xs.length; i++) {
        sum[i % PIXELS]! += xs[i]!;
        sq[i % PIXELS]! += xs[i]! * xs[i]!;
      }
      tf.dispose([batch.xs, batch.ys]);
    }
    return { sum, sq };
  }

  it('per-channel: the channels come out with mean 0 and standard deviation 1', async () => {
    const split = randomSplit(150);
    const n = computeNormalization(split, 'per-channel');
    // Direct computation of the first channel's statistics.
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < split.size; i++) {
      for (let p = 0; p < 1024; p++) {
        const v = split.images[i * PIXELS + p]!;
        s += v;
        s2 += v * v;
      }
    }
    const m = s / (split.size * 1024);
    expect(n.mode === 'per-channel' && n.mean[0]).toBeCloseTo(m, 9);
    expect(n.mode === 'per-channel' && n.std[0]).toBeCloseTo(Math.sqrt(s2 / (split.size * 1024) - m * m), 9);
    const { sum, sq } = await statsOf(split, n);
    const count = split.size * 1024;
    for (let c = 0; c < 3; c++) {
      let cs = 0;
      let cq = 0;
      for (let p = 0; p < 1024; p++) {
        cs += sum[p * 3 + c]!;
        cq += sq[p * 3 + c]!;
      }
      expect(Math.abs(cs / count)).toBeLessThan(1e-4);
      expect(Math.sqrt(cq / count - (cs / count) ** 2)).toBeCloseTo(1, 4);
    }
  });

  it('per-pixel: every position comes out with mean 0, unscaled; the record survives JSON', async () => {
    const split = randomSplit(100);
    const n = computeNormalization(split, 'per-pixel');
    expect(n.mode === 'per-pixel' && n.mean.length).toBe(PIXELS);
    const restored = JSON.parse(JSON.stringify(n)) as Normalization;
    expect(restored).toEqual(n);
    const { sum } = await statsOf(split, restored);
    for (let k = 0; k < PIXELS; k++) expect(Math.abs(sum[k]! / split.size)).toBeLessThan(1e-3);
    // No division: the first image's first pixel is its byte minus the mean.
    const [first] = await take(
      trainBatches(split, { batchSize: 1, normalization: n, seed: 0, augment: false }),
      1,
    );
    expect(first!.xs.some((v) => Math.abs(v) > 1)).toBe(true);
  });

  it('accepts the authors constants and refuses malformed records', () => {
    const split = tracedSplit(2);
    const source = trainBatches(split, {
      batchSize: 2,
      normalization: AUTHORS_CIFAR10_NORMALIZATION,
      seed: 0,
    });
    source.close();
    const bad = { mode: 'per-channel', mean: [1, 2], std: [1, 1, 1], count: 1 } as Normalization;
    expect(() => trainBatches(split, { batchSize: 2, normalization: bad, seed: 0 })).toThrow(/3 means/);
    expect(() => computeNormalization(split, 'zca' as 'per-pixel')).toThrow(
      /unknown normalisation mode 'zca'/,
    );
  });
});
