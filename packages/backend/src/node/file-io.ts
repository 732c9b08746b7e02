// `model.save('file://dir')` and `tf.loadLayersModel('file://dir/model.json')` in Node.js without
// @tensorflow/tfjs-node, whose file handler is the only one TensorFlow.js has. Registered by the Node entry of
// this package, and only where no 'file://' handler is registered (tfjs-node's, if loaded, stays in charge).
// The layout is tfjs-node's: model.json (topology and weights manifest) beside weights.bin. A save writes
// both to temporary names and renames weights.bin first and model.json last, so a directory never holds a
// model.json whose weights are missing or half-written.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

const SCHEME = 'file://';

/** The path a file:// URL names (a plain path after the scheme, as tfjs-node reads it, or a file URL). */
function pathOf(url: string): string {
  const rest = url.slice(SCHEME.length);
  return rest.startsWith('/') ? resolve(fileURLToPath(`${SCHEME}${rest}`)) : resolve(rest);
}

/** Writes `data` to `path` through a temporary file in the same directory, renamed into place. */
async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const joined = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(joined);
}

class FileHandler implements tf.io.IOHandler {
  constructor(private readonly path: string) {}

  /** Saves into the directory `path` (created if missing). */
  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('@resnet/backend file://: binary model topologies cannot be saved; save a LayersModel');
    }
    const directory = this.path;
    await mkdir(directory, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `@resnet/backend file://: cannot create the model directory ${directory} (${error.code ?? error.message}); choose a writable path`,
      );
    });
    const weights = weightBytes(artifacts.weightData);
    const manifest: tf.io.WeightsManifestConfig = [
      { paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] },
    ];
    const { weightData: _data, weightSpecs: _specs, ...rest } = artifacts;
    const modelJSON = { ...rest, weightsManifest: manifest } as tf.io.ModelJSON;
    await writeAtomically(join(directory, 'weights.bin'), weights);
    await writeAtomically(join(directory, 'model.json'), JSON.stringify(modelJSON));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  /** Loads from `path`, the model.json file (weights read from the paths in its manifest, beside it). */
  async load(): Promise<tf.io.ModelArtifacts> {
    const file = this.path;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `@resnet/backend file://: cannot read ${file} (${code}); pass the path of a model.json written by model.save('file://<dir>')`,
      );
    }
    let modelJSON: tf.io.ModelJSON;
    try {
      modelJSON = JSON.parse(text) as tf.io.ModelJSON;
    } catch {
      throw new Error(`@resnet/backend file://: ${file} is not JSON; pass the model.json of a saved model`);
    }
    return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
      const specs = manifest.flatMap((group) => group.weights);
      const parts = await Promise.all(
        manifest.flatMap((group) =>
          group.paths.map(async (name) => {
            const weightsFile = join(dirname(file), name);
            try {
              return new Uint8Array(await readFile(weightsFile));
            } catch (error) {
              throw new Error(
                `@resnet/backend file://: ${file} names weights file ${weightsFile}, which cannot be read (${(error as NodeJS.ErrnoException).code}); save the model again`,
              );
            }
          }),
        ),
      );
      const paths = manifest.flatMap((group) => group.paths.map((name) => join(dirname(file), name)));
      checkWeightBytes(
        file,
        paths,
        specs,
        parts.reduce((sum, p) => sum + p.byteLength, 0),
      );
      const buffers = parts.map(
        (p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer,
      );
      return [specs, tf.io.concatenateArrayBuffers(buffers)];
    });
  }
}

/** Bytes per stored value of a weight (a quantized weight is stored in its quantized type). */
const VALUE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Refuses weights files that do not hold exactly what model.json lists, naming the first tensor that does not
 * fit (TensorFlow.js would say only "the tensor should have 432 values but has 250", naming neither).
 */
function checkWeightBytes(
  file: string,
  paths: readonly string[],
  specs: readonly tf.io.WeightsManifestEntry[],
  total: number,
): void {
  const where = paths.length === 1 ? `weights file ${paths[0]}` : `weights files ${paths.join(', ')}`;
  let offset = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * (VALUE_BYTES[dtype] ?? 4);
    if (offset + bytes > total) {
      throw new Error(
        `@resnet/backend file://: the ${where} hold ${total} bytes, but ${file} lists tensor '${spec.name}' ` +
          `(${dtype}, shape [${spec.shape}]) at bytes ${offset}–${offset + bytes}: the weights are cut short or ` +
          'belong to another model; save the model again',
      );
    }
    offset += bytes;
  }
  if (offset !== total) {
    throw new Error(
      `@resnet/backend file://: the ${where} hold ${total} bytes, but the tensors ${file} lists take ${offset}: ` +
        'they belong to another model; save the model again',
    );
  }
}

// A router answers null for URLs it does not handle (tfjs's own routers do; its IORouter type omits it).
const router = ((url: string | string[]): tf.io.IOHandler | null => {
  if (Array.isArray(url) || !url.startsWith(SCHEME)) return null;
  return new FileHandler(pathOf(url));
}) as unknown as Parameters<typeof tf.io.registerSaveRouter>[0];

/**
 * Registers the file:// save and load handlers unless TensorFlow.js already has some (tfjs-node's).
 * Returns whether ours were registered. Idempotent.
 */
export function registerFileHandlers(): boolean {
  const probe = `${SCHEME}${resolve('.')}`;
  let registered = false;
  if (tf.io.getSaveHandlers(probe).length === 0) {
    tf.io.registerSaveRouter(router);
    registered = true;
  }
  if (tf.io.getLoadHandlers(probe).length === 0) {
    tf.io.registerLoadRouter(router);
    registered = true;
  }
  return registered;
}
