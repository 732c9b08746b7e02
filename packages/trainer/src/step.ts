// One training step and one evaluation pass: the forward pass in the right BN mode to the logits, softmax
// cross-entropy by a stable log-softmax, top-1 mistakes and a finiteness check of every weight, all inside
// tf.tidy. Nothing here blocks on dataSync: a step hands back tensors that the loop reads with `await data()`.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch } from './data.js';
import type { MomentumSgd } from './sgd.js';

/**
 * What the model's output is. `'auto'` (the default): a model whose last layer is a softmax (a `Softmax`
 * layer, an `Activation('softmax')` layer or a `Dense` with `activation: 'softmax'`) is trained on that
 * layer's input, the logits; any other model's output is taken as logits. `'logits'`: the output is taken as
 * logits. `'probabilities'`: the output is taken as probabilities and the loss is `−log(clip(p, 1e-7, 1))`
 * (Keras's form: its gradient vanishes for a confident mistake and the loss stops at 16.1), only for a model
 * whose softmax cannot be taken apart.
 */
export type OutputKind = 'auto' | 'logits' | 'probabilities';

/** How the trainer computes a model's scores: a forward pass to logits, or to probabilities. */
export interface Head {
  kind: 'logits' | 'probabilities';
  /** Where the logits come from, for the run's records (`'output'`, `'softmax input'`, …). */
  source: string;
  forward(xs: tf.Tensor, training: boolean): tf.Tensor;
}

const heads = new WeakMap<tfl.LayersModel, Map<OutputKind, Head>>();

/** The head the trainer uses for `model` (see {@link OutputKind}); cached per model. */
export function resolveHead(model: tfl.LayersModel, outputs: OutputKind = 'auto'): Head {
  const byKind = heads.get(model) ?? new Map<OutputKind, Head>();
  heads.set(model, byKind);
  const head = byKind.get(outputs) ?? makeHead(model, outputs);
  byKind.set(outputs, head);
  return head;
}

function makeHead(model: tfl.LayersModel, outputs: OutputKind): Head {
  const whole = (kind: Head['kind'], source: string): Head => ({
    kind,
    source,
    forward: (xs, training) => forward(model, xs, training),
  });
  if (outputs === 'logits') return whole('logits', 'output');
  if (outputs === 'probabilities') return whole('probabilities', 'output (probabilities, clipped)');
  const last = model.layers[model.layers.length - 1];
  if (!last) return whole('logits', 'output');
  const config = last.getConfig();
  const className = last.getClassName();
  const softmaxLayer =
    (className === 'Softmax' && [undefined, -1, 1].includes(config['axis'] as number | undefined)) ||
    (className === 'Activation' && config['activation'] === 'softmax');
  const fusedDense = className === 'Dense' && config['activation'] === 'softmax';
  if (!softmaxLayer && !fusedDense) return whole('logits', 'output');
  // The network up to the softmax's input: the same layers and weights (a view, never disposed on its own).
  let body: tfl.LayersModel;
  try {
    body = tfl.model({ inputs: model.inputs, outputs: last.input as tfl.SymbolicTensor });
  } catch {
    // A softmax layer called more than once, or a model that cannot be cut: probabilities it is.
    return whole('probabilities', 'output (probabilities, clipped): its softmax could not be taken apart');
  }
  if (softmaxLayer) {
    return {
      kind: 'logits',
      source: `input of '${last.name}'`,
      forward: (xs, training) => forward(body, xs, training),
    };
  }
  // Dense(activation: 'softmax'): the same affine map without its activation.
  const [kernel, bias] = [last.trainableWeights[0]!, last.trainableWeights[1]];
  return {
    kind: 'logits',
    source: `'${last.name}' before its softmax`,
    forward: (xs, training) => {
      const features = forward(body, xs, training);
      const scores = tf.matMul(features, kernel.read());
      return bias ? tf.add(scores, bias.read()) : scores;
    },
  };
}

/** One step's results as tensors, read by the caller (`await values.data()`) and then disposed. */
export interface StepTensors {
  /**
   * `[loss, mistakes, weight check]`: the batch's mean loss, its top-1 mistakes, and Σ 0·w over every
   * weight of the model after the update (0 when every weight is finite, NaN when any is not).
   */
  values: tf.Tensor1D;
  /** Images in the batch. */
  size: number;
}

/** What {@link readStep} gives. */
export interface StepValues {
  loss: number;
  wrong: number;
  size: number;
  /** Whether every weight of the model was finite after the update. */
  weightsFinite: boolean;
}

/** Arguments of {@link trainStep}. */
export interface TrainStepArgs {
  model: tfl.LayersModel;
  optimizer: MomentumSgd;
  batch: Batch;
  lr: number;
  /** Default `'auto'`. */
  outputs?: OutputKind | Head;
}

/**
 * One iteration: forward with BN in training mode (which also moves BN's running statistics, as
 * tfjs-layers' BatchNormalization does in its training branch), softmax cross-entropy, gradients of every
 * trainable weight, the update, and a finiteness check of every weight. Does not wait for the kernels and
 * does not dispose the batch; the caller reads and disposes `values`.
 */
export function trainStep(args: TrainStepArgs): StepTensors {
  const { model, optimizer, batch, lr } = args;
  const head = typeof args.outputs === 'object' ? args.outputs : resolveHead(model, args.outputs ?? 'auto');
  let output: tf.Tensor | undefined;
  try {
    const values = tf.tidy(() => {
      const variables = optimizer.weights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const out = head.forward(batch.xs, true);
        checkOutput(out);
        // tf.variableGrads disposes what its function made except the loss; the output is needed for the error.
        output = tf.keep(out);
        return crossEntropy(out, batch.ys, head.kind);
      }, variables);
      const wrong = countWrong(output!, batch.ys);
      optimizer.apply(grads, lr);
      return tf.stack([value, wrong, weightCheck(model)]) as tf.Tensor1D;
    });
    return { values, size: batch.size ?? batch.xs.shape[0]! };
  } finally {
    output?.dispose();
  }
}

/** Reads a step's values (one `await data()`) and disposes them. */
export async function readStep(step: StepTensors): Promise<StepValues> {
  try {
    const [loss, wrong, check] = (await step.values.data()) as Float32Array;
    return { loss: loss!, wrong: wrong!, size: step.size, weightsFinite: Number.isFinite(check!) };
  } finally {
    step.values.dispose();
  }
}

/**
 * Inputs per AddN: WebGPU binds every input of one AddN as a storage buffer of one shader, and a device may
 * allow as few as 8 per stage (the spec's default limit; one is the output), which tfjs-backend-webgpu 4.22
 * does not split for; a ResNet has hundreds of weights.
 */
const ADD_N_INPUTS = 7;

/**
 * Σ over every float32 weight of sum(0·w): 0 when all are finite, NaN when any weight is NaN or ±∞
 * (0·∞ = NaN). One multiply and one sum per weight, so it can run every iteration.
 */
function weightCheck(model: tfl.LayersModel): tf.Scalar {
  let sums = model.weights
    .filter((w) => w.dtype === 'float32')
    .map((w) => tf.sum(tf.mul(w.read(), 0)) as tf.Scalar);
  if (sums.length === 0) return tf.scalar(0);
  while (sums.length > 1) {
    const next: tf.Scalar[] = [];
    for (let i = 0; i < sums.length; i += ADD_N_INPUTS) {
      const group = sums.slice(i, i + ADD_N_INPUTS);
      next.push(group.length === 1 ? group[0]! : tf.addN(group));
    }
    sums = next;
  }
  return sums[0]!;
}

/** Mean loss and top-1 error of `model` over `batches`, with BN (and dropout) in inference mode. */
export async function evaluate(
  model: tfl.LayersModel,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  outputs: OutputKind | Head = 'auto',
): Promise<{ loss: number; error: number; images: number }> {
  const head = typeof outputs === 'object' ? outputs : resolveHead(model, outputs);
  let lossSum = 0;
  let wrongSum = 0;
  let images = 0;
  for await (const batch of batches) {
    try {
      const values = tf.tidy(() => {
        const out = head.forward(batch.xs, false);
        checkOutput(out);
        return tf.stack([crossEntropy(out, batch.ys, head.kind), countWrong(out, batch.ys)]);
      });
      const [loss, wrong] = await values.data();
      values.dispose();
      const size = batch.size ?? batch.xs.shape[0]!;
      lossSum += loss! * size;
      wrongSum += wrong!;
      images += size;
    } finally {
      batch.xs.dispose();
      batch.ys.dispose();
    }
  }
  if (images === 0) throw new Error('evaluation got no batches: evaluate.batches() must yield the test set');
  return { loss: lossSum / images, error: wrongSum / images, images };
}

function forward(model: tfl.LayersModel, xs: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(xs, { training });
  if (Array.isArray(out) || !(out instanceof tf.Tensor)) {
    throw new Error('train: the model must have a single output tensor [batch, classes]');
  }
  return out;
}

function checkOutput(out: tf.Tensor): void {
  if (out.rank !== 2)
    throw new Error(`train: the model's output must be [batch, classes], got [${out.shape}]`);
}

/**
 * Mean softmax cross-entropy of `logits` [B, C] against `ys` (class indices [B] or targets [B, C]), through
 * tf.logSoftmax (z − max z − log Σ exp(z − max z), and its exact gradient softmax(z) − target): finite for
 * any finite logits, as Torch's LogSoftMax + ClassNLLCriterion.
 */
export function crossEntropyFromLogits(logits: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  return crossEntropy(logits, ys, 'logits');
}

function crossEntropy(out: tf.Tensor, ys: tf.Tensor, kind: Head['kind']): tf.Scalar {
  return tf.tidy(() => {
    const classes = out.shape[1]!;
    const target = targets(ys, classes, out.shape[0]!);
    const logProbs = kind === 'logits' ? tf.logSoftmax(out) : tf.log(tf.clipByValue(out, 1e-7, 1));
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), 1))) as tf.Scalar;
  });
}

function targets(ys: tf.Tensor, classes: number, batchSize: number): tf.Tensor {
  if (ys.shape[0] !== batchSize) {
    throw new Error(`labels have ${ys.shape[0]} rows but the batch has ${batchSize} examples`);
  }
  if (ys.rank === 1) return tf.oneHot(tf.cast(ys, 'int32'), classes);
  if (ys.rank === 2 && ys.shape[1] === classes) return tf.cast(ys, 'float32');
  throw new Error(`labels must be class indices [B] or one-hot [B, ${classes}], got [${ys.shape}]`);
}

function countWrong(out: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const truth = ys.rank === 1 ? tf.cast(ys, 'int32') : tf.argMax(ys, 1);
  return tf.sum(tf.cast(tf.notEqual(tf.argMax(out, 1), truth), 'float32'));
}
