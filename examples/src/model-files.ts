// TEMPORARY, until @resnet/backend registers a `file://` IO handler in Node: saves a model as the
// `model.json` + `weights.bin` pair that `model.save('file://dir')` writes (the tfjs-node layout), through
// tfjs's in-memory handlers, and loads it back. Once the handler lands, these two calls become
// `model.save(\`file://${dir}\`)` and `tf.loadLayersModel(\`file://${dir}/model.json\`)`.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Writes `dir/model.json` and `dir/weights.bin`; model.json goes last, so a half-written save never looks complete. */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      if (!weightData || !artifacts.weightSpecs)
        throw new Error('saveModel: the model has no weights to save');
      const buffers = Array.isArray(weightData) ? weightData : [weightData];
      await writeFile(join(dir, 'weights.bin'), Buffer.concat(buffers.map((b) => new Uint8Array(b))));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['./weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(join(dir, 'model.json.tmp'), JSON.stringify(json));
      await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Reads what {@link saveModel} (or tfjs-node's file handler) wrote into `dir`. */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const group = json.weightsManifest[0];
  if (group?.paths.length !== 1) throw new Error(`${dir}/model.json: expected one weights file`);
  const bytes = await readFile(join(dir, group.paths[0]!));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData }),
  );
}
