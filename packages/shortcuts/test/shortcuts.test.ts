// Tests of the shortcuts: the exact arithmetic of each variant, and, for every registered shortcut, shape,
// gradient, save/load and leak checks generated from the registry.

import { expectTrainsAndRoundTrips, setUpBackend } from '@resnet/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createLayerFactories,
  createShortcut,
  identityShortcut,
  listShortcuts,
  OneMinus,
  registerShortcut,
  resolveShortcut,
  Scale,
  type ShortcutArgs,
  type ShortcutContext,
  type ShortcutFn,
  unregisterShortcut,
  ZeroPadChannels,
} from '../src/index.js';

beforeAll(setUpBackend);

/** A two-input model [x, F] → shortcut(x, F): lets a test feed F directly. */
function pairModel(name: string, args: ShortcutArgs, context: Partial<ShortcutContext>, shapes: number[][]) {
  const x = tfl.input({ shape: shapes[0]!, name: 'x' });
  const f = tfl.input({ shape: shapes[1]!, name: 'f' });
  const ctx: ShortcutContext = {
    name: 'unit',
    stride: 1,
    filters: shapes[1]![2]!,
    layers: createLayerFactories({ seed: 7 }),
    ...context,
  };
  const y = createShortcut(name, args)(x, f, ctx);
  return tfl.model({ inputs: [x, f], outputs: y });
}

function expectClose(got: number[], expected: number[]): void {
  expect(got.length).toBe(expected.length);
  for (const [i, v] of expected.entries()) expect(got[i]).toBeCloseTo(v, 5);
}

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

const xs = () => tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 1);
const fs = () => tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 2);

function predict(model: tfl.LayersModel, inputs: tf.Tensor[]): tf.Tensor {
  return model.predict(inputs) as tf.Tensor;
}

describe('arithmetic of each shortcut', () => {
  it('identity: y = x + F', () => {
    const model = pairModel('identity', {}, {}, [
      [4, 4, 3],
      [4, 4, 3],
    ]);
    const [x, f] = [xs(), fs()];
    expect(values(predict(model, [x, f]))).toEqual(values(tf.add(x, f)));
  });

  it.each([
    [0, 1],
    [0.5, 1],
    [0.5, 0.5],
  ])('scale %f/%f: y = λx + μF', (lambda, mu) => {
    const model = pairModel('scale', { shortcutScale: lambda, residualScale: mu }, {}, [
      [4, 4, 3],
      [4, 4, 3],
    ]);
    const [x, f] = [xs(), fs()];
    const expected = tf.add(tf.mul(x, lambda), tf.mul(f, mu));
    const got = values(predict(model, [x, f]));
    expectClose(got, values(expected));
  });

  it.each(['exclusive-gate', 'shortcut-gate'])('%s: g = σ(W_g x + b_g) splits x and F', (name) => {
    const model = pairModel(name, { biasInit: -6 }, {}, [
      [4, 4, 3],
      [4, 4, 3],
    ]);
    const gateLayer = model.getLayer('unit_shortcut_gate');
    const [kernel, bias] = gateLayer.getWeights();
    // The bias starts at b_g.
    expect(values(bias!)).toEqual([-6, -6, -6]);
    const [x, f] = [xs(), fs()];
    const g = tf.sigmoid(tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'), bias!));
    const h = tf.mul(tf.sub(1, g), x);
    const expected = name === 'exclusive-gate' ? tf.add(h, tf.mul(g, f)) : tf.add(h, f);
    const got = values(predict(model, [x, f]));
    expectClose(got, values(expected));
  });

  it('conv1x1: y = W_s x + F, no BN', () => {
    const model = pairModel('conv1x1', {}, {}, [
      [4, 4, 3],
      [4, 4, 3],
    ]);
    expect(model.layers.map((l) => l.getClassName())).not.toContain('BatchNormalization');
    const [kernel] = model.getLayer('unit_shortcut_conv').getWeights();
    const [x, f] = [xs(), fs()];
    const expected = tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'), f);
    const got = values(predict(model, [x, f]));
    expectClose(got, values(expected));
  });

  it('dropout: identity at inference, drops (and rescales) x in training', () => {
    const model = pairModel('dropout', { rate: 0.5 }, {}, [
      [4, 4, 3],
      [4, 4, 3],
    ]);
    const [x, f] = [xs(), fs()];
    expect(values(predict(model, [x, f]))).toEqual(values(tf.add(x, f)));
    const trained = model.apply([x, f], { training: true }) as tf.Tensor;
    const h = values(tf.sub(trained, f));
    const xv = values(x);
    let dropped = 0;
    h.forEach((v, i) => {
      if (Math.abs(v) < 1e-6) dropped++;
      else expect(v).toBeCloseTo(2 * xv[i]!, 4);
    });
    // 96 elements at rate 0.5: some dropped, some kept.
    expect(dropped).toBeGreaterThan(10);
    expect(dropped).toBeLessThan(86);
  });

  it('projection with stride 2 and BN: y = BN(W_s x[::2, ::2]) + F', () => {
    const model = pairModel('projection', {}, { stride: 2, filters: 6, normalizeProjection: true }, [
      [4, 4, 3],
      [2, 2, 6],
    ]);
    expect(model.outputs[0]!.shape).toEqual([null, 2, 2, 6]);
    const [kernel] = model.getLayer('unit_shortcut_conv').getWeights();
    const x = xs();
    const f = tf.randomNormal([2, 2, 2, 6], 0, 1, 'float32', 3);
    // A fresh BN at inference divides by √(1 + ε) (moving mean 0, variance 1).
    const projected = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 2, 'same');
    const expected = tf.add(tf.div(projected, Math.sqrt(1 + 1e-5)), f);
    const got = values(predict(model, [x, f]));
    expectClose(got, values(expected));
  });

  it('zero-pad (option A): subsample by the stride, zeros in the new channels', () => {
    const model = pairModel('zero-pad', {}, { stride: 2, filters: 5 }, [
      [4, 4, 3],
      [2, 2, 5],
    ]);
    expect(model.countParams()).toBe(0);
    const x = tf.reshape(tf.range(0, 2 * 4 * 4 * 3), [2, 4, 4, 3]);
    const f = tf.zeros([2, 2, 2, 5]);
    const y = predict(model, [x, f]).arraySync() as number[][][][];
    const xa = x.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) expect(y[b]![i]![j]).toEqual([...xa[b]![2 * i]![2 * j]!, 0, 0]);
  });
});

describe('ZeroPadChannels', () => {
  it('subsamples odd maps from the first row and column, and passes gradients to the kept pixels', () => {
    const layer = new ZeroPadChannels({ name: 'pad', channels: 2, stride: 2 });
    const x = tf.reshape(tf.range(0, 25), [1, 5, 5, 1]);
    const y = layer.apply(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 3, 3, 2]);
    expect(values(y)).toEqual([0, 0, 2, 0, 4, 0, 10, 0, 12, 0, 14, 0, 20, 0, 22, 0, 24, 0]);
    const grad = tf.grad((input: tf.Tensor) => tf.sum(layer.apply(input) as tf.Tensor))(x);
    const kept = new Set([0, 2, 4, 10, 12, 14, 20, 22, 24]);
    expect(values(grad)).toEqual(Array.from({ length: 25 }, (_, i) => (kept.has(i) ? 1 : 0)));
  });

  it('declares its config and a prefixed class name', () => {
    const layer = new ZeroPadChannels({ name: 'pad', channels: 8, stride: 2 });
    const config = layer.getConfig();
    expect(config).toMatchObject({ channels: 8, stride: 2 });
    expect(ZeroPadChannels.className).toBe('@resnet/shortcuts>ZeroPadChannels');
    expect(Scale.className).toBe('@resnet/shortcuts>Scale');
    expect(OneMinus.className).toBe('@resnet/shortcuts>OneMinus');
  });

  it('loads a model saved under the earlier `resnet>` class names into the same layers', async () => {
    const x = tfl.input({ shape: [4, 4, 1] });
    const y = new Scale({ name: 'half', scale: 0.5 }).apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: x, outputs: y });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const topology = JSON.stringify(saved!.modelTopology);
    expect(topology).toContain('"@resnet/shortcuts>Scale"');
    const legacy = {
      ...saved!,
      modelTopology: JSON.parse(topology.replace('@resnet/shortcuts>', 'resnet>')),
    };
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(legacy));
    expect(loaded.getLayer('half')).toBeInstanceOf(Scale);
    const input = tf.ones([1, 4, 4, 1]);
    const out = loaded.predict(input) as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual(new Array(16).fill(0.5));
    tf.dispose([input, out]);
    model.dispose();
    loaded.dispose();
  });
});

describe('registry', () => {
  it('holds every shortcut of Fig. 2 and both dimension-increasing ones', () => {
    expect(listShortcuts()).toEqual(
      expect.arrayContaining([
        'identity',
        'scale',
        'exclusive-gate',
        'shortcut-gate',
        'conv1x1',
        'dropout',
        'projection',
        'zero-pad',
      ]),
    );
  });

  it('rejects an unknown name with the list of known ones', () => {
    expect(() => createShortcut('gated')).toThrow(
      /unknown shortcut 'gated'; registered shortcuts: identity, scale/,
    );
  });

  it('rejects a duplicate name and an unknown argument', () => {
    expect(() => registerShortcut('identity', (x) => x)).toThrow(/already registered/);
    expect(() =>
      pairModel('scale', { lambda: 0.5 }, {}, [
        [4, 4, 3],
        [4, 4, 3],
      ]),
    ).toThrow(/unknown argument 'lambda' \(accepted: shortcutScale, residualScale\)/);
  });

  it('rejects identity-like shortcuts across a dimension change, naming the way out', () => {
    expect(() =>
      pairModel('identity', {}, { stride: 2, filters: 6 }, [
        [4, 4, 3],
        [2, 2, 6],
      ]),
    ).toThrow(/unit: the 'identity' shortcut cannot change dimensions.*'projection' or 'zero-pad'/);
  });

  it('replaces an entry only when asked, and removes one', () => {
    const custom: ShortcutFn = (x, residual, context) =>
      tfl.layers.add({ name: `${context.name}_custom_add` }).apply([x, residual]) as tfl.SymbolicTensor;
    registerShortcut('test-custom', custom);
    expect(resolveShortcut('test-custom')).toBe(custom);
    expect(() => registerShortcut('test-custom', identityShortcut)).toThrow(
      /registerShortcut: 'test-custom' is already registered; .*\{ replace: true \}/,
    );
    registerShortcut('test-custom', identityShortcut, { replace: true });
    expect(resolveShortcut('test-custom')).toBe(identityShortcut);
    expect(unregisterShortcut('test-custom')).toBe(true);
    expect(unregisterShortcut('test-custom')).toBe(false);
    expect(listShortcuts()).not.toContain('test-custom');
    expect(() => resolveShortcut('test-custom')).toThrow(/unknown shortcut 'test-custom'/);
  });

  it('rejects what is not a shortcut, by name and passed through', () => {
    expect(() => registerShortcut('', identityShortcut)).toThrow(/name must be a non-empty string/);
    expect(() => registerShortcut('bad', 42 as never)).toThrow(
      /registerShortcut\('bad'\): expected a shortcut function .*got number/,
    );
    expect(() => resolveShortcut({} as never)).toThrow(/resolveShortcut: expected a shortcut function/);
  });

  it('accepts a function in place of a name', () => {
    const x = tfl.input({ shape: [4, 4, 3] });
    const f = tfl.input({ shape: [4, 4, 3] });
    const y = createShortcut(
      (a, b, ctx) => tfl.layers.add({ name: `${ctx.name}_custom_add` }).apply([a, b]) as tfl.SymbolicTensor,
    )(x, f, { name: 'u', stride: 1, filters: 3, layers: createLayerFactories() });
    expect(y.shape).toEqual([null, 4, 4, 3]);
    expect(y.sourceLayer.name).toBe('u_custom_add');
  });
});

// Arguments that exercise each registered shortcut; a newly registered one runs with {}.
const exampleArgs: Record<string, ShortcutArgs> = {
  scale: { shortcutScale: 0.5, residualScale: 0.5 },
  'exclusive-gate': { biasInit: -6 },
  'shortcut-gate': { biasInit: -6 },
  dropout: { rate: 0.5 },
};

/** x → conv (F) → shortcut → pool → dense: a trainable graph around one shortcut. */
function unitModel(name: string, stride: number, filters: number): tfl.LayersModel {
  const layers = createLayerFactories({ seed: 3 });
  const x = tfl.input({ shape: [4, 4, 3] });
  const f = layers
    .conv({ name: 'unit_conv', filters, kernelSize: 3, strides: stride })
    .apply(x) as tfl.SymbolicTensor;
  const y = createShortcut(name, exampleArgs[name] ?? {})(x, f, {
    name: 'unit',
    stride,
    filters,
    layers,
    normalizeProjection: true,
  });
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(y) as tfl.SymbolicTensor;
  const out = layers.dense({ name: 'fc', units: 2, inFeatures: filters }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: out });
}

describe.each(listShortcuts())('registered shortcut %s', (name) => {
  it('keeps dimensions, trains, saves and loads, leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const model = unitModel(name, 1, 3);
    expect(model.outputs[0]!.shape).toEqual([null, 2]);
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5);
    const labels = tf.oneHot([0, 1], 2);
    await expectTrainsAndRoundTrips(model, x, labels, before);
  });

  it('either increases dimensions or says it cannot', () => {
    let model: tfl.LayersModel | undefined;
    try {
      model = unitModel(name, 2, 6);
    } catch (error) {
      expect((error as Error).message).toMatch(/cannot change dimensions/);
      return;
    }
    expect(model.outputs[0]!.shape).toEqual([null, 2]);
    expect(model.getLayer('unit_add').outputShape).toEqual([null, 2, 2, 6]);
    model.dispose();
  });
});
