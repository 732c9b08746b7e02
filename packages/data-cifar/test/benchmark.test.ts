// benchmarkAugmentation reports coherent figures (its speed is printed by the bench, never asserted here).
import { describe, expect, it } from 'vitest';
import { benchmarkAugmentation, PIXELS } from '../src/index.js';

describe('benchmarkAugmentation', () => {
  it('counts whole batches over the measured time, on generated or given images', async () => {
    const generated = await benchmarkAugmentation({ batchSize: 32, seconds: 0.2 });
    expect(generated.data).toBe('generated');
    expect(generated.splitSize).toBe(10_000);
    expect(generated.images).toBe(generated.batches * 32);
    expect(generated.imagesPerSec).toBeCloseTo(generated.images / generated.seconds, 6);
    expect(generated.msPerBatch).toBeCloseTo((generated.seconds * 1000) / generated.batches, 6);
    expect(generated.cpuShare).toBeGreaterThan(0);
    const split = { images: new Uint8Array(64 * PIXELS).fill(9), labels: new Uint8Array(64), size: 64 };
    const given = await benchmarkAugmentation({
      split,
      batchSize: 16,
      seconds: 0.1,
      normalization: 'per-pixel',
    });
    expect([given.data, given.splitSize, given.batchSize]).toEqual(['given', 64, 16]);
  });
});
