// The checkpoint file's layout, and reading one from bytes anywhere (Node.js, browsers): eight magic bytes,
// the layout version and the header's length, the JSON header, the tensors' bytes, and a SHA-256 of all that
// at the end, which refuses damaged files. Writing (and reading from disk) is checkpoint.ts's, in Node.js.

/** Eight bytes at the start of every checkpoint file. */
export const CHECKPOINT_MAGIC = 'RESNETCK';
/** The layout version written by this package; others are refused. */
export const CHECKPOINT_VERSION = 1;
export const DIGEST_BYTES = 32;
export const PREAMBLE_BYTES = 16;

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

export interface TensorEntry {
  group: 'weights' | 'velocity';
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}

export interface Header extends Omit<CheckpointContents, 'weights' | 'velocity'> {
  format: 'resnet-trainer-checkpoint';
  createdAt: string;
  tensors: TensorEntry[];
}

/**
 * Reads and verifies a checkpoint from its bytes (`path` names it in messages and in the result); a damaged,
 * truncated or foreign file is refused with a clear message. The SHA-256 is Web Crypto's: in a browser, a page
 * served over https or from localhost has it.
 */
export async function readCheckpoint(bytes: Uint8Array, path: string): Promise<Checkpoint> {
  const damaged = (why: string) =>
    new Error(
      `checkpoint ${path} is damaged (${why}); it cannot be resumed from: delete it (the trainer then resumes ` +
        'from the previous checkpoint, checkpoint.prev.ckpt, if there is one), or start the run again',
    );
  if (bytes.length < PREAMBLE_BYTES + DIGEST_BYTES) throw damaged(`only ${bytes.length} bytes`);
  const text = new TextDecoder();
  if (text.decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) {
    throw new Error(
      `${path} is not a @resnet/trainer checkpoint (it does not start with '${CHECKPOINT_MAGIC}')`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new Error(
      `checkpoint ${path} has layout version ${version}; this @resnet/trainer reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  const recorded = bytes.subarray(bytes.length - DIGEST_BYTES);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new Error(
      `checking checkpoint ${path} needs Web Crypto's SHA-256, which a browser gives only to secure pages: serve the page over https or from localhost`,
    );
  }
  const actual = new Uint8Array(await subtle.digest('SHA-256', body.slice()));
  if (!actual.every((byte, i) => byte === recorded[i])) {
    throw damaged('SHA-256 mismatch: the file was truncated or altered');
  }
  const headerLength = view.getUint32(12, true);
  const payloadStart = PREAMBLE_BYTES + headerLength;
  if (payloadStart > body.length) throw damaged('header longer than the file');
  const header = JSON.parse(text.decode(bytes.subarray(PREAMBLE_BYTES, payloadStart))) as Header;
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
    const copy = payload.slice(t.offset, t.offset + t.byteLength);
    const data = t.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    (t.group === 'weights' ? weights : velocity).push({ name: t.name, shape: t.shape, dtype: t.dtype, data });
  }
  return {
    path,
    createdAt: header.createdAt,
    sha256: Array.from(recorded, (byte) => byte.toString(16).padStart(2, '0')).join(''),
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
