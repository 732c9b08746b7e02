// The gradient analysis of `analyze gradients`: the paper's eqs. 4, 5 and 8 measured on real networks at
// initialisation. In a pre-activation net (Fig. 4(e): f is the identity) a stage's output is
// x_L = h(…h(x_l)…) + Σ F, so ∂E/∂x_l = ∂E/∂x_L · Π_i ∂h_i/∂x_i + (the terms through the F's): the first
// term is the shortcut term (eq. 5 with h = identity: ∂E/∂x_L itself; eq. 8 with h = λx: Π λ_i · ∂E/∂x_L).
// For every variant of Table 1 (and λ = 2, eq. 8's exploding side) this file measures, for the input x_l of
// every unit of a stage, the per-element RMS of the total ∂E/∂x_l and of its shortcut term.
//
// Stage boundaries: the first unit of stages 2 and 3 (and of stage 1 in bottleneck nets) changes dimensions
// and keeps a projection in every variant, as in the paper, so a stage's chain runs from the first unit that
// keeps dimensions to the stage's output x_L (the next stage's input, or the input of the final BN-ReLU);
// x_L's gradient is the true total one, and no chain passes through a projection. Sizes never mix: every
// number is an RMS over one tensor's elements, and the tensors of one chain all have x_L's shape.
//
// tfjs-layers offers gradients only with respect to variables, and a sub-model cannot start at an
// intermediate symbolic tensor, so the network's graph is executed here layer by layer on concrete tensors,
// with a zero "probe" added to each x_l: ∂E/∂probe_l = ∂E/∂x_l, and tf.grads gives them all at once. The
// shortcut term is then carried back from x_L through each unit's h alone: a vector-Jacobian product of the
// unit's shortcut layers, evaluated at the x_i of the same forward pass.
import { join } from 'node:path';
import { type BackendChoice, initBackend } from '@resnet/backend';
import { getPreset, type ResNetConfig, resnet } from '@resnet/models';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { getTable } from './experiments.js';
import { writeTextAtomic } from './files.js';
import { vegaLiteSvg } from './plots.js';

/** A shortcut variant the analysis builds: Table 1's rows, and λ = 2. */
export interface GradientVariantSpec {
  id: string;
  label: string;
  /** Whether the variant is a row of Table 1 (λ = 2 is not: the paper states it only in eq. 8's text). */
  tableRow: boolean;
  shortcut: string;
  shortcutArgs?: Record<string, number>;
}

/** Table 1's rows (ids, labels and shortcuts from its presets), then λ = 2. */
export function gradientVariants(): GradientVariantSpec[] {
  const rows = getTable(1).rows.map((row): GradientVariantSpec => {
    const config = getPreset(row.preset).config;
    return {
      id: row.id,
      label: row.label,
      tableRow: true,
      shortcut: config.shortcut as string,
      ...(config.shortcutArgs ? { shortcutArgs: config.shortcutArgs as Record<string, number> } : {}),
    };
  });
  return [
    ...rows,
    {
      id: 'scale-2-1',
      label: 'constant scaling 2 / 1 (eq. 8, λ > 1; not a Table 1 row)',
      tableRow: false,
      shortcut: 'scale',
      shortcutArgs: { shortcutScale: 2, residualScale: 1 },
    },
  ];
}

export type GradientUnit = 'basic' | 'bottleneck';

export interface GradientAnalysisArgs {
  /** Network depth: 6n+2 for the basic unit, 9n+2 for the bottleneck. */
  depth: number;
  /** Default: the paper's unit for the depth (bottleneck for 164 and 1001, else basic). */
  unit?: GradientUnit;
  batchSize: number;
  backend?: BackendChoice;
  seed?: number;
  /** Use CIFAR-10 test images from this folder instead of generated ones. */
  dataDir?: string;
  /** Variant ids (see {@link gradientVariants}); all when absent. */
  variants?: readonly string[];
  /** Called after each variant, with the seconds it took (the CLI reports progress with it). */
  onVariant?: (variant: VariantGradients, seconds: number) => void;
}

/** One chain's summary: a stage's units that keep dimensions, from the first to x_L. */
export interface StageGradients {
  stage: number;
  /** Jacobians in the chain: units from the first that keeps dimensions to the last. */
  units: number;
  /** (shortcut term at the first unit / at x_L)^(1/units): λ for scaling, 1 for the identity. */
  shortcutFactor: number;
  /** total at the first unit / total at x_L. */
  totalRatio: number;
}

export interface VariantGradients {
  id: string;
  label: string;
  tableRow: boolean;
  /**
   * The points, in forward order: `stage1_unit3` is that unit's input x_l, `stage1_output` a stage's x_L
   * (the next stage's input, or the last unit's output).
   */
  points: string[];
  /** Position of each point in the network: the unit whose input it is (1-based), N + 1 for the output. */
  position: number[];
  stage: number[];
  /** Per-element RMS of ∂E/∂x_L carried back to x_l through the stage's shortcuts alone. */
  shortcutTerm: number[];
  /** Per-element RMS of the total ∂E/∂x_l. Non-finite (null in JSON) where float32 overflowed. */
  total: number[];
  /** The per-unit factor of the shortcut term within a stage: the geometric mean over all stages' units. */
  shortcutFactor: number;
  stages: StageGradients[];
  /** E at initialisation; not finite (null in JSON) when the forward pass overflowed float32. */
  loss: number;
  /** The power of two E was multiplied by for the backward pass (1, or 2^−64 where 1 overflowed). */
  lossScale: number;
}

export interface GradientAnalysis {
  depth: number;
  unit: GradientUnit;
  order: 'full-preact';
  unitsPerStage: number;
  batchSize: number;
  images: 'synthetic' | 'cifar10';
  backend: string;
  seed: number;
  variants: VariantGradients[];
}

/** The unit prefixes of a model (`stage1_unit1`, …) in forward order, from its positional layer names. */
export function unitPrefixes(model: LayersModel): string[] {
  const prefixes: string[] = [];
  for (const layer of model.layers) {
    const match = /^(stage\d+_unit\d+)_/.exec(layer.name);
    if (match && !prefixes.includes(match[1]!)) prefixes.push(match[1]!);
  }
  const key = (p: string) => p.match(/\d+/g)!.map(Number);
  return prefixes.sort((a, b) => {
    const [sa, ua] = key(a);
    const [sb, ub] = key(b);
    return sa! - sb! || ua! - ub!;
  });
}

/**
 * Each unit's input: the one tensor from outside the unit that the unit's layers read. A unit with no such
 * tensor, or more than one, means the naming is not the one this analysis understands.
 */
export function unitInputs(model: LayersModel, prefixes: readonly string[]): Map<string, SymbolicTensor> {
  const inputs = new Map<string, SymbolicTensor>();
  for (const prefix of prefixes) {
    const own = model.layers.filter((l) => l.name.startsWith(`${prefix}_`));
    const external = new Map<number, SymbolicTensor>();
    for (const layer of own) {
      for (const t of layer.inboundNodes[0]!.inputTensors) {
        if (!t.sourceLayer.name.startsWith(`${prefix}_`)) external.set(t.id, t);
      }
    }
    if (external.size !== 1) {
      throw new Error(
        `unit ${prefix} reads ${external.size} tensors from outside the unit (expected exactly its input x_l)`,
      );
    }
    inputs.set(prefix, [...external.values()][0]!);
  }
  return inputs;
}

/** A unit in a stage's chain: it keeps dimensions, so its shortcut is the variant's. */
export interface ChainUnit {
  unit: string;
  /** 1-based index of the unit in the network. */
  position: number;
  input: SymbolicTensor;
  /** The operand of the unit's addition that h(x_l) produced (x_l itself for the identity). */
  shortcut: SymbolicTensor;
}

export interface StageChain {
  stage: number;
  units: ChainUnit[];
  /** x_L: the output of the stage's last unit. */
  output: SymbolicTensor;
  /** Position of x_L: the next stage's first unit, or N + 1. */
  outputPosition: number;
}

const sameShape = (a: SymbolicTensor, b: SymbolicTensor) =>
  a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * Each stage's chain, read from the positional layer names. Fails unless every unit ends in its addition
 * `<unit>_add` whose output is the next unit's input (f = identity: the pre-activation orders), and unless
 * exactly one operand of each chain unit's addition comes from its shortcut.
 */
export function stageChains(model: LayersModel): StageChain[] {
  const prefixes = unitPrefixes(model);
  const inputs = unitInputs(model, prefixes);
  const chains: StageChain[] = [];
  prefixes.forEach((prefix, i) => {
    const add = model.layers.find((l) => l.name === `${prefix}_add`);
    if (!add) throw new Error(`unit ${prefix} has no addition layer ${prefix}_add`);
    const output = add.inboundNodes[0]!.outputTensors[0]!;
    const next = prefixes[i + 1];
    const readers = model.layers.filter((l) =>
      l.inboundNodes[0]?.inputTensors.some((t) => t.id === output.id),
    );
    if (
      readers.some((l) => l.name.startsWith(`${prefix}_`)) ||
      (next !== undefined && inputs.get(next)!.id !== output.id)
    ) {
      throw new Error(
        `unit ${prefix}: its addition is not its output (f is not the identity); eqs. 5 and 8 hold for ` +
          'pre-activation units (order full-preact or relu-only-preact)',
      );
    }
    const stage = Number(/^stage(\d+)_/.exec(prefix)![1]);
    if (chains.at(-1)?.stage !== stage) {
      chains.push({ stage, units: [], output, outputPosition: i + 2 });
    }
    const chain = chains.at(-1)!;
    chain.output = output;
    chain.outputPosition = i + 2;
    const input = inputs.get(prefix)!;
    if (!sameShape(input, output)) return; // a dimension-increasing unit: a projection in every variant
    const operands = add.inboundNodes[0]!.inputTensors;
    const fromShortcut = operands.filter(
      (t) => t.id === input.id || t.sourceLayer.name.startsWith(`${prefix}_shortcut_`),
    );
    if (fromShortcut.length !== 1) {
      throw new Error(
        `unit ${prefix}: ${fromShortcut.length} operands of ${prefix}_add come from the shortcut (x_l or ` +
          `${prefix}_shortcut_* layers); expected exactly one`,
      );
    }
    chain.units.push({ unit: prefix, position: i + 1, input, shortcut: fromShortcut[0]! });
  });
  return chains;
}

/**
 * Runs `model` on `xs` layer by layer in training mode (BN on batch statistics, as in a training step), adding
 * `probes[i]` to the tensor with id `probed[i]`, up to the classifier `fc`; returns the logits, computed from
 * fc's own kernel and bias (whatever activation fc or later layers apply), and every value by tensor id.
 */
function forwardWithProbes(
  model: LayersModel,
  xs: tf.Tensor,
  probed: readonly number[],
  probes: readonly tf.Tensor[],
): { logits: tf.Tensor; values: Map<number, tf.Tensor> } {
  const values = new Map<number, tf.Tensor>();
  const set = (t: SymbolicTensor, value: tf.Tensor) => {
    const i = probed.indexOf(t.id);
    values.set(t.id, i >= 0 ? tf.add(value, probes[i]!) : value);
  };
  set(model.inputs[0]!, xs);
  for (const layer of model.layers) {
    const node = layer.inboundNodes[0]!;
    if (node.inboundLayers.length === 0) continue; // the input layer
    const args = node.inputTensors.map((t) => {
      const value = values.get(t.id);
      if (!value) throw new Error(`layer ${layer.name} runs before its input ${t.name} was computed`);
      return value;
    });
    if (layer.name === 'fc') {
      const [kernel, bias] = layer.getWeights();
      if (!kernel || !bias || args.length !== 1) {
        throw new Error('layer fc is not the dense classifier (kernel and bias) this analysis expects');
      }
      return { logits: tf.add(tf.matMul(args[0] as tf.Tensor2D, kernel as tf.Tensor2D), bias), values };
    }
    const output = layer.apply(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: true });
    const outputs = Array.isArray(output) ? output : [output];
    for (const [i, t] of node.outputTensors.entries()) set(t, outputs[i] as tf.Tensor);
  }
  throw new Error(`model ${model.name} has no layer named fc (the classifier)`);
}

/**
 * The value of `target` computed from `known` values by the layers that produce it, which must all belong
 * to `prefix`'s shortcut (`<prefix>_shortcut_*`): h(x_l) for a given x_l.
 */
function evaluateShortcut(target: SymbolicTensor, known: Map<number, tf.Tensor>, prefix: string): tf.Tensor {
  const value = known.get(target.id);
  if (value) return value;
  const layer = target.sourceLayer;
  if (!layer.name.startsWith(`${prefix}_shortcut_`)) {
    throw new Error(`the shortcut of ${prefix} reads layer ${layer.name}, which is not part of it`);
  }
  const node = layer.inboundNodes[0]!;
  const args = node.inputTensors.map((t) => evaluateShortcut(t, known, prefix));
  const output = layer.apply(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: true });
  const result = (Array.isArray(output) ? output[0] : output) as tf.Tensor;
  known.set(target.id, result);
  return result;
}

/**
 * Per-element RMS of a tensor, scaled by its largest magnitude first so that squaring neither overflows nor
 * underflows; NaN when an element is not finite.
 */
function rms(g: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const m = tf.max(tf.abs(g));
    const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
    const value = tf.mul(m, tf.sqrt(tf.mean(tf.square(tf.div(g, safe)))));
    return tf.where(tf.all(tf.isFinite(g)), value, tf.scalar(Number.NaN)) as tf.Scalar;
  });
}

async function readScalars(scalars: tf.Scalar[]): Promise<number[]> {
  if (scalars.length === 0) return [];
  const stacked = tf.stack(scalars);
  try {
    return Array.from(await stacked.data());
  } finally {
    stacked.dispose();
    tf.dispose(scalars);
  }
}

export interface ChainGradients {
  chains: StageChain[];
  /** Per chain: RMS of the shortcut term at each chain unit's input, then at x_L. */
  shortcutTerm: number[][];
  /** Per chain: RMS of the total ∂E/∂x_l at each chain unit's input, then at x_L. */
  total: number[][];
  /** E on the batch; not finite when the forward pass overflowed float32. */
  loss: number;
  /** What E was multiplied by for the backward pass (the RMS values are divided by it again). */
  lossScale: number;
}

/**
 * For every stage of `model` (a pre-activation net), the per-element RMS of ∂E/∂x_l and of its shortcut term
 * at each x_l of the stage's chain and at x_L, on one batch; E is the mean cross-entropy from logits.
 *
 * The backward pass runs on `lossScale · E`: a deep net's total gradient can span more than float32's range
 * from x_L to the first unit (ResNet-1001 with λ = 0.5 overflows unscaled), and a power of two moves the
 * whole pass within range without rounding anything. The shortcut term is carried in float32 with a
 * power-of-two exponent kept aside, so Π λ_i (0.5^110, 2^110) never underflows or overflows.
 */
export async function chainGradients(
  model: LayersModel,
  xs: tf.Tensor,
  labels: tf.Tensor,
  options: { seed?: number; lossScale?: number } = {},
): Promise<ChainGradients> {
  const seed = options.seed ?? 1;
  const lossScale = options.lossScale ?? 1;
  const chains = stageChains(model);
  // Dropout draws a fresh mask at every call; a seed per layer makes the shortcut pass below see the masks
  // the forward pass used (a seeded tfjs dropout repeats its mask), so both terms belong to one realisation.
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed?: number }).seed = seed * 100_003 + i;
  });
  const points = chains.flatMap((c) => [...c.units.map((u) => u.input), c.output]);
  const probed = [...new Set(points.map((t) => t.id))];
  const kept = new Map<number, tf.Tensor>();
  const keptIds = new Set(chains.flatMap((c) => c.units.map((u) => u.input.id)));
  let lossValue: tf.Scalar | undefined;
  const grads = tf.tidy(() => {
    const probes = probed.map((id) => {
      const t = points.find((s) => s.id === id)!;
      return tf.zeros([xs.shape[0]!, ...t.shape.slice(1)] as number[]);
    });
    const loss = (...p: tf.Tensor[]) => {
      const { logits, values } = forwardWithProbes(model, xs, probed, p);
      for (const id of keptIds) kept.set(id, tf.keep(values.get(id)!));
      const e = tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar;
      lossValue = tf.keep(tf.clone(e));
      return tf.mul(e, lossScale) as tf.Scalar;
    };
    return tf.grads(loss)(probes);
  });
  const gradOf = (id: number) => grads[probed.indexOf(id)]!;
  try {
    const [loss] = await readScalars([lossValue!]);
    const total = [];
    for (const chain of chains) {
      const values = await readScalars(
        [...chain.units.map((u) => u.input), chain.output].map((t) => rms(gradOf(t.id))),
      );
      total.push(values.map((x) => x / lossScale));
    }
    const shortcutTerm: number[][] = [];
    for (const chain of chains) {
      // v · 2^exponent is the shortcut term at the current point, from x_L down to the chain's first unit.
      let v = tf.clone(gradOf(chain.output.id));
      let exponent = 0;
      const out: number[] = [];
      const record = async () => {
        const [r, m] = await readScalars([rms(v), tf.tidy(() => tf.max(tf.abs(v)) as tf.Scalar)]);
        out.push((r! * 2 ** exponent) / lossScale);
        if (Number.isFinite(m) && m! > 0 && (m! > 2 ** 30 || m! < 2 ** -30)) {
          const shift = Math.round(Math.log2(m!));
          const scaled = tf.mul(v, 2 ** -shift);
          v.dispose();
          v = scaled;
          exponent += shift;
        }
      };
      await record();
      for (const unit of [...chain.units].reverse()) {
        if (unit.shortcut.id !== unit.input.id) {
          // v ← (∂h/∂x at x_i)ᵀ v: the gradient of ⟨h(x), v⟩ with respect to x at the forward pass's x_i.
          const vi = v;
          const h = (x: tf.Tensor) =>
            evaluateShortcut(unit.shortcut, new Map([[unit.input.id, x]]), unit.unit);
          v = tf.tidy(() => tf.grad(h)(kept.get(unit.input.id)!, vi));
          vi.dispose();
        } // else h is the identity: ∂h/∂x = I, and v passes unchanged (eq. 5).
        await record();
      }
      v.dispose();
      shortcutTerm.push(out.reverse());
    }
    return { chains, total, shortcutTerm, loss: loss!, lossScale };
  } finally {
    tf.dispose(grads);
    tf.dispose([...kept.values()]);
  }
}

/** (a / b)^(1/k), 0 when a is 0, NaN when either is not finite. */
function perUnitFactor(first: number, last: number, k: number): number {
  if (!Number.isFinite(first) || !Number.isFinite(last) || last === 0) return Number.NaN;
  return first === 0 ? 0 : (first / last) ** (1 / k);
}

/** Flattens one variant's chains into the points of {@link VariantGradients}. */
export function summarizeVariant(spec: GradientVariantSpec, result: ChainGradients): VariantGradients {
  const v: VariantGradients = {
    id: spec.id,
    label: spec.label,
    tableRow: spec.tableRow,
    points: [],
    position: [],
    stage: [],
    shortcutTerm: [],
    total: [],
    shortcutFactor: Number.NaN,
    stages: [],
    loss: result.loss,
    lossScale: result.lossScale,
  };
  let logSum = 0;
  let steps = 0;
  let zero = false;
  result.chains.forEach((chain, c) => {
    const s = result.shortcutTerm[c]!;
    const t = result.total[c]!;
    chain.units.forEach((u, i) => {
      v.points.push(u.unit);
      v.position.push(u.position);
      v.stage.push(chain.stage);
      v.shortcutTerm.push(s[i]!);
      v.total.push(t[i]!);
    });
    v.points.push(`stage${chain.stage}_output`);
    v.position.push(chain.outputPosition);
    v.stage.push(chain.stage);
    v.shortcutTerm.push(s.at(-1)!);
    v.total.push(t.at(-1)!);
    const k = chain.units.length;
    if (k === 0) return;
    const factor = perUnitFactor(s[0]!, s.at(-1)!, k);
    v.stages.push({ stage: chain.stage, units: k, shortcutFactor: factor, totalRatio: t[0]! / t.at(-1)! });
    if (factor === 0) zero = true;
    else logSum += Math.log(factor) * k;
    steps += k;
  });
  v.shortcutFactor = zero ? 0 : Math.exp(logSum / steps);
  return v;
}

/** The paper's unit for a depth: bottleneck for ResNet-164 and ResNet-1001, basic otherwise. */
export function defaultUnit(depth: number): GradientUnit {
  return depth === 164 || depth === 1001 ? 'bottleneck' : 'basic';
}

/** A batch of images (normalised CIFAR-10 test images, or standard-normal noise) and one-hot labels. */
async function imageBatch(
  batchSize: number,
  seed: number,
  dataDir?: string,
): Promise<{ xs: tf.Tensor; ys: tf.Tensor; images: 'synthetic' | 'cifar10' }> {
  if (dataDir) {
    const { computeNormalization, evalBatches, loadCifar } = await import('@resnet/data-cifar');
    const data = await loadCifar({ dataset: 'cifar10', dataDir, download: false });
    const normalization = computeNormalization(data.train, 'per-channel');
    for await (const batch of evalBatches(data.test, { batchSize, normalization, oneHot: 10 })) {
      return { xs: batch.xs, ys: batch.ys, images: 'cifar10' };
    }
    throw new Error(`no test images in ${dataDir}`);
  }
  const xs = tf.randomNormal([batchSize, 32, 32, 3], 0, 1, 'float32', seed);
  const ys = tf.tidy(() =>
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batchSize }, (_, i) => i % 10),
        'int32',
      ),
      10,
    ),
  );
  return { xs, ys, images: 'synthetic' };
}

/** The variants named by `ids` (all when absent), in {@link gradientVariants}' order; unknown ids fail. */
function selectVariants(ids?: readonly string[]): GradientVariantSpec[] {
  const all = gradientVariants();
  const unknown = (ids ?? []).filter((id) => !all.some((v) => v.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown variant(s) ${unknown.join(', ')}; variants (Table 1's row ids and scale-2-1): ${all.map((v) => v.id).join(', ')}`,
    );
  }
  return ids ? all.filter((v) => ids.includes(v.id)) : all;
}

/** Runs the analysis over the variants, each built as a pre-activation net (Fig. 4(e)) of `depth`. */
export async function analyzeGradients(args: GradientAnalysisArgs): Promise<GradientAnalysis> {
  const variants = selectVariants(args.variants);
  const unit = args.unit ?? defaultUnit(args.depth);
  const backend = await initBackend({ backend: args.backend ?? 'auto' });
  const seed = args.seed ?? 1;
  const { xs, ys, images } = await imageBatch(args.batchSize, seed, args.dataDir);
  const results: VariantGradients[] = [];
  let unitsPerStage = 0;
  try {
    for (const spec of variants) {
      const config: ResNetConfig = {
        depth: args.depth,
        unit,
        order: 'full-preact',
        shortcut: spec.shortcut,
        ...(spec.shortcutArgs ? { shortcutArgs: spec.shortcutArgs } : {}),
        dimensionIncrease: 'projection',
        classes: 10,
        seed,
      };
      const started = Date.now();
      const model = resnet(config);
      try {
        unitsPerStage = unitPrefixes(model).filter((p) => p.startsWith('stage1_')).length;
        // A total that overflows float32 unscaled is measured again on 2^−64 · E (see chainGradients).
        let result = await chainGradients(model, xs, ys, { seed });
        const overflowed = result.total.flat().some((x) => !Number.isFinite(x));
        if (Number.isFinite(result.loss) && overflowed) {
          result = await chainGradients(model, xs, ys, { seed, lossScale: 2 ** -64 });
        }
        results.push(summarizeVariant(spec, result));
        args.onVariant?.(results.at(-1)!, (Date.now() - started) / 1000);
      } finally {
        model.dispose();
      }
    }
  } finally {
    tf.dispose([xs, ys]);
  }
  return {
    depth: args.depth,
    unit,
    order: 'full-preact',
    unitsPerStage,
    batchSize: args.batchSize,
    images,
    backend: backend.name,
    seed,
    variants: results,
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : 'overflow';
}

/** The analysis as a text table: per variant, the per-unit factor of the shortcut term and each stage's ratios. */
export function formatGradientTable(analysis: GradientAnalysis): string {
  const stages = analysis.variants[0]?.stages ?? [];
  const lines = [
    `Per-element RMS of ∂E/∂x_l at initialisation: pre-activation ResNet-${analysis.depth} (${analysis.unit}, ` +
      `${analysis.unitsPerStage} units per stage), batch of ${analysis.batchSize} ${analysis.images} images, ` +
      `${analysis.backend} backend, seed ${analysis.seed}`,
    'factor: the shortcut term’s per-unit factor within a stage. sN shortcut, sN total: the shortcut term and',
    'the total at the first unit of stage N’s chain, each divided by the gradient at the stage’s output x_L',
    `(${stages.map((s) => `stage ${s.stage}: ${s.units} units`).join(', ')}). --json has every unit.`,
    '',
    [
      'variant'.padEnd(22),
      'factor'.padStart(10),
      ...stages.flatMap((s) => [`s${s.stage} shortcut`.padStart(12), `s${s.stage} total`.padStart(11)]),
    ].join(' '),
  ];
  for (const v of analysis.variants) {
    const cells = v.stages.flatMap((s) => [
      fmt(s.shortcutFactor === 0 ? 0 : s.shortcutFactor ** s.units).padStart(12),
      fmt(s.totalRatio).padStart(11),
    ]);
    lines.push([v.id.padEnd(22), fmt(v.shortcutFactor).padStart(10), ...cells].join(' '));
  }
  return lines.join('\n');
}

/**
 * The figure: one panel per variant, the shortcut term (dashed) and the total (solid) against the unit, log
 * scale, one segment per stage (chains stop at the projections). Zeros and overflows have no place on a log
 * axis; they are in the table and the JSON.
 */
export async function gradientFigureSvg(analysis: GradientAnalysis): Promise<string> {
  const values = analysis.variants.flatMap((v) =>
    v.points.flatMap((_, i) =>
      (
        [
          ['total', v.total[i]!],
          ['shortcut term', v.shortcutTerm[i]!],
        ] as const
      ).flatMap(([curve, y]) =>
        Number.isFinite(y) && y > 0
          ? [{ variant: v.id, curve, stage: v.stage[i]!, unit: v.position[i]!, y }]
          : [],
      ),
    ),
  );
  const last = analysis.variants[0]?.position.at(-1) ?? 1;
  return vegaLiteSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Per-element RMS of ∂E/∂x_l at initialisation, pre-activation ResNet-${analysis.depth} (${analysis.unit})`,
      // Short lines: without a canvas Vega guesses text widths generously and widens the figure.
      subtitle: [
        `${analysis.batchSize} ${analysis.images} images, ${analysis.backend} backend, seed ${analysis.seed}`,
        `x_l = the input of unit l (${last} = the last unit's output); one segment per stage`,
        'shortcut term: ∂E/∂x_L through the shortcuts alone; each panel has its own y scale',
      ],
    },
    background: 'white',
    data: { values },
    facet: {
      field: 'variant',
      type: 'nominal',
      title: null,
      sort: analysis.variants.map((v) => v.id),
    },
    columns: analysis.variants.length <= 4 ? 2 : 3,
    spec: {
      width: 230,
      height: 140,
      mark: { type: 'line', strokeWidth: 1.5, point: { size: 8 } },
      encoding: {
        x: { field: 'unit', type: 'quantitative', title: 'unit l', scale: { domain: [1, last] } },
        y: {
          field: 'y',
          type: 'quantitative',
          title: 'RMS (log)',
          scale: { type: 'log' },
          // Labels at the powers of ten only: Vega's log ticks label every multiple inside a decade and
          // crowd a short panel; over many decades (10^−40 to 10^56 here) it thins them to powers itself.
          axis: {
            tickCount: 6,
            format: '.0e',
            labelExpr:
              "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? datum.label : ''",
          },
        },
        // The total first, so the shortcut term is drawn over it where the two coincide (λ = 2, gating).
        color: {
          field: 'curve',
          type: 'nominal',
          title: null,
          scale: { domain: ['total', 'shortcut term'], range: ['#1f77b4', '#d62728'] },
          legend: { orient: 'top' },
        },
        strokeDash: {
          field: 'curve',
          type: 'nominal',
          scale: {
            domain: ['total', 'shortcut term'],
            range: [
              [1, 0],
              [5, 3],
            ],
          },
          legend: { orient: 'top' },
        },
        detail: { field: 'stage', type: 'nominal' },
        order: { field: 'unit', type: 'quantitative' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  });
}

/** Saves the figure as `gradients-resnet<D>.svg` in `dir` and returns its path. */
export async function writeGradientFigure(analysis: GradientAnalysis, dir: string): Promise<string> {
  const path = join(dir, `gradients-resnet${analysis.depth}.svg`);
  await writeTextAtomic(path, await gradientFigureSvg(analysis));
  return path;
}

/** The demo's variants: the identity, Table 1's failing λ = 0.5, λ = 2 and the best gating row. */
export const DEMO_GRADIENT_VARIANTS = ['original', 'scale-0.5-1', 'scale-2-1', 'shortcut-gate-bg-6'];

/**
 * For the demo's report: the analysis at a small depth (pre-activation ResNet-56, batch of 4 generated
 * images: seconds), its figure written into `dir`; returns the figure's path and the analysis.
 */
export async function writeDemoGradientFigure(
  dir: string,
  options: { backend?: BackendChoice; depth?: number } = {},
): Promise<{ path: string; analysis: GradientAnalysis }> {
  const analysis = await analyzeGradients({
    depth: options.depth ?? 56,
    batchSize: 4,
    variants: DEMO_GRADIENT_VARIANTS,
    ...(options.backend ? { backend: options.backend } : {}),
  });
  return { path: await writeGradientFigure(analysis, dir), analysis };
}
