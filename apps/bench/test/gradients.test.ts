// The gradient analysis on real pre-activation networks at initialisation: the shortcut term of eqs. 5 and 8
// (exactly constant for the identity, × λ per unit for scaling), the total above it, the JSON the CLI prints,
// the figure, and the refusals (a post-activation net, an unknown variant).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resnet } from '@resnet/models';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeGradients,
  chainGradients,
  formatGradientTable,
  type GradientAnalysis,
  gradientFigureSvg,
  gradientVariants,
  stageChains,
  type VariantGradients,
} from '../src/gradients.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';

/** The points of one stage of a variant, from its first chain unit to x_L. */
function stageValues(v: VariantGradients, stage: number, key: 'shortcutTerm' | 'total'): number[] {
  return v[key].filter((_, i) => v.stage[i] === stage);
}

describe('analyze gradients', () => {
  let analysis: GradientAnalysis;
  let byId: Record<string, VariantGradients>;
  let numTensorsBefore: number;

  beforeAll(async () => {
    await import('@resnet/backend').then((b) => b.initBackend({ backend }));
    numTensorsBefore = tf.memory().numTensors;
    // Pre-activation ResNet-56: 9 basic units per stage; the chains hold 9, 8 and 8 units (the first unit of
    // stages 2 and 3 keeps its projection in every variant).
    analysis = await analyzeGradients({
      depth: 56,
      batchSize: 4,
      backend,
      seed: 1,
      variants: ['scale-2-1', 'original', 'scale-0.5-1', 'scale-0-1', 'exclusive-gate-bg-6'],
    });
    byId = Object.fromEntries(analysis.variants.map((v) => [v.id, v]));
  }, 120_000);

  it('leaks no tensors and keeps the variants in Table 1’s order, λ = 2 last', () => {
    expect(tf.memory().numTensors).toBe(numTensorsBefore);
    expect(analysis.variants.map((v) => v.id)).toEqual([
      'original',
      'scale-0-1',
      'scale-0.5-1',
      'exclusive-gate-bg-6',
      'scale-2-1',
    ]);
    expect(analysis).toMatchObject({ depth: 56, unit: 'basic', order: 'full-preact', unitsPerStage: 9 });
  });

  it('gives, per variant, the JSON fields the CLI prints', () => {
    const json = JSON.parse(JSON.stringify(analysis)) as GradientAnalysis;
    for (const v of json.variants) {
      expect(typeof v.id).toBe('string');
      expect(typeof v.shortcutFactor).toBe('number');
      // 9 + 8 + 8 chain units and one x_L per stage.
      expect(v.shortcutTerm).toHaveLength(28);
      expect(v.total).toHaveLength(28);
      expect(v.points).toHaveLength(28);
      for (const x of [...v.shortcutTerm, ...v.total]) expect(typeof x).toBe('number');
      expect(v.stages.map((s) => s.units)).toEqual([9, 8, 8]);
    }
    const o = json.variants[0]!;
    expect(o.points.slice(0, 2)).toEqual(['stage1_unit1', 'stage1_unit2']);
    expect(o.points.slice(8, 11)).toEqual(['stage1_unit9', 'stage1_output', 'stage2_unit2']);
    expect(o.position.slice(8, 11)).toEqual([9, 10, 11]);
    expect(o.points.at(-1)).toBe('stage3_output');
    expect(o.position.at(-1)).toBe(28);
  });

  it('carries ∂E/∂x_L unchanged through identity shortcuts (eq. 5): exactly constant within a stage', () => {
    const o = byId['original']!;
    expect(o.shortcutFactor).toBe(1);
    const atOutputs = [1, 2, 3].map((stage) => {
      const s = stageValues(o, stage, 'shortcutTerm');
      for (const x of s) expect(x).toBe(s.at(-1));
      return s.at(-1)!;
    });
    // Three stages, three different x_L: the constant is each stage's own ∂E/∂x_L.
    expect(new Set(atOutputs).size).toBe(3);
    expect(o.shortcutTerm.every((x) => x > 0)).toBe(true);
  });

  it('multiplies the shortcut term by λ per unit (eq. 8): 0.5 and 2 within 5%, 0 for the plain net', () => {
    for (const [id, lambda] of [
      ['scale-0.5-1', 0.5],
      ['scale-2-1', 2],
    ] as const) {
      const v = byId[id]!;
      expect(Math.abs(v.shortcutFactor / lambda - 1)).toBeLessThan(0.05);
      for (const stage of [1, 2, 3]) {
        const s = stageValues(v, stage, 'shortcutTerm');
        for (let i = 0; i + 1 < s.length; i++)
          expect(Math.abs(s[i]! / s[i + 1]! / lambda - 1)).toBeLessThan(0.05);
      }
    }
    const plain = byId['scale-0-1']!;
    expect(plain.shortcutFactor).toBe(0);
    for (const stage of [1, 2, 3]) {
      const s = stageValues(plain, stage, 'shortcutTerm');
      expect(s.slice(0, -1).every((x) => x === 0)).toBe(true);
      expect(s.at(-1)).toBeGreaterThan(0);
    }
    // b_g = −6: 1 − g ≈ 0.9975 at initialisation; the measured Jacobian includes g's own dependence on x.
    const gate = byId['exclusive-gate-bg-6']!;
    expect(gate.shortcutFactor).toBeGreaterThan(0.97);
    expect(gate.shortcutFactor).toBeLessThan(1);
  });

  it('keeps the total at or above the shortcut term, equal at x_L, and well above it where F adds', () => {
    for (const id of ['original', 'scale-0.5-1', 'scale-2-1', 'scale-0-1']) {
      const v = byId[id]!;
      expect(v.total.every((t) => Number.isFinite(t) && t > 0)).toBe(true);
      v.total.forEach((t, i) => {
        // The F terms at initialisation are nearly uncorrelated with ∂E/∂x_L, so their energy adds; the
        // cross term can take back a hair (0.05% at most at depth 110, dropout aside).
        expect(t).toBeGreaterThanOrEqual(v.shortcutTerm[i]! * 0.995);
        if (v.points[i]!.endsWith('_output')) expect(t).toBe(v.shortcutTerm[i]);
      });
    }
    // At the first unit of stage 1 the F paths add to the identity's shortcut term; under λ = 0.5 they are
    // nearly all of the gradient.
    expect(byId['original']!.total[0]! / byId['original']!.shortcutTerm[0]!).toBeGreaterThan(1.5);
    expect(byId['scale-0.5-1']!.total[0]! / byId['scale-0.5-1']!.shortcutTerm[0]!).toBeGreaterThan(100);
  });

  it('prints a table and draws one panel per variant with both curves', async () => {
    expect(formatGradientTable(analysis)).toContain('pre-activation ResNet-56 (basic, 9 units per stage)');
    const svg = await gradientFigureSvg(analysis);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['shortcut term', 'total', 'scale-0.5-1', 'scale-2-1', 'exclusive-gate-bg-6']) {
      expect(svg).toContain(text);
    }
  });
});

describe('chainGradients', () => {
  beforeAll(async () => {
    await import('@resnet/backend').then((b) => b.initBackend({ backend }));
  });

  it('undoes its loss scale: the same RMS values on 2^−64 · E', async () => {
    const model = resnet({ depth: 8, classes: 10, order: 'full-preact', seed: 3, shortcut: 'identity' });
    const xs = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5);
    const ys = tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10);
    try {
      const plain = await chainGradients(model, xs, ys);
      const scaled = await chainGradients(model, xs, ys, { lossScale: 2 ** -64 });
      expect(scaled.loss).toBe(plain.loss);
      for (const key of ['total', 'shortcutTerm'] as const) {
        const a = plain[key].flat();
        const b = scaled[key].flat();
        expect(b).toHaveLength(a.length);
        for (const [i, x] of a.entries()) expect(b[i]! / x).toBeCloseTo(1, 5);
      }
    } finally {
      model.dispose();
      tf.dispose([xs, ys]);
    }
  });

  it('equals ∂E/∂x_l of the same net with F detached at each addition (exclusive gating, b_g = 0)', async () => {
    // An independent route to the shortcut term of the last stage: run the net with every chain unit's
    // residual operand cut off from the gradient at its addition (zero gradient), and take ∂E/∂x_l.
    const model = resnet({
      depth: 20,
      classes: 10,
      order: 'full-preact',
      shortcut: 'exclusive-gate',
      shortcutArgs: { biasInit: 0 },
      seed: 2,
    });
    const xs = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 9);
    const ys = tf.oneHot(tf.tensor1d([3, 4], 'int32'), 10);
    const detach = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: (inputs[0] as tf.Tensor).clone(),
      gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
    }));
    try {
      const measured = await chainGradients(model, xs, ys);
      const chain = stageChains(model)[2]!;
      expect(chain.units.map((u) => u.unit)).toEqual(['stage3_unit2', 'stage3_unit3']);
      const probed = chain.units.map((u) => u.input.id);
      const rmsValues = tf.tidy(() => {
        const probes = chain.units.map((u) => tf.zeros([2, ...u.input.shape.slice(1)] as number[]));
        const grads = tf.grads((...p: tf.Tensor[]) => {
          const values = new Map<number, tf.Tensor>([[model.inputs[0]!.id, xs]]);
          for (const layer of model.layers) {
            const node = layer.inboundNodes[0]!;
            if (node.inboundLayers.length === 0) continue;
            let args = node.inputTensors.map((t) => values.get(t.id)!);
            if (layer.name === 'fc') {
              const [kernel, bias] = layer.getWeights();
              const logits = tf.add(tf.matMul(args[0] as tf.Tensor2D, kernel as tf.Tensor2D), bias!);
              return tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.logSoftmax(logits)), -1))) as tf.Scalar;
            }
            const unit = chain.units.find((u) => layer.name === `${u.unit}_add`);
            if (unit) {
              args = node.inputTensors.map((t, i) =>
                t.id === unit.shortcut.id ? args[i]! : (detach(args[i]!) as tf.Tensor),
              );
            }
            const out = layer.apply(args.length === 1 ? args[0]! : args, {
              ...node.callArgs,
              training: true,
            }) as tf.Tensor;
            const t = node.outputTensors[0]!;
            const i = probed.indexOf(t.id);
            values.set(t.id, i >= 0 ? tf.add(out, p[i]!) : out);
          }
          throw new Error('no fc layer');
        })(probes);
        return grads.map((g) => tf.sqrt(tf.mean(tf.square(g))).dataSync()[0]!);
      });
      const shortcut = measured.shortcutTerm[2]!;
      for (const [i, r] of rmsValues.entries()) expect(Math.abs(shortcut[i]! / r - 1)).toBeLessThan(1e-4);
      // And gating's shortcut is not the identity: the term changes from unit to unit.
      expect(Math.abs(shortcut[0]! / shortcut[2]! - 1)).toBeGreaterThan(0.1);
    } finally {
      model.dispose();
      tf.dispose([xs, ys]);
    }
  });

  it('refuses a post-activation net, where f is not the identity', () => {
    const model = resnet({ depth: 8, classes: 10, order: 'original', seed: 1 });
    try {
      expect(() => stageChains(model)).toThrow(/f is not the identity.*pre-activation units/);
    } finally {
      model.dispose();
    }
  });

  it('names the variants when given an unknown one', async () => {
    await expect(analyzeGradients({ depth: 20, batchSize: 1, backend, variants: ['nope'] })).rejects.toThrow(
      /unknown variant\(s\) nope; .*original, .*scale-0.5-1, .*scale-2-1/,
    );
    expect(gradientVariants().filter((v) => v.tableRow)).toHaveLength(11);
  });
});

describe('bench analyze gradients (CLI)', () => {
  it('prints the JSON and writes the figure', () => {
    const out = mkdtempSync(join(tmpdir(), 'resnet-gradients-'));
    try {
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--conditions=@resnet/source',
          'src/cli.ts',
          'analyze',
          'gradients',
          ...['--depth', '20', '--batch', '2', '--variants', 'original,scale-0.5-1', '--backend', backend],
          ...['--out', out, '--json'],
        ],
        { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', timeout: 120_000 },
      );
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.status).toBe(0);
      const json = JSON.parse(r.stdout) as GradientAnalysis;
      expect(json.variants.map((v) => v.id)).toEqual(['original', 'scale-0.5-1']);
      expect(json.variants[1]!.shortcutFactor).toBeCloseTo(0.5, 6);
      expect(readFileSync(join(out, 'gradients-resnet20.svg'), 'utf8')).toContain('<svg');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 130_000);
});
