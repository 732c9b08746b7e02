// The checkpoint file: round trip, refusal of damaged files, and atomicity against a real SIGKILL in the
// middle of a write.
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  type CheckpointContents,
  loadCheckpoint,
  type MetricsRecord,
  saveCheckpoint,
  train,
} from '../src/index.js';
import { startChild } from './child.js';
import { bigModel, RandomSource, setupBackend, tinyConvNet, weightValues } from './helpers.js';

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

  test('reads from bytes anywhere (readCheckpoint of the browser entry), as from the file', async () => {
    const { readCheckpoint } = await import('../src/browser.js');
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
    const path = join(dir, 'a.ckpt');
    await saveCheckpoint(path, contents(5));
    // At an odd offset of a larger buffer, as bytes sliced out of something else would be.
    const file = await readFile(path);
    const holder = new Uint8Array(file.length + 3);
    holder.set(file, 3);
    const fromBytes = await readCheckpoint(holder.subarray(3), 'chosen/a.ckpt');
    const { path: p, ...rest } = await loadCheckpoint(path);
    expect(fromBytes.path).toBe('chosen/a.ckpt');
    expect({ ...fromBytes, path: p }).toEqual({ path: p, ...rest });
    holder[40]! ^= 0x01;
    await expect(readCheckpoint(holder.subarray(3), 'chosen/a.ckpt')).rejects.toThrow(
      /chosen\/a\.ckpt is damaged \(SHA-256 mismatch/,
    );
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

  test('a tensor of odd byte length is refused with a message naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ckpt-odd-'));
    const path = join(dir, 'odd.ckpt');
    await saveCheckpoint(path, contents(1));
    const good = await readFile(path);
    // Rewrite the header so that its first tensor claims 23 bytes, with a valid SHA-256: only the length
    // check can catch it.
    const headerLength = good.readUInt32LE(12);
    const header = JSON.parse(good.toString('utf8', 16, 16 + headerLength));
    header.tensors[0].byteLength = 23;
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const preamble = Buffer.from(good.subarray(0, 16));
    preamble.writeUInt32LE(headerBytes.length, 12);
    const body = Buffer.concat([preamble, headerBytes, good.subarray(16 + headerLength, good.length - 32)]);
    const digest = createHash('sha256').update(body).digest();
    await writeFile(path, Buffer.concat([body, digest]));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      /checkpoint .*odd\.ckpt is damaged \(tensor weights\/conv\/kernel has 23 bytes; float32 of shape \[3,1,1,2\] needs 24\)/,
    );
  });

  test('a damaged latest checkpoint falls back to the previous one, with a warning naming it', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'ckpt-prev-'));
    const options = (model: ReturnType<typeof tinyConvNet>) => ({
      model,
      data: new RandomSource({ seed: 4 }),
      iterations: 10,
      checkpointEvery: 2,
      logEvery: 2,
      runDir,
      seed: 5,
      resume: true,
      progress: 'none' as const,
    });
    const controller = new AbortController();
    const stopped = await train({
      ...options(tinyConvNet({ name: 'prev' })),
      signal: controller.signal,
      callbacks: { onIteration: (i) => i === 6 && controller.abort() },
    });
    expect(stopped).toMatchObject({ status: 'interrupted', iteration: 6 });
    expect((await loadCheckpoint(join(runDir, 'checkpoint.prev.ckpt'))).iteration).toBe(4);
    const bytes = await readFile(join(runDir, 'checkpoint.ckpt'));
    await writeFile(join(runDir, 'checkpoint.ckpt'), bytes.subarray(0, bytes.length - 1));
    const records: MetricsRecord[] = [];
    const model = tinyConvNet({ name: 'prev', seed: 9 });
    const resumed = await train({ ...options(model), callbacks: { onLog: (r) => records.push(r) } });
    expect(resumed.status).toBe('completed');
    expect(records[0]).toMatchObject({ type: 'start', iteration: 4 });
    const warning = records.find((r) => r.type === 'warning');
    expect(warning?.type === 'warning' && warning.message).toMatch(
      /checkpoint .*checkpoint\.ckpt is damaged \(SHA-256 mismatch.*\); resuming from .*checkpoint\.prev\.ckpt instead/,
    );
    // And it ends where an uninterrupted run ends.
    const straightDir = await mkdtemp(join(tmpdir(), 'ckpt-straight-'));
    const straight = tinyConvNet({ name: 'prev' });
    await train({ ...options(straight), runDir: straightDir });
    expect(weightValues(model)).toEqual(weightValues(straight));
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
