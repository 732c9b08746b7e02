// What a trained row offers for download, in the formats the bench and Node.js read: `model.json` and
// `weights.bin` as `model.save('file://dir')` writes them (tf.loadLayersModel reads them back, in Node.js
// through @resnet/backend's file:// handler, with @resnet/models imported for the custom layers), the trainer's
// `metrics.jsonl` records (a run folder's metrics file), and `config.json` with the bench's run fields.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Artifact } from './protocol.js';

const encoder = new TextEncoder();

/** A JSON document as a downloadable file. */
export function jsonArtifact(name: string, value: unknown): Artifact {
  return { name, type: 'application/json', bytes: encoder.encode(`${JSON.stringify(value, null, 2)}\n`) };
}

/** Records as JSON Lines (one record a line, as the trainer writes metrics.jsonl). */
export function jsonLinesArtifact(name: string, records: readonly unknown[]): Artifact {
  return {
    name,
    type: 'application/x-ndjson',
    bytes: encoder.encode(records.map((record) => `${JSON.stringify(record)}\n`).join('')),
  };
}

/** The model's topology and weights: `model.json` (weights manifest pointing at `weights.bin`) and `weights.bin`. */
export async function modelArtifacts(model: LayersModel): Promise<Artifact[]> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!saved?.weightSpecs || !saved.weightData) throw new Error('the model saved no weights');
  const weights = new Uint8Array(
    saved.weightData instanceof ArrayBuffer
      ? saved.weightData
      : await new Blob(saved.weightData as ArrayBuffer[]).arrayBuffer(),
  );
  const modelJson: tf.io.ModelJSON = {
    modelTopology: saved.modelTopology as object,
    format: saved.format,
    generatedBy: saved.generatedBy,
    convertedBy: saved.convertedBy ?? null,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
    ...(saved.trainingConfig ? { trainingConfig: saved.trainingConfig } : {}),
  };
  return [
    jsonArtifact('model.json', modelJson),
    { name: 'weights.bin', type: 'application/octet-stream', bytes: weights },
  ];
}
