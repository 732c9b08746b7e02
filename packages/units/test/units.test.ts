// Tests of the Residual Units, generated from the registries: every unit × order × shortcut builds with the
// right shapes; training, save/load and leak checks; the exact layer order of each of Fig. 4's orders.
import { createLayerFactories, listShortcuts, type ShortcutArgs } from '@resnet/shortcuts';
import { expectTrainsAndRoundTrips, setUpBackend } from '@resnet/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerSqueezeExcite } from '../../../examples/src/squeeze-excite.js';
import {
  basicUnit,
  createUnit,
  defineUnit,
  isPreActivation,
  listUnits,
  oneLayerUnit,
  preActivation,
  registerUnit,
  resolveUnit,
  type UnitOrder,
  unitOrders,
  unregisterUnit,
} from '../src/index.js';

beforeAll(setUpBackend);
registerSqueezeExcite();

type SymbolicTensor = tfl.SymbolicTensor;

// Arguments that exercise each registered shortcut; a newly registered one runs with {}.
const shortcutArgs: Record<string, ShortcutArgs> = {
  scale: { shortcutScale: 0.5, residualScale: 0.5 },
  'exclusive-gate': { biasInit: -6 },
  'shortcut-gate': { biasInit: -6 },
  dropout: { rate: 0.5 },
};

interface MiniArgs {
  unit: string;
  order: UnitOrder;
  shortcut?: string;
  dimensionIncrease?: 'projection' | 'zero-pad';
}

/**
 * stem → unit a (stride 1) → unit b (stride 2, twice the width) → unit c (stride 1) → pool → dense: the
 * first unit of the net, a dimension-increasing unit and one that keeps dimensions, as in a whole ResNet.
 */
function miniNet({ unit, order, shortcut = 'identity', dimensionIncrease = 'projection' }: MiniArgs) {
  const layers = createLayerFactories({ seed: 11 });
  const pre = isPreActivation(order);
  const input = tfl.input({ shape: [8, 8, 3] });
  let x = layers.conv({ name: 'stem_conv', filters: 4, kernelSize: 3 }).apply(input) as SymbolicTensor;
  x = pre
    ? preActivation(x, order, 'stem', layers)
    : (layers.relu('stem_relu').apply(layers.batchNorm('stem_bn').apply(x)) as SymbolicTensor);
  const common = { order, shortcut, shortcutArgs: shortcutArgs[shortcut] ?? {}, dimensionIncrease, layers };
  x = createUnit(unit, { ...common, name: 'a', filters: 4, preactivated: pre })(x);
  x = createUnit(unit, { ...common, name: 'b', filters: 8, stride: 2 })(x);
  x = createUnit(unit, { ...common, name: 'c', filters: 8 })(x);
  if (pre) x = preActivation(x, order, 'final', layers);
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as SymbolicTensor;
  const out = layers
    .dense({ name: 'fc', units: 3, inFeatures: x.shape[3]!, activation: 'linear' })
    .apply(pooled);
  return tfl.model({ inputs: input, outputs: out as SymbolicTensor });
}

describe.each(listUnits())('unit %s', (unit) => {
  const expansion = resolveUnit(unit).expansion;
  describe.each([...unitOrders])('order %s', (order) => {
    it.each(listShortcuts())('builds with the %s shortcut', (shortcut) => {
      let model: tfl.LayersModel;
      try {
        model = miniNet({ unit, order, shortcut });
      } catch (error) {
        // Only the dimension-increasing shortcuts may refuse, and only with a message that says why.
        expect((error as Error).message).toMatch(/cannot/);
        return;
      }
      expect(model.getLayer('a_add').outputShape).toEqual([null, 8, 8, 4 * expansion]);
      expect(model.getLayer('b_add').outputShape).toEqual([null, 4, 4, 8 * expansion]);
      expect(model.getLayer('c_add').outputShape).toEqual([null, 4, 4, 8 * expansion]);
      expect(model.outputs[0]!.shape).toEqual([null, 3]);
      model.dispose();
    });
  });
});

async function trainSaveLoad(args: MiniArgs): Promise<void> {
  const before = tf.memory().numTensors;
  const model = miniNet(args);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
  const labels = tf.oneHot([0, 2], 3);
  await expectTrainsAndRoundTrips(model, x, labels, before);
}

describe('training step, save/load round trip, no leaks', () => {
  for (const unit of listUnits()) {
    for (const order of unitOrders) {
      it(`${unit} unit, ${order}`, () => trainSaveLoad({ unit, order }));
    }
  }
  // Table 1's shortcuts are applied to the original unit.
  for (const shortcut of listShortcuts()) {
    it(`basic unit, original, ${shortcut} shortcut`, () =>
      trainSaveLoad({ unit: 'basic', order: 'original', shortcut }));
  }
  for (const order of ['original', 'full-preact'] as const) {
    it(`basic unit, ${order}, zero-pad dimension increase`, () =>
      trainSaveLoad({ unit: 'basic', order, dimensionIncrease: 'zero-pad' }));
  }
});

/** Layer names of a unit in graph order, without the unit's prefix. */
function unitLayers(model: tfl.LayersModel, prefix: string): string[] {
  return model.layers
    .filter((l) => l.name.startsWith(`${prefix}_`))
    .map((l) => l.name.slice(prefix.length + 1));
}

describe("Fig. 4's orders, layer by layer", () => {
  // The basic unit c of the mini net keeps dimensions: identity shortcut, nothing on it.
  const expected: Record<UnitOrder, string[]> = {
    original: ['conv1', 'bn1', 'relu1', 'conv2', 'bn2', 'add', 'out_relu'],
    'bn-after-add': ['conv1', 'bn1', 'relu1', 'conv2', 'add', 'out_bn', 'out_relu'],
    'relu-before-add': ['conv1', 'bn1', 'relu1', 'conv2', 'bn2', 'relu2', 'add'],
    'relu-only-preact': ['preact_relu', 'conv1', 'bn1', 'relu1', 'conv2', 'bn2', 'add'],
    'full-preact': ['preact_bn', 'preact_relu', 'conv1', 'bn1', 'relu1', 'conv2', 'add'],
  };
  it.each([...unitOrders])('%s', (order) => {
    const model = miniNet({ unit: 'basic', order });
    expect(unitLayers(model, 'c')).toEqual(expected[order]);
    model.dispose();
  });

  it('bottleneck: 1×1 (strided), 3×3, 1×1 with 4× outputs', () => {
    const model = miniNet({ unit: 'bottleneck', order: 'full-preact' });
    const conv = (name: string) => model.getLayer(name).getConfig();
    expect([conv('b_conv1')['kernelSize'], conv('b_conv1')['strides'], conv('b_conv1')['filters']]).toEqual([
      [1, 1],
      [2, 2],
      8,
    ]);
    expect([conv('b_conv2')['kernelSize'], conv('b_conv2')['strides'], conv('b_conv2')['filters']]).toEqual([
      [3, 3],
      [1, 1],
      8,
    ]);
    expect([conv('b_conv3')['kernelSize'], conv('b_conv3')['filters']]).toEqual([[1, 1], 32]);
    // Every unit convolution has no bias: BN follows (or the next unit's BN does).
    expect(
      model.layers.filter((l) => l.name.includes('conv')).every((l) => l.getConfig()['useBias'] === false),
    ).toBe(true);
    model.dispose();
  });

  it('pre-activation: the first unit skips its activation, which the stem already applied', () => {
    const model = miniNet({ unit: 'basic', order: 'full-preact' });
    expect(unitLayers(model, 'a')).toEqual(['conv1', 'bn1', 'relu1', 'conv2', 'add']);
    expect(model.getLayer('a_conv1').inboundNodes[0]!.inboundLayers[0]!.name).toBe('stem_relu');
    model.dispose();
  });

  it('pre-activation dimension increase: the projection reads the shared pre-activated input', () => {
    for (const order of ['full-preact', 'relu-only-preact'] as const) {
      const model = miniNet({ unit: 'basic', order });
      const reads = (name: string) => model.getLayer(name).inboundNodes[0]!.inboundLayers[0]!.name;
      expect(reads('b_shortcut_conv')).toBe('b_preact_relu');
      // through the strided conv's explicit padding (Torch's 1 on every side)
      expect(reads('b_conv1_pad')).toBe('b_preact_relu');
      expect(reads('b_conv1')).toBe('b_conv1_pad');
      // a bare 1×1 conv: the input is normalised already
      expect(model.layers.some((l) => l.name === 'b_shortcut_bn')).toBe(false);
      // units that keep dimensions add the raw x
      expect(model.getLayer('c_add').inboundNodes[0]!.inboundLayers[0]!.name).toBe('b_add');
      model.dispose();
    }
  });

  it('post-activation dimension increase: conv + BN projection of x itself', () => {
    const model = miniNet({ unit: 'basic', order: 'original' });
    expect(model.getLayer('b_shortcut_conv').inboundNodes[0]!.inboundLayers[0]!.name).toBe('a_out_relu');
    expect(model.getLayer('b_shortcut_bn').inboundNodes[0]!.inboundLayers[0]!.name).toBe('b_shortcut_conv');
    model.dispose();
  });
});

describe('parameter counts', () => {
  const unitParams = (model: tfl.LayersModel, prefix: string) =>
    model.layers
      .filter((l) => l.name.startsWith(`${prefix}_`))
      .reduce(
        (sum, l) =>
          sum + l.trainableWeights.reduce((s, w) => s + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0),
        0,
      );

  it('basic full-preact unit 8→8: two 3×3 convs and two BNs', () => {
    const model = miniNet({ unit: 'basic', order: 'full-preact' });
    // convs 2·(3·3·8·8) = 1152; BN γ,β: preact 2·8 + bn1 2·8 = 32 → 1184
    expect(unitParams(model, 'c')).toBe(1184);
    // b: 4→8 stride 2: conv1 3·3·4·8 = 288, conv2 3·3·8·8 = 576, projection 1·1·4·8 = 32,
    // BN preact 2·4 = 8, bn1 2·8 = 16 → 920
    expect(unitParams(model, 'b')).toBe(920);
    model.dispose();
  });

  it('bottleneck original unit 32→(8, 8, 32): three convs, three BNs', () => {
    const model = miniNet({ unit: 'bottleneck', order: 'original' });
    // 1·1·32·8 = 256, 3·3·8·8 = 576, 1·1·8·32 = 256 → 1088; BN 2·(8 + 8 + 32) = 96 → 1184
    expect(unitParams(model, 'c')).toBe(1184);
    model.dispose();
  });

  it('one-layer original unit 8→8 with zero-pad increase: the shortcut has no weights', () => {
    const model = miniNet({ unit: 'one-layer', order: 'original', dimensionIncrease: 'zero-pad' });
    // c: 3·3·8·8 = 576 + BN 16 = 592; b: 3·3·4·8 = 288 + BN 16 = 304 (zero-pad adds nothing)
    expect(unitParams(model, 'c')).toBe(592);
    expect(unitParams(model, 'b')).toBe(304);
    model.dispose();
  });
});

describe('registry and bad input', () => {
  it('has the three units of the paper', () => {
    expect(listUnits()).toEqual(expect.arrayContaining(['basic', 'bottleneck', 'one-layer']));
  });

  it('rejects an unknown unit with the list of known ones', () => {
    expect(() => resolveUnit('wide')).toThrow(
      /unknown unit 'wide'; registered units: basic, bottleneck, one-layer/,
    );
  });

  it('rejects an unknown order with the list of orders', () => {
    expect(() => createUnit('basic', { name: 'u', filters: 4, order: 'preact' as UnitOrder })).toThrow(
      /unknown unit order 'preact'; orders \(Fig\. 4 a–e\): original, bn-after-add/,
    );
  });

  it('rejects a plain function and a duplicate name', () => {
    expect(() => registerUnit('plain', ((x: SymbolicTensor) => x) as never)).toThrow(
      /wrap it with defineUnit/,
    );
    expect(() => registerUnit('basic', basicUnit)).toThrow(/already registered/);
  });

  it('replaces a unit only when asked, and removes one', () => {
    registerUnit('test-unit', basicUnit);
    expect(() => registerUnit('test-unit', oneLayerUnit)).toThrow(
      /registerUnit: 'test-unit' is already registered; .*\{ replace: true \}/,
    );
    registerUnit('test-unit', oneLayerUnit, { replace: true });
    expect(resolveUnit('test-unit')).toBe(oneLayerUnit);
    expect(unregisterUnit('test-unit')).toBe(true);
    expect(unregisterUnit('test-unit')).toBe(false);
    expect(listUnits()).not.toContain('test-unit');
  });

  it('defineUnit hands a strict unit its layer factories and stride, defaults filled in', () => {
    // Compiles under `strict` only because args.layers and args.stride are not optional here.
    const plain = defineUnit(
      (x, args) => {
        const conv = args.layers.conv({
          name: `${args.name}_conv1`,
          filters: args.filters,
          kernelSize: 3,
          strides: args.stride,
          inChannels: x.shape[3]!,
        });
        return conv.apply(x) as SymbolicTensor;
      },
      { layersPerUnit: 1, expansion: 1 },
    );
    const x = tfl.input({ shape: [8, 8, 4] });
    const y = createUnit(plain, { name: 'u', filters: 6, order: 'full-preact' })(x);
    expect(y.shape).toEqual([null, 8, 8, 6]);
    const z = createUnit(plain, { name: 'v', filters: 6, stride: 2, order: 'full-preact' })(x);
    expect(z.shape).toEqual([null, 4, 4, 6]);
  });

  it('fails at build time on nonsense, naming the unit', () => {
    const x = tfl.input({ shape: [8, 8, 4] });
    expect(() => basicUnit(x, { name: 'u', filters: 4, order: 'original', preactivated: true })).toThrow(
      /u: 'preactivated' applies to the pre-activation orders/,
    );
    expect(() => basicUnit(x, { name: 'u', filters: 0, order: 'original' })).toThrow(
      /u: filters must be a positive integer/,
    );
    expect(() =>
      basicUnit(x, { name: 'u', filters: 2, order: 'original', dimensionIncrease: 'zero-pad' }),
    ).toThrow(/u: the 'zero-pad' shortcut cannot reduce 4 channels to 2; use 'projection'/);
    expect(() =>
      basicUnit(x, { name: 'u', filters: 8, order: 'original', dimensionIncrease: 'identity' as never }),
    ).toThrow(/u: the 'identity' shortcut cannot change dimensions/);
  });
});

// Torch pads a 3×3 convolution by 1 on every side, stride 2 included; tfjs's 'same' would pad 0 at the top
// and left and 1 at the bottom and right, so the branch would read odd pixels where the 1×1 projection reads
// even ones. The reference here is written separately: tf.pad by 1, then a 'valid' convolution.
describe('stride-2 units pad as Torch does', () => {
  function weight(model: tfl.LayersModel, name: string): tf.Tensor4D {
    return model.getLayer(name).getWeights()[0] as tf.Tensor4D;
  }
  const symmetric = (x: tf.Tensor4D, w: tf.Tensor4D) =>
    tf.conv2d(
      tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      w,
      2,
      'valid',
    );
  const project = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.conv2d(x, w, 2, 'valid');

  it.each(['one-layer', 'basic'])('%s unit: branch and projection read the same pixels', (unit) => {
    const layers = createLayerFactories({ seed: 5 });
    const input = tfl.input({ shape: [8, 8, 3] });
    // Pre-activated input and full pre-activation: y = W_s x + F(x) with no BN before the first conv.
    const out = createUnit(unit, {
      name: 'u',
      filters: 4,
      stride: 2,
      order: 'full-preact',
      preactivated: true,
      layers,
    })(input);
    const model = tfl.model({ inputs: input, outputs: out });
    expect(model.outputs[0]!.shape).toEqual([null, 4, 4, 4]);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = model.predict(x) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [expected, sameForm] = tf.tidy(() => {
      const w1 = weight(model, 'u_conv1');
      const shortcut = project(x, weight(model, 'u_shortcut_conv'));
      let branch = symmetric(x, w1);
      let same = tf.conv2d(x, w1, 2, 'same');
      if (unit === 'basic') {
        // BN in inference mode at initialisation (moving mean 0, variance 1, γ 1, β 0), ReLU, then conv2.
        const bnRelu = (t: tf.Tensor4D) => tf.relu(tf.div(t, Math.sqrt(1 + 1e-5))) as tf.Tensor4D;
        const w2 = weight(model, 'u_conv2');
        branch = tf.conv2d(bnRelu(branch), w2, 1, 'same');
        same = tf.conv2d(bnRelu(same), w2, 1, 'same');
      }
      return [tf.add(shortcut, branch), tf.add(shortcut, same)];
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    const got = y.dataSync();
    const want = expected.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    // The test can tell the two forms apart: tfjs's 'same' gives other numbers.
    const other = sameForm.dataSync();
    let sameDiff = 0;
    for (let i = 0; i < got.length; i++) sameDiff = Math.max(sameDiff, Math.abs(got[i]! - other[i]!));
    expect(sameDiff).toBeGreaterThan(0.1);
    expect(model.getLayer('u_conv1_pad').getClassName()).toBe('ZeroPadding2D');
    tf.dispose([x, y, expected, sameForm]);
    model.dispose();
  });
});
