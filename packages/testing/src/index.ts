// @resnet/testing (private, never published): what the model-building packages' tests share — the backend
// under test (RESNET_TEST_BACKEND: the embedded wasm backend by default, `cpu` for the pure-JavaScript
// reference), an in-memory save/load round trip and the gradients of one training step.
import { initBackend } from '@resnet/backend';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';

export const backendName = (process.env['RESNET_TEST_BACKEND'] ?? 'wasm') as 'cpu' | 'wasm';

export async function setUpBackend(): Promise<void> {
  await initBackend({ backend: backendName });
  if (tf.getBackend() !== backendName)
    throw new Error(`expected the ${backendName} backend, got ${tf.getBackend()}`);
}

/** Saves a model through an in-memory IOHandler and loads it back. */
export async function roundTrip(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('the save handler was not called');
  return tfl.loadLayersModel(tf.io.fromMemory(saved));
}

/** Gradients of a softmax cross-entropy loss for every trainable weight, in training mode. */
export function trainingGradients(
  model: tfl.LayersModel,
  x: tf.Tensor,
  labels: tf.Tensor,
): { loss: number; grads: Map<string, Float32Array> } {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const y = model.apply(x, { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(labels, y) as tf.Scalar;
      }),
    variables,
  );
  const out = new Map<string, Float32Array>();
  for (const [name, grad] of Object.entries(grads)) out.set(name, grad.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

/**
 * The check every generated model test makes: one training step gives a finite loss and a finite gradient
 * for every trainable weight, an in-memory save/load round trip predicts identically, and no tensor is left
 * behind. Takes ownership of `x` and `labels` (disposes them) and disposes `model`.
 */
export async function expectTrainsAndRoundTrips(
  model: tfl.LayersModel,
  x: tf.Tensor,
  labels: tf.Tensor,
  tensorsBefore: number,
): Promise<void> {
  const { loss, grads } = trainingGradients(model, x, labels);
  expect(Number.isFinite(loss)).toBe(true);
  expect(grads.size).toBe(model.trainableWeights.length);
  for (const [weight, grad] of grads) expect(grad.every(Number.isFinite), weight).toBe(true);

  const loaded = await roundTrip(model);
  const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  tf.dispose([a, b, x, labels]);
  model.dispose();
  loaded.dispose();
  expect(tf.memory().numTensors).toBe(tensorsBefore);
}
