// Between a model and its checkpoints: snapshots of the weights and velocity, and the checks that make a
// resume exact or refuse it with the reason. No file access here (that is node-host.ts), so it runs anywhere.
import * as tf from '@tensorflow/tfjs-core';
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import type { Checkpoint, CheckpointTensor } from './checkpoint-format.js';
import type { MomentumSgd } from './sgd.js';

/** A copy of a tensor's values for a checkpoint (read with `await data()`: no backend is blocked on). */
export async function snapshot(name: string, tensor: tf.Tensor): Promise<CheckpointTensor> {
  const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
  if (tensor.dtype !== dtype) {
    throw new Error(`checkpoint cannot store ${name}: dtype ${tensor.dtype} (float32 and int32 only)`);
  }
  const values = await tensor.data();
  // A copy: some backends hand out their own storage, which the next step overwrites.
  const data =
    dtype === 'int32' ? new Int32Array(values as Int32Array) : new Float32Array(values as Float32Array);
  return { name, shape: [...tensor.shape], dtype, data };
}

/**
 * Writes a checkpoint's weights into `weights` (a model's `weights`: every one, BN's moving statistics too),
 * after checking their names and shapes; a model of another shape is refused, naming the first difference.
 */
export function restoreWeights(weights: readonly LayerVariable[], ckpt: Checkpoint): void {
  checkTensors('weights', ckpt, weights, ckpt.weights);
  tf.tidy(() => {
    weights.forEach((w, i) => {
      const t = ckpt.weights[i]!;
      w.write(tf.tensor(t.data, t.shape, t.dtype));
    });
  });
}

/** Writes a checkpoint's velocity into the optimiser, after checking names and shapes. */
export function restoreVelocity(optimizer: MomentumSgd, ckpt: Checkpoint): void {
  checkTensors('velocity', ckpt, optimizer.weights, ckpt.velocity);
  tf.tidy(() => optimizer.setVelocity(ckpt.velocity.map((t) => tf.tensor(t.data, t.shape, t.dtype))));
}

function checkTensors(
  what: string,
  ckpt: Checkpoint,
  weights: readonly LayerVariable[],
  saved: readonly CheckpointTensor[],
): void {
  const refuse = (detail: string) =>
    new Error(
      `checkpoint ${ckpt.path} does not fit this model (${what}: ${detail}); ` +
        'resume with the model that wrote it, or start a new run in another runDir',
    );
  if (saved.length !== weights.length) {
    throw refuse(`${saved.length} tensors saved, the model has ${weights.length}`);
  }
  weights.forEach((w, i) => {
    const t = saved[i]!;
    if (t.name !== w.originalName)
      throw refuse(`#${i} is '${t.name}' in the checkpoint, '${w.originalName}' here`);
    if (!tf.util.arraysEqual(t.shape, w.shape as number[])) {
      throw refuse(`'${t.name}' has shape [${t.shape}] in the checkpoint, [${w.shape}] here`);
    }
  });
}

/** Refuses a checkpoint written for another configuration, naming the keys that differ. */
export function checkConfig(ckpt: Checkpoint, config: Record<string, unknown> | null): void {
  const before = canonical(ckpt.config);
  const now = canonical(config);
  if (before === now) return;
  const a = (ckpt.config ?? {}) as Record<string, unknown>;
  const b = config ?? {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const differences = keys
    .filter((k) => canonical(a[k]) !== canonical(b[k]))
    .map((k) => `${k}: ${canonical(a[k]) ?? 'absent'} in the checkpoint, ${canonical(b[k]) ?? 'absent'} now`);
  throw new Error(
    `checkpoint ${ckpt.path} was written for a different configuration (${differences.join('; ')}); ` +
      'resume with the same config, or start a new run in another runDir',
  );
}

/** Refuses a checkpoint written with other optimiser hyper-parameters. */
export function checkOptimizer(ckpt: Checkpoint, now: Checkpoint['optimizer']): void {
  if (canonical(ckpt.optimizer) !== canonical(now)) {
    throw new Error(
      `checkpoint ${ckpt.path} was written with optimizer ${canonical(ckpt.optimizer)}, not ${canonical(now)}; ` +
        'resume with the same optimizer options, or start a new run in another runDir',
    );
  }
}

/** JSON with sorted keys, so configurations compare by value. */
function canonical(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}
