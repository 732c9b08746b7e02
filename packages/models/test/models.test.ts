// Tests of the whole networks: depth rules, exact parameter counts, the paper's counts for the full-depth
// presets, seeded He initialisation, positional names, eq. 4, and for every table preset (at its smallest
// depth) a training step, a save/load round trip and a leak check.

import { expectTrainsAndRoundTrips, setUpBackend } from '@resnet/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerSqueezeExcite } from '../../../examples/src/squeeze-excite.js';
import { countParameters, getPreset, listPresets, presets, type ResNetConfig, resnet } from '../src/index.js';

beforeAll(setUpBackend);

type SymbolicTensor = tfl.SymbolicTensor;

const smallest: Record<string, number> = { basic: 8, bottleneck: 11, 'one-layer': 5 };

/** A preset's network at its unit's smallest depth on 8×8 inputs: the same structure, test-sized. */
function shrink(config: ResNetConfig): ResNetConfig {
  return { ...config, depth: smallest[config.unit as string]!, inputShape: [8, 8, 3], seed: 1 };
}

function weights(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

describe('depth', () => {
  it.each([
    ['basic', 20, 3],
    ['bottleneck', 29, 3],
    ['one-layer', 11, 3],
  ])('%s unit at depth %i has %i units per stage', (unit, depth, n) => {
    const model = resnet({ depth, unit, classes: 10, inputShape: [8, 8, 3] });
    expect(model.layers.some((l) => l.name === `stage3_unit${n}_add`)).toBe(true);
    expect(model.layers.some((l) => l.name === `stage3_unit${n + 1}_add`)).toBe(false);
    model.dispose();
  });

  it('rejects a depth that does not fit the unit, giving the rule', () => {
    expect(() => resnet({ depth: 32, unit: 'bottleneck', classes: 10 })).toThrow(
      /depth 32 does not fit the 'bottleneck' unit: .* must be 9n\+2 for n ≥ 1 \(11, 20, 29, 164, …\)/,
    );
    expect(() => resnet({ depth: 21, unit: 'basic', classes: 10 })).toThrow(/must be 6n\+2/);
    expect(() => resnet({ depth: 2, unit: 'one-layer', classes: 10 })).toThrow(/must be 3n\+2/);
  });

  it("reuses a preset's config at a smaller depth by spreading it", () => {
    const model = resnet({ ...getPreset('t2-full-preact-110').config, depth: 20, inputShape: [8, 8, 3] });
    expect(model.name).toBe('resnet20');
    expect(model.layers.some((l) => l.name === 'stage2_unit3_conv1')).toBe(true);
    model.dispose();
    expect(() => resnet({ ...getPreset('t2-full-preact-164').config, depth: 20 })).not.toThrow();
    expect(() => resnet({ ...getPreset('t2-full-preact-164').config, depth: 32 })).toThrow(/9n\+2/);
  });

  it('rejects bad config values with what was expected', () => {
    expect(() => resnet({ depth: 8, classes: 0 })).toThrow(/classes must be a positive integer, got 0/);
    expect(() => resnet({ depth: 8, classes: 10, widths: [16, -1] })).toThrow(/widths must be/);
    expect(() => resnet({ depth: 8, classes: 10, unit: 'resnext' })).toThrow(
      /unknown unit 'resnext'; registered units/,
    );
    expect(() => resnet({ depth: 8, classes: 10, shortcut: 'gated' })).toThrow(/unknown shortcut 'gated'/);
    expect(() => resnet({ depth: 8, classes: 10, inputShape: [32, 32] as never })).toThrow(
      /inputShape must be/,
    );
  });
});

describe('parameter counts', () => {
  it('ResNet-8, full pre-activation, CIFAR-10: exact', () => {
    const model = resnet({ depth: 8, order: 'full-preact', classes: 10 });
    // stem: conv 3·3·3·16 = 432, BN 2·16 = 32
    // stage1_unit1 (16→16, already activated): convs 2·(3·3·16·16) = 4608, bn1 32            → 4640
    // stage2_unit1 (16→32, stride 2): preact BN 32, conv1 3·3·16·32 = 4608, bn1 64,
    //   conv2 3·3·32·32 = 9216, projection 1·1·16·32 = 512 (no BN)                          → 14432
    // stage3_unit1 (32→64): preact BN 64, conv1 18432, bn1 128, conv2 36864, projection 2048  → 57536
    // final BN 128; fc 64·10 + 10 = 650
    // total 432 + 32 + 4640 + 14432 + 57536 + 128 + 650 = 77850; BN 32+32+32+64+64+128+128 = 480
    expect(countParameters(model)).toEqual({ params: 77850, paramsWithoutBN: 77370 });
    model.dispose();
  });

  it('BN per group of the batch changes no count, every BN becomes a group BN, and the net trains and loads', async () => {
    const before = tf.memory().numTensors;
    const model = resnet({ depth: 8, order: 'full-preact', classes: 10, batchNormGroups: 2, seed: 1 });
    expect(countParameters(model)).toEqual({ params: 77850, paramsWithoutBN: 77370 });
    const classes = model.layers.map((l) => l.getClassName());
    expect(classes).not.toContain('BatchNormalization');
    expect(classes.filter((c) => c === '@resnet/shortcuts>GroupBatchNormalization')).toHaveLength(7);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 2);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10));
    await expectTrainsAndRoundTrips(model, x, labels, before);
  });

  it('ResNet-8, original unit, CIFAR-10: exact', () => {
    const model = resnet({ depth: 8, order: 'original', classes: 10 });
    // stem 432 + BN 32; stage1_unit1: 4608 + 2 BN·32 = 4672
    // stage2_unit1: 4608 + 64 + 9216 + 64 + projection 512 + its BN 64 = 14528
    // stage3_unit1: 18432 + 128 + 36864 + 128 + 2048 + 128 = 57728; fc 650
    // total 432 + 32 + 4672 + 14528 + 57728 + 650 = 78042
    // BN: stem 32, stage1 2·32, stage2 3·64, stage3 3·128: 32 + 64 + 192 + 384 = 672 → 77370
    expect(countParameters(model)).toEqual({ params: 78042, paramsWithoutBN: 77370 });
    model.dispose();
  });

  it('ResNet-11 bottleneck, full pre-activation, CIFAR-100: exact', () => {
    const model = resnet({ depth: 11, unit: 'bottleneck', order: 'full-preact', classes: 100 });
    // stem 432 + BN 32
    // stage1_unit1 (16→16,16,64; projection 16→64): 256 + BN 32 + 2304 + BN 32 + 1024 + 1024   → 4672
    // stage2_unit1 (64→32,32,128, stride 2): preact BN 128, 2048 + BN 64 + 9216 + BN 64 + 4096,
    //   projection 64·128 = 8192                                                               → 23808
    // stage3_unit1 (128→64,64,256): preact BN 256, 8192 + BN 128 + 36864 + BN 128 + 16384,
    //   projection 128·256 = 32768                                                             → 94720
    // final BN 512; fc 256·100 + 100 = 25700
    // total 432 + 32 + 4672 + 23808 + 94720 + 512 + 25700 = 149876
    // BN: stem 32, stage1 32+32, stage2 128+64+64, stage3 256+128+128, final 512 = 1376 → 148500
    expect(countParameters(model)).toEqual({ params: 149876, paramsWithoutBN: 148500 });
    model.dispose();
  });

  // The paper rounds to 0.1M; for ResNet-1001 its 10.2M leaves BN out (10.18M; 10.33M with BN).
  it.each([
    ['resnet110', 'params', 1.7],
    ['preact-resnet110', 'params', 1.7],
    ['resnet164', 'params', 1.7],
    ['preact-resnet164', 'params', 1.7],
    ['resnet1001', 'paramsWithoutBN', 10.2],
    ['preact-resnet1001', 'paramsWithoutBN', 10.2],
    ['preact-resnet1001', 'params', 10.3],
    ['resnet1202', 'params', 19.4],
    ['preact-resnet1202-cifar100', 'params', 19.4],
  ] as const)("%s has the paper's %s: %fM", (name, key, millions) => {
    const model = resnet(getPreset(name).config);
    expect(Number((countParameters(model)[key] / 1e6).toFixed(1))).toBe(millions);
    model.dispose();
  });
});

describe('initialisation', () => {
  it('a seed gives the same weights; another seed, other weights; every layer its own draw', () => {
    const config: ResNetConfig = { depth: 8, classes: 10, inputShape: [8, 8, 3], seed: 42 };
    const [a, b, c] = [resnet(config), resnet(config), resnet({ ...config, seed: 43 })];
    const [wa, wb, wc] = [weights(a), weights(b), weights(c)];
    for (const [name, values] of wa) expect(wb.get(name), name).toEqual(values);
    expect(wc.get('stage1_unit1_conv1/kernel')).not.toEqual(wa.get('stage1_unit1_conv1/kernel'));
    // Equally shaped layers differ: a shared seed would make them identical.
    expect(wa.get('stage1_unit1_conv2/kernel')).not.toEqual(wa.get('stage1_unit1_conv1/kernel'));
    const kernels = [...wa].filter(([name]) => name.endsWith('/kernel')).map(([, v]) => v[0]);
    expect(new Set(kernels).size).toBe(kernels.length);
    for (const m of [a, b, c]) m.dispose();
  });

  it('convs: N(0, 2/(k·k·C_out)), no bias; BN: γ = 1, β = 0', () => {
    const model = resnet({ depth: 8, classes: 10, seed: 3 });
    const kernel = weights(model).get('stage3_unit1_conv2/kernel')!;
    // 3·3·64·64 = 36864 draws; expected std √(2/(9·64)) = 0.0589
    const std = Math.sqrt(kernel.reduce((s, v) => s + v * v, 0) / kernel.length);
    expect(Math.abs(std / Math.sqrt(2 / (9 * 64)) - 1)).toBeLessThan(0.03);
    // untruncated: some draws beyond 2σ (a truncated normal has none)
    expect(kernel.some((v) => Math.abs(v) > 2.5 * std)).toBe(true);
    for (const layer of model.layers) {
      if (layer.getClassName() === 'Conv2D') expect(layer.getConfig()['useBias'], layer.name).toBe(false);
      if (layer.getClassName() === 'BatchNormalization') {
        const [gamma, beta] = layer.getWeights();
        expect(gamma!.dataSync().every((v) => v === 1)).toBe(true);
        expect(beta!.dataSync().every((v) => v === 0)).toBe(true);
      }
    }
    model.dispose();
  });

  it('layer names come from position', () => {
    const model = resnet({ depth: 20, classes: 10, inputShape: [8, 8, 3] });
    const names = model.layers.map((l) => l.name);
    for (const name of [
      'stem_conv',
      'stage2_unit1_preact_bn',
      'stage2_unit3_conv1',
      'stage3_unit2_add',
      'final_relu',
      'fc',
    ]) {
      expect(names).toContain(name);
    }
    model.dispose();
  });
});

describe('eq. 4: x_L = x_l + Σ F(x_i) with identity shortcuts and no after-addition activation', () => {
  /** Reads x_l (the stem's output and each unit's sum) and F (each unit's last conv) of stage 1. */
  function stage1Terms(order: 'full-preact' | 'original') {
    const model = resnet({ depth: 32, order, classes: 10, inputShape: [8, 8, 3], seed: 9 });
    const n = 5;
    const xs = ['stem_relu'];
    for (let u = 1; u <= n; u++)
      xs.push(order === 'full-preact' ? `stage1_unit${u}_add` : `stage1_unit${u}_out_relu`);
    const fs = Array.from(
      { length: n },
      (_, u) => `stage1_unit${u + 1}_${order === 'full-preact' ? 'conv2' : 'bn2'}`,
    );
    const probe = tfl.model({
      inputs: model.inputs,
      outputs: [...xs, ...fs].map((name) => model.getLayer(name).output as SymbolicTensor),
    });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4);
    const outputs = (probe.predict(x) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    tf.dispose(x);
    model.dispose();
    return { x: outputs.slice(0, n + 1), f: outputs.slice(n + 1) };
  }

  it('holds for every pair l < L in a full pre-activation stage', () => {
    const { x, f } = stage1Terms('full-preact');
    for (let l = 0; l < x.length; l++) {
      for (let L = l + 1; L < x.length; L++) {
        const scale = Math.max(...x[L]!.map(Math.abs));
        let worst = 0;
        for (let i = 0; i < x[L]!.length; i++) {
          let sum = x[l]![i]!;
          for (let u = l; u < L; u++) sum += f[u]![i]!;
          worst = Math.max(worst, Math.abs(x[L]![i]! - sum));
        }
        expect(worst / scale).toBeLessThan(1e-5);
      }
    }
  });

  it('fails for the original unit, whose ReLU after the addition breaks it', () => {
    const { x, f } = stage1Terms('original');
    const last = x.length - 1;
    let worst = 0;
    for (let i = 0; i < x[last]!.length; i++) {
      let sum = x[0]![i]!;
      for (const fi of f) sum += fi[i]!;
      worst = Math.max(worst, Math.abs(x[last]![i]! - sum));
    }
    expect(worst).toBeGreaterThan(1e-2);
  });
});

describe('presets', () => {
  it('have exactly the names the bench maps the tables onto', () => {
    const orders = ['original', 'bn-after-add', 'relu-before-add', 'relu-only-preact', 'full-preact'];
    const expected = [
      ...[
        'original',
        'scale-0-1',
        'scale-0.5-1',
        'scale-0.5-0.5',
        'exclusive-gate-bg0',
        'exclusive-gate-bg-6',
        'exclusive-gate-bg-7',
        'shortcut-gate-bg0',
        'shortcut-gate-bg-6',
        'conv1x1',
        'dropout-0.5',
      ].map((r) => `t1-${r}`),
      ...orders.flatMap((o) => [`t2-${o}-110`, `t2-${o}-164`]),
      ...['c10-110-1layer', 'c10-110', 'c10-164', 'c10-1001', 'c100-164', 'c100-1001'].flatMap((r) => [
        `t3-${r}-original`,
        `t3-${r}-preact`,
      ]),
      ...[110, 164, 1001, 1202].flatMap((d) =>
        [`resnet${d}`, `preact-resnet${d}`].flatMap((n) => [n, `${n}-cifar100`]),
      ),
    ];
    expect(listPresets().sort()).toEqual(expected.sort());
  });

  it('are plain data that survive JSON, with the dataset matching the classes', () => {
    for (const preset of Object.values(presets)) {
      expect(JSON.parse(JSON.stringify(preset))).toEqual(preset);
      expect(preset.dataset).toBe(preset.config.classes === 100 ? 'cifar100' : 'cifar10');
    }
  });

  it('follow the tables', () => {
    expect(getPreset('t1-scale-0.5-0.5').config).toMatchObject({
      depth: 110,
      unit: 'basic',
      order: 'original',
      shortcut: 'scale',
      shortcutArgs: { shortcutScale: 0.5, residualScale: 0.5 },
      dimensionIncrease: 'projection',
    });
    expect(getPreset('t1-exclusive-gate-bg-7').config.shortcutArgs).toEqual({ biasInit: -7 });
    expect(getPreset('t2-relu-before-add-164').config).toMatchObject({
      depth: 164,
      unit: 'bottleneck',
      order: 'relu-before-add',
    });
    expect(getPreset('t3-c10-110-1layer-preact').config).toMatchObject({
      depth: 110,
      unit: 'one-layer',
      order: 'full-preact',
    });
    expect(getPreset('t3-c100-1001-original')).toMatchObject({
      dataset: 'cifar100',
      config: { classes: 100, depth: 1001 },
    });
    expect(getPreset('preact-resnet1202').config).toMatchObject({ unit: 'basic', order: 'full-preact' });
  });

  it('getPreset rejects an unknown name with the list, and returns a copy', () => {
    expect(() => getPreset('resnet56')).toThrow(/unknown preset 'resnet56'; presets: t1-original, /);
    getPreset('resnet110').config.depth = 20;
    expect(getPreset('resnet110').config.depth).toBe(110);
  });

  // Every table row: the same unit, order and shortcut at the smallest depth on 8×8 inputs.
  const tableRows = listPresets().filter((name) => /^t[123]-/.test(name));
  it.each(tableRows)('%s trains a step, saves and loads, leaks nothing', async (name) => {
    const before = tf.memory().numTensors;
    const model = resnet(shrink(getPreset(name).config));
    const classes = getPreset(name).config.classes;
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    const labels = tf.oneHot([0, 1], classes);
    await expectTrainsAndRoundTrips(model, x, labels, before);
  });
});

describe('a user-defined unit', () => {
  it('a squeeze-and-excitation unit, registered by name, trains for a step', async () => {
    // The examples' unit (examples/src/squeeze-excite.ts): the basic unit's convolutions with an SE gate on F(x).
    registerSqueezeExcite();

    const before = tf.memory().numTensors;
    const model = resnet({
      depth: 8,
      unit: 'squeeze-excite',
      order: 'full-preact',
      classes: 3,
      inputShape: [8, 8, 3],
      seed: 2,
    });
    expect(model.layers.some((l) => l.name === 'stage2_unit1_se_scale')).toBe(true);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 6);
    const y = tf.oneHot([0, 1, 2, 0], 3);
    const kernelBefore = model.getLayer('stage2_unit1_se_expand').getWeights()[0]!.dataSync().slice();
    const loss = (await model.trainOnBatch(x, y)) as number;
    expect(Number.isFinite(loss)).toBe(true);
    const kernelAfter = model.getLayer('stage2_unit1_se_expand').getWeights()[0]!.dataSync();
    expect(Array.from(kernelAfter)).not.toEqual(Array.from(kernelBefore));
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
