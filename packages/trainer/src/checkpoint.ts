// The checkpoint file: one binary file per checkpoint, written to a temporary name, fsync'd and renamed, so
// a kill at any moment leaves the previous checkpoint whole; a SHA-256 over the file refuses damaged ones.
// The trainer keeps the checkpoint before the latest one too (`keepPrevious`), so one damaged file does not
// mean starting over.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointContents,
  type Header,
  PREAMBLE_BYTES,
  readCheckpoint,
  type TensorEntry,
} from './checkpoint-format.js';
import { namedWriteError } from './write-error.js';

export type { Checkpoint, CheckpointContents, CheckpointTensor } from './checkpoint-format.js';
export { CHECKPOINT_MAGIC, CHECKPOINT_VERSION } from './checkpoint-format.js';

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

/** Reads and verifies the checkpoint at `path` (see {@link readCheckpoint}). */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return readCheckpoint(new Uint8Array(await readFile(path)), path);
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
