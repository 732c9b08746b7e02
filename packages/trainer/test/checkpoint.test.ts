// The checkpoint file: round trip, refusal of damaged files, and atomicity against a real SIGKILL in the
// middle of a write.
import { watch } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { type CheckpointContents, loadCheckpoint, saveCheckpoint, train } from '../src/index.js';
import { startChild } from './child.js';
import { bigModel, RandomSource, setupBackend } from './helpers.js';

beforeAll(setupBackend);

function contents(iteration: number): CheckpointContents {
  return {
    iteration,
    config: { depth: 110, unit: 'preact' },
    rng: { seed: 3, alea: { c: 1, s0: 0.25, s1: 0.5, s2: 0.75 } },
    data: { epoch: 2, cursor: 17 },
    optimizer: { momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
    metrics: { lastTest: { loss: 0.3, error: 0.07 } },
    weights: [
      {
        name: 'conv/kernel',
        shape: [3, 1, 1, 2],
        dtype: 'float32',
        data: Float32Array.from([1, -2, 3.5, 0, 1e-30, 7]),
      },
      { name: 'count', shape: [], dtype: 'int32', data: Int32Array.from([iteration]) },
    ],
    velocity: [
      { name: 'conv/kernel', shape: [3, 1, 1, 2], dtype: 'float32', data: new Float32Array(6).fill(0.5) },
    ],
  };
}

describe('the checkpoint file', () => {
  test('round-trips every field and tensor exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    const path = join(dir, 'a.ckpt');
    const saved = contents(12);
    await saveCheckpoint(path, saved);
    const loaded = await loadCheckpoint(path);
    const { path: p, createdAt, sha256, ...rest } = loaded;
    expect(p).toBe(path);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(createdAt)).toBeGreaterThan(0);
    expect(rest).toEqual(saved);
    expect(loaded.weights[1]!.data).toBeInstanceOf(Int32Array);
    expect(await readdir(dir)).toEqual(['a.ckpt']);
  });

  test('a flipped byte, a truncation or a foreign file is refused with a clear message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    const path = join(dir, 'a.ckpt');
    await saveCheckpoint(path, contents(1));
    const good = await readFile(path);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 40]! ^= 0x01;
    await writeFile(join(dir, 'flipped.ckpt'), flipped);
    await expect(loadCheckpoint(join(dir, 'flipped.ckpt'))).rejects.toThrow(
      /flipped\.ckpt is damaged \(SHA-256 mismatch: the file was truncated or altered\)/,
    );

    await writeFile(join(dir, 'short.ckpt'), good.subarray(0, good.length - 10));
    await expect(loadCheckpoint(join(dir, 'short.ckpt'))).rejects.toThrow(/is damaged/);
    await writeFile(join(dir, 'tiny.ckpt'), good.subarray(0, 20));
    await expect(loadCheckpoint(join(dir, 'tiny.ckpt'))).rejects.toThrow(/is damaged \(only 20 bytes\)/);

    await writeFile(join(dir, 'other.ckpt'), Buffer.alloc(100, 1));
    await expect(loadCheckpoint(join(dir, 'other.ckpt'))).rejects.toThrow(
      /is not a @resnet\/trainer checkpoint/,
    );

    const future = Buffer.from(good);
    future.writeUInt32LE(99, 8);
    await writeFile(join(dir, 'future.ckpt'), future);
    await expect(loadCheckpoint(join(dir, 'future.ckpt'))).rejects.toThrow(/layout version 99/);
  });

  test('a damaged checkpoint in a runDir stops a resume instead of silently restarting', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'ckpt-run-'));
    await saveCheckpoint(join(runDir, 'checkpoint.ckpt'), contents(3));
    const bytes = await readFile(join(runDir, 'checkpoint.ckpt'));
    await writeFile(join(runDir, 'checkpoint.ckpt'), bytes.subarray(0, bytes.length - 1));
    await expect(
      train({
        model: bigModel(),
        data: new RandomSource(),
        iterations: 5,
        runDir,
        resume: true,
        progress: 'none',
      }),
    ).rejects.toThrow(/checkpoint\.ckpt is damaged/);
  });
});

test('SIGKILL in the middle of writing a checkpoint leaves the previous one loadable, and the run resumes', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'ckpt-kill-'));
  const child = startChild(runDir, 'big');
  // The first checkpoint is whole once its record is printed; then kill the process the moment the next
  // checkpoint's temporary file appears, i.e. while it is being written.
  await child.waitFor((l) => l['type'] === 'checkpoint' || l['type'] === 'exited');
  const watcher = watch(runDir, (_event, name) => {
    if (name?.includes('.tmp-')) child.process.kill('SIGKILL');
  });
  const { signal } = await child.exited;
  watcher.close();
  expect(signal).toBe('SIGKILL');

  const names = await readdir(runDir);
  const temporaries = names.filter((n) => n.includes('.tmp-'));
  expect(temporaries).toHaveLength(1);
  const lastReported = Math.max(
    ...child.lines.filter((l) => l['type'] === 'checkpoint').map((l) => l['iteration'] as number),
  );
  const previous = await loadCheckpoint(join(runDir, 'checkpoint.ckpt'));
  expect(previous.iteration).toBe(lastReported);

  const result = await train({
    model: bigModel(),
    data: new RandomSource(),
    iterations: previous.iteration + 1,
    runDir,
    resume: true,
    seed: 1,
    progress: 'none',
  });
  expect(result).toMatchObject({ status: 'completed', iteration: previous.iteration + 1 });
  expect((await readdir(runDir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
});
