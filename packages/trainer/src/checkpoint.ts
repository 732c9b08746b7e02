// The checkpoint file: one binary file per checkpoint, written to a temporary name, fsync'd and renamed, so
// a kill at any moment leaves the previous checkpoint whole; a SHA-256 over the file refuses damaged ones.
// The trainer keeps the checkpoint before the latest one too (`keepPrevious`), so one damaged file does not
// mean starting over.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { namedWriteError } from './write-error.js';

/** Eight bytes at the start of every checkpoint file. */
export const CHECKPOINT_MAGIC = 'RESNETCK';
/** The layout version written by this package; others are refused. */
export const CHECKPOINT_VERSION = 1;
const DIGEST_BYTES = 32;
const PREAMBLE_BYTES = 16;

/** A named tensor's values as stored in a checkpoint. */
export interface CheckpointTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** Everything a checkpoint holds. Fields other than the tensors must be JSON values. */
export interface CheckpointContents {
  /** Iterations completed when it was written. */
  iteration: number;
  /** The run's configuration as given to `train` (null when none was given). */
  config: Record<string, unknown> | null;
  /** The trainer's random state (see TrainerRng). */
  rng: unknown;
  /** The batch source's `getState()` (null when the source has none). */
  data: unknown;
  /** The optimiser's hyper-parameters. */
  optimizer: { momentum: number; nesterov: boolean; weightDecay: number; noDecay?: string[] };
  /** The trainer's running metrics (current logging interval, last evaluation, …). */
  metrics: unknown;
  /** All of `model.weights` (trainable and not, so BN moving statistics too), by original name. */
  weights: CheckpointTensor[];
  /** The optimiser's velocity, one per trainable weight, named after it. */
  velocity: CheckpointTensor[];
}

/** A checkpoint read back from disk. */
export interface Checkpoint extends CheckpointContents {
  path: string;
  /** ISO time it was written. */
  createdAt: string;
  /** The SHA-256 recorded at its end (hex). */
  sha256: string;
}

interface TensorEntry {
  group: 'weights' | 'velocity';
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}

interface Header extends Omit<CheckpointContents, 'weights' | 'velocity'> {
  format: 'resnet-trainer-checkpoint';
  createdAt: string;
  tensors: TensorEntry[];
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Move the file already at `path` (if any) to this path instead of replacing it. */
  keepPrevious?: string;
}

/**
 * Writes `contents` to `path` atomically: a temporary file beside it (`<name>.tmp-<pid>-<n>`) is written,
 * fsync'd and renamed over `path`, then the directory is fsync'd. Until the rename the previous file at
 * `path` is untouched; with `keepPrevious` it is moved there first (a kill between the two renames leaves
 * it there, whole).
 */
export async function saveCheckpoint(
  path: string,
  contents: CheckpointContents,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const group of ['weights', 'velocity'] as const) {
    for (const t of contents[group]) {
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (t.data.length !== expected) {
        throw new Error(
          `checkpoint tensor ${group}/${t.name}: ${t.data.length} values for shape [${t.shape}]`,
        );
      }
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      tensors.push({ group, name: t.name, shape: t.shape, dtype: t.dtype, offset, byteLength: bytes.length });
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  const header: Header = {
    format: 'resnet-trainer-checkpoint',
    createdAt: new Date().toISOString(),
    iteration: contents.iteration,
    config: contents.config,
    rng: contents.rng,
    data: contents.data,
    optimizer: contents.optimizer,
    metrics: contents.metrics,
    tensors,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  preamble.write(CHECKPOINT_MAGIC, 0, 'ascii');
  preamble.writeUInt32LE(CHECKPOINT_VERSION, 8);
  preamble.writeUInt32LE(headerBytes.length, 12);

  const tmp = `${path}.tmp-${process.pid}-${tmpCounter++}`;
  const hash = createHash('sha256');
  const file = await open(tmp, 'w');
  try {
    for (const chunk of [preamble, headerBytes, ...chunks]) {
      hash.update(chunk);
      await file.write(chunk);
    }
    await file.write(hash.digest());
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(tmp, { force: true });
    throw namedWriteError(path, error);
  }
  await file.close();
  if (options.keepPrevious && existsSync(path)) await rename(path, options.keepPrevious);
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}
let tmpCounter = 0;

/** Reads and verifies a checkpoint; a damaged, truncated or foreign file is refused with a clear message. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const buf = await readFile(path);
  const damaged = (why: string) =>
    new Error(
      `checkpoint ${path} is damaged (${why}); it cannot be resumed from: delete it (the trainer then resumes ` +
        'from the previous checkpoint, checkpoint.prev.ckpt, if there is one), or start the run again',
    );
  if (buf.length < PREAMBLE_BYTES + DIGEST_BYTES) throw damaged(`only ${buf.length} bytes`);
  if (buf.toString('ascii', 0, 8) !== CHECKPOINT_MAGIC) {
    throw new Error(
      `${path} is not a @resnet/trainer checkpoint (it does not start with '${CHECKPOINT_MAGIC}')`,
    );
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) {
    throw new Error(
      `checkpoint ${path} has layout version ${version}; this @resnet/trainer reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const body = buf.subarray(0, buf.length - DIGEST_BYTES);
  const recorded = buf.subarray(buf.length - DIGEST_BYTES);
  const actual = createHash('sha256').update(body).digest();
  if (!actual.equals(recorded)) throw damaged('SHA-256 mismatch: the file was truncated or altered');
  const headerLength = buf.readUInt32LE(12);
  const payloadStart = PREAMBLE_BYTES + headerLength;
  if (payloadStart > body.length) throw damaged('header longer than the file');
  const header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, payloadStart)) as Header;
  const payload = body.subarray(payloadStart);
  const weights: CheckpointTensor[] = [];
  const velocity: CheckpointTensor[] = [];
  for (const t of header.tensors) {
    if (t.offset + t.byteLength > payload.length) throw damaged(`tensor ${t.group}/${t.name} past the end`);
    const values = t.shape.reduce((a, b) => a * b, 1);
    if (t.byteLength !== values * 4 || !['float32', 'int32'].includes(t.dtype)) {
      throw damaged(
        `tensor ${t.group}/${t.name} has ${t.byteLength} bytes; ${t.dtype} of shape [${t.shape}] needs ${values * 4}`,
      );
    }
    // Copy into a fresh buffer: the file's bytes need not be 4-byte aligned.
    const bytes = new Uint8Array(payload.subarray(t.offset, t.offset + t.byteLength));
    const data = t.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    (t.group === 'weights' ? weights : velocity).push({ name: t.name, shape: t.shape, dtype: t.dtype, data });
  }
  return {
    path,
    createdAt: header.createdAt,
    sha256: recorded.toString('hex'),
    iteration: header.iteration,
    config: header.config,
    rng: header.rng,
    data: header.data,
    optimizer: header.optimizer,
    metrics: header.metrics,
    weights,
    velocity,
  };
}

/** Removes temporary files a killed writer left beside `path` (they were never renamed, so never valid). */
export async function removeStaleTemporaries(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(prefix)).map((n) => join(dir, n));
  await Promise.all(stale.map((p) => rm(p, { force: true })));
  return stale;
}

async function syncDirectory(dir: string): Promise<void> {
  // A directory fsync makes the rename itself durable; some platforms (Windows) cannot open directories.
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the data is already on disk, only the name may lag behind after a power cut.
  } finally {
    await handle?.close();
  }
}
