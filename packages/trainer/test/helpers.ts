// Test helpers: a backend chosen by RESNET_TEST_BACKEND (cpu by default), tiny seeded models and a seeded
// in-memory batch source with saveable state.
import { initBackend } from '@resnet/backend';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';
import type { Batch, BatchSource } from '../src/index.js';

export async function setupBackend(): Promise<string> {
  const backend = (process.env['RESNET_TEST_BACKEND'] ?? 'cpu') as 'cpu' | 'wasm';
  await initBackend({ backend });
  return backend;
}

export interface TinyModelArgs {
  /** Prefix of the layer names, so a rebuilt model has the same weight names. */
  name?: string;
  height?: number;
  channels?: number;
  classes?: number;
  /** Adds a Dropout layer (unseeded, so its randomness comes from the trainer). */
  dropout?: number;
  seed?: number;
  /** Ends with softmax instead of logits. */
  softmax?: boolean;
}

/** conv 3×3 → BN → ReLU → global average pool → [dropout] → dense: every kind of weight a ResNet has. */
export function tinyConvNet(args: TinyModelArgs = {}): tfl.LayersModel {
  const name = args.name ?? 'tiny';
  const height = args.height ?? 4;
  const seed = args.seed ?? 1;
  const input = tfl.input({ shape: [height, height, args.channels ?? 2], name: `${name}_input` });
  let x = tfl.layers
    .conv2d({
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: tfl.initializers.heNormal({ seed }),
      name: `${name}_conv`,
    })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ name: `${name}_relu` }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({ name: `${name}_pool` }).apply(x) as tfl.SymbolicTensor;
  if (args.dropout)
    x = tfl.layers.dropout({ rate: args.dropout, name: `${name}_drop` }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers
    .dense({
      units: args.classes ?? 3,
      kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }),
      ...(args.softmax ? { activation: 'softmax' } : {}),
      name: `${name}_fc`,
    })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name });
}

/** 1.1M parameters: a checkpoint of ~9 MB, long enough to write that a kill lands in the middle. */
export function bigModel(): tfl.LayersModel {
  const dense = (units: number, name: string, seed: number) =>
    tfl.layers.dense({ units, name, kernelInitializer: tfl.initializers.heNormal({ seed }) });
  return tfl.sequential({
    name: 'big',
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 2], name: 'big_flatten' }),
      dense(1024, 'big_fc1', 1),
      dense(1024, 'big_fc2', 2),
      dense(3, 'big_fc3', 3),
    ],
  });
}

export interface RandomSourceArgs {
  batchSize?: number;
  height?: number;
  channels?: number;
  classes?: number;
  seed?: number;
  /** One-hot labels instead of class indices. */
  oneHot?: boolean;
}

interface RandomSourceState {
  alea: seedrandom.State.Alea;
  served: number;
}

/** Random images and labels from a seeded stream whose state can be saved and restored. */
export class RandomSource implements BatchSource {
  served = 0;
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  private readonly batchSize: number;
  private readonly shape: [number, number, number];
  private readonly classes: number;

  constructor(private readonly args: RandomSourceArgs = {}) {
    this.prng = seedrandom.alea(String(args.seed ?? 7), { state: true });
    this.batchSize = args.batchSize ?? 8;
    const h = args.height ?? 4;
    this.shape = [h, h, args.channels ?? 2];
    this.classes = args.classes ?? 3;
  }

  next(): Batch {
    const size = this.batchSize;
    const values = new Float32Array(size * this.shape[0] * this.shape[1] * this.shape[2]);
    for (let i = 0; i < values.length; i++) values[i] = this.prng() * 2 - 1;
    const labels = new Int32Array(size);
    for (let i = 0; i < size; i++) labels[i] = Math.floor(this.prng() * this.classes);
    this.served++;
    const xs = tf.tensor4d(values, [size, ...this.shape]);
    const ys = this.args.oneHot
      ? tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), this.classes), 'float32'))
      : tf.tensor1d(labels, 'int32');
    return { xs, ys };
  }

  getState(): RandomSourceState {
    return { alea: this.prng.state(), served: this.served };
  }

  setState(state: unknown): void {
    const s = state as RandomSourceState;
    this.prng = seedrandom.alea('', { state: s.alea });
    this.served = s.served;
  }
}

/** The same batch every time (copies, since the trainer disposes what it is given). */
export class FixedSource implements BatchSource {
  constructor(
    readonly xs: tf.Tensor,
    readonly ys: tf.Tensor,
  ) {}

  next(): Batch {
    return { xs: this.xs.clone(), ys: this.ys.clone() };
  }
}

/** Every weight's values, by original name. */
export function weightValues(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}
