// The gradient analysis on real Table 1 networks at initialisation: one finite, positive norm per unit input
// (found from the positional layer names), and the ordering the paper's eqs. 5 and 8 predict between the
// identity shortcut, λ = 0.5 scaling and the plain net (λ = 0).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { analyzeGradients, formatGradientTable } from '../src/gradients.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';

describe('analyze gradients', () => {
  it('keeps the identity shortcut’s gradient the steadiest from the last unit to the first', async () => {
    await import('@resnet/backend').then((b) => b.initBackend({ backend }));
    const before = tf.memory().numTensors;
    // ResNet-56: 27 units, 9 per stage, 24 of them with the variant's shortcut (the first unit of stages 2
    // and 3 and the stem-side unit keep projections in every variant, as in the paper).
    const analysis = await analyzeGradients({
      depth: 56,
      batchSize: 8,
      backend,
      seed: 1,
      rows: ['original', 'scale-0.5-1', 'scale-0-1'],
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(analysis.variants.map((v) => v.row)).toEqual(['original', 'scale-0-1', 'scale-0.5-1']);
    for (const v of analysis.variants) {
      expect(v.units).toHaveLength(27);
      expect(v.units[0]!.unit).toBe('stage3_unit9');
      expect(v.units[26]!.unit).toBe('stage1_unit1');
      for (const u of v.units) expect(u.norm).toBeGreaterThan(0);
      expect(Number.isFinite(v.ratio)).toBe(true);
    }
    const ratio = Object.fromEntries(analysis.variants.map((v) => [v.row, v.ratio]));
    // With BN on batch statistics every variant's gradient grows toward the input at initialisation; the
    // identity shortcut keeps it closest to the last unit's, λ = 0.5 departs more, the plain net most.
    expect(ratio['original']! * 5).toBeLessThan(ratio['scale-0.5-1']!);
    expect(ratio['scale-0.5-1']!).toBeLessThan(ratio['scale-0-1']!);
    expect(formatGradientTable(analysis)).toContain('ResNet-56 (original unit, 27 units)');
  });
});
