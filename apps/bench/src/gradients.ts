// The gradient analysis of `analyze gradients`: the paper's eq. 5 (identity shortcuts carry ∂E/∂x_L unchanged
// to every shallower unit) and eq. 8 (a scaled shortcut multiplies it by Π λ_i) measured on real networks.
// For each Table 1 variant at initialisation it computes ‖∂E/∂x_l‖ for the input x_l of every Residual Unit.
//
// tfjs-layers offers gradients only with respect to variables, and a sub-model cannot start at an
// intermediate symbolic tensor, so the network's graph is executed here layer by layer on concrete tensors,
// with a zero "probe" added to each unit's input: ∂E/∂probe_l = ∂E/∂x_l, and tf.grads gives them all at once.
import { join } from 'node:path';
import { type BackendChoice, initBackend } from '@resnet/backend';
import { getPreset, resnet } from '@resnet/models';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { getTable } from './experiments.js';
import { writeTextAtomic } from './files.js';
import { lineChartSvg } from './plots.js';

export interface GradientAnalysisArgs {
  /** Depth of the (original, basic-unit) Table 1 networks: 6n+2. */
  depth: number;
  batchSize: number;
  backend?: BackendChoice;
  seed?: number;
  /** Use CIFAR-10 test images from this folder instead of generated ones. */
  dataDir?: string;
  /** Table 1 row ids; all rows when absent. */
  rows?: readonly string[];
}

export interface UnitGradient {
  /** The unit's layer-name prefix, e.g. `stage3_unit2`. */
  unit: string;
  /** ‖∂E/∂x_l‖ (Frobenius norm over the whole batch) for the unit's input x_l. */
  norm: number;
}

export interface VariantGradients {
  row: string;
  label: string;
  preset: string;
  /** From the last unit to the first. */
  units: UnitGradient[];
  /** ‖∂E/∂x_first‖ / ‖∂E/∂x_last‖. */
  ratio: number;
}

export interface GradientAnalysis {
  depth: number;
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

/**
 * Runs `model` on `xs` layer by layer in training mode (BN on batch statistics, as in a training step),
 * adding `probes[i]` to the tensor `probed[i]`; returns the output.
 */
function runWithProbes(
  model: LayersModel,
  xs: tf.Tensor,
  probed: readonly SymbolicTensor[],
  probes: readonly tf.Tensor[],
): tf.Tensor {
  const values = new Map<number, tf.Tensor>();
  const set = (t: SymbolicTensor, value: tf.Tensor) => {
    const i = probed.findIndex((p) => p.id === t.id);
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
    const output = layer.apply(args.length === 1 ? args[0]! : args, { ...node.callArgs, training: true });
    const outputs = Array.isArray(output) ? output : [output];
    for (const [i, t] of node.outputTensors.entries()) set(t, outputs[i] as tf.Tensor);
  }
  const out = values.get(model.outputs[0]!.id);
  if (!out) throw new Error(`model ${model.name} produced no output`);
  return out;
}

/** ‖∂E/∂x_l‖ for every unit of `model` on a batch, E the mean cross-entropy, units from last to first. */
export function unitGradientNorms(model: LayersModel, xs: tf.Tensor, labels: tf.Tensor): UnitGradient[] {
  const prefixes = unitPrefixes(model);
  const inputs = unitInputs(model, prefixes);
  const probed = prefixes.map((p) => inputs.get(p)!);
  const norms = tf.tidy(() => {
    const probes = probed.map((t) => tf.zeros([xs.shape[0]!, ...t.shape.slice(1)] as number[]));
    const loss = (...p: tf.Tensor[]) => {
      const probabilities = runWithProbes(model, xs, probed, p);
      const logp = tf.log(tf.clipByValue(probabilities, 1e-7, 1));
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, logp), -1))) as tf.Scalar;
    };
    return tf
      .grads(loss)(probes)
      .map((g) => tf.norm(g));
  });
  const values = norms.map((n) => n.dataSync()[0]!);
  tf.dispose(norms);
  return prefixes.map((unit, i) => ({ unit, norm: values[i]! })).reverse();
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

/** Runs the analysis over Table 1's variants. */
export async function analyzeGradients(args: GradientAnalysisArgs): Promise<GradientAnalysis> {
  const backend = await initBackend({ backend: args.backend ?? 'auto' });
  const seed = args.seed ?? 1;
  const table = getTable(1);
  const rows = args.rows ? table.rows.filter((r) => args.rows!.includes(r.id)) : table.rows;
  const unknown = (args.rows ?? []).filter((id) => !table.rows.some((r) => r.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown Table 1 row(s) ${unknown.join(', ')}; rows: ${table.rows.map((r) => r.id).join(', ')}`,
    );
  }
  const { xs, ys, images } = await imageBatch(args.batchSize, seed, args.dataDir);
  const variants: VariantGradients[] = [];
  try {
    for (const row of rows) {
      const preset = getPreset(row.preset);
      const model = resnet({ ...preset.config, depth: args.depth, seed });
      try {
        const units = unitGradientNorms(model, xs, ys);
        const ratio = units[units.length - 1]!.norm / units[0]!.norm;
        variants.push({ row: row.id, label: row.label, preset: row.preset, units, ratio });
      } finally {
        model.dispose();
      }
    }
  } finally {
    tf.dispose([xs, ys]);
  }
  return { depth: args.depth, batchSize: args.batchSize, images, backend: backend.name, seed, variants };
}

/** The analysis as a text table: one row per variant, the norm at the last, middle and first unit. */
export function formatGradientTable(analysis: GradientAnalysis): string {
  const units = analysis.variants[0]?.units.length ?? 0;
  const lines = [
    `‖∂E/∂x_l‖ at initialisation, ResNet-${analysis.depth} (original unit, ${units} units), batch of ` +
      `${analysis.batchSize} ${analysis.images} images, ${analysis.backend} backend`,
    '',
    `${'variant'.padEnd(22)} ${'last unit'.padStart(11)} ${'middle'.padStart(11)} ${'first unit'.padStart(11)} ${'first/last'.padStart(11)}`,
  ];
  for (const v of analysis.variants) {
    const at = (i: number) => v.units[i]!.norm.toExponential(3).padStart(11);
    lines.push(
      `${v.row.padEnd(22)} ${at(0)} ${at(Math.floor((v.units.length - 1) / 2))} ${at(v.units.length - 1)} ${v.ratio.toExponential(3).padStart(11)}`,
    );
  }
  return lines.join('\n');
}

/** Saves the log-scale plot (one line per variant, x = units from the last) and returns its path. */
export async function writeGradientPlot(analysis: GradientAnalysis, dir: string): Promise<string> {
  const svg = await lineChartSvg({
    title: `‖∂E/∂x_l‖ at initialisation, ResNet-${analysis.depth}, Table 1 variants`,
    xTitle: 'units from the last (0 = last unit)',
    yTitle: 'gradient norm (log scale)',
    series: analysis.variants.map((v) => v.row),
    points: analysis.variants.flatMap((v) =>
      // A zero norm has no place on a log axis; it is in the table and the JSON.
      v.units.flatMap((u, i) => (u.norm > 0 ? [{ series: v.row, x: i, y: u.norm }] : [])),
    ),
    logY: true,
    markers: true,
  });
  const path = join(dir, `gradients-resnet${analysis.depth}.svg`);
  await writeTextAtomic(path, svg);
  return path;
}
