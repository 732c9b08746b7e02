// Exact resume: on the cpu backend, 2N iterations in one go and N + resume + N give bitwise-identical
// weights (BN statistics, dropout and the data order included); resumes that cannot be exact are refused.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { type LogRecord, loadCheckpoint, parseMetrics, type TrainOptions, train } from '../src/index.js';
import { startChild } from './child.js';
import { bigModel, RandomSource, setupBackend, tinyConvNet, weightValues } from './helpers.js';

let backend = 'cpu';
beforeAll(async () => {
  backend = await setupBackend();
});

const N = 6;

/** A run with everything that has state: BN, dropout, a seeded source, momentum, a schedule change. */
function options(runDir: string, modelSeed: number): TrainOptions {
  return {
    model: tinyConvNet({ name: 'resume', dropout: 0.5, seed: modelSeed }),
    data: new RandomSource({ seed: 9 }),
    iterations: 2 * N,
    schedule: (i) => (i < N + 2 ? 0.1 : 0.01),
    // The same test batch at every evaluation, as a test set is.
    evaluate: { every: 4, batches: () => [new RandomSource({ seed: 50 }).next()] },
    logEvery: 4,
    runDir,
    seed: 123,
    config: { name: 'resume-test', depth: 8 },
    progress: 'none',
  };
}

function expectIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, values] of a) {
    const other = b.get(name)!;
    const same = Buffer.from(values.buffer, values.byteOffset, values.byteLength).equals(
      Buffer.from(other.buffer, other.byteOffset, other.byteLength),
    );
    if (backend === 'cpu') expect(same, `${name} differs`).toBe(true);
    else for (const [i, v] of values.entries()) expect(other[i]).toBeCloseTo(v, 4);
  }
}

async function uninterrupted(): Promise<{ weights: Map<string, Float32Array>; logs: LogRecord[] }> {
  const runDir = await mkdtemp(join(tmpdir(), 'resume-a-'));
  const o = options(runDir, 1);
  await train(o);
  const logs = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).filter(
    (r): r is LogRecord => r.type === 'log',
  );
  return { weights: weightValues(o.model), logs };
}

describe('resume', () => {
  test('2N iterations equal N, resume, N (bitwise on cpu); metrics continue as if never stopped', async () => {
    const a = await uninterrupted();

    const runDir = await mkdtemp(join(tmpdir(), 'resume-b-'));
    const controller = new AbortController();
    const first = options(runDir, 1);
    const stopped = await train({
      ...first,
      signal: controller.signal,
      callbacks: { onIteration: (i) => i === N && controller.abort() },
    });
    expect(stopped).toMatchObject({ status: 'interrupted', iteration: N });
    expect(stopped.checkpointPath).toBe(join(runDir, 'checkpoint.ckpt'));

    // A different initialisation: everything must come from the checkpoint.
    const second = options(runDir, 77);
    expect(weightValues(second.model).get('resume_conv/kernel')).not.toEqual(
      a.weights.get('resume_conv/kernel'),
    );
    const resumed = await train({ ...second, resume: true });
    expect(resumed).toMatchObject({ status: 'completed', iteration: 2 * N });
    expectIdentical(a.weights, weightValues(second.model));

    const logs = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).filter(
      (r): r is LogRecord => r.type === 'log',
    );
    const essentials = (r: LogRecord) => [
      r.iteration,
      r.lr,
      r.trainLoss,
      r.trainError,
      r.testLoss,
      r.testError,
    ];
    expect(logs.map(essentials)).toEqual(a.logs.map(essentials));
  });

  test('the same seed repeats a run; another seed gives other dropout masks', async () => {
    const a = await uninterrupted();
    const again = await uninterrupted();
    expectIdentical(a.weights, again.weights);
    const runDir = await mkdtemp(join(tmpdir(), 'resume-seed-'));
    const o = { ...options(runDir, 1), seed: 124 };
    await train(o);
    expect(weightValues(o.model).get('resume_fc/kernel')).not.toEqual(a.weights.get('resume_fc/kernel'));
  });

  test('a completed run resumes to its stored result without training', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'resume-done-'));
    const done = await train(options(runDir, 1));
    const steps: number[] = [];
    const again = await train({
      ...options(runDir, 1),
      resume: true,
      callbacks: { onStepEnd: (e) => steps.push(e.iteration) },
    });
    expect(steps).toEqual([]);
    expect(again).toMatchObject({
      status: 'completed',
      iteration: 2 * N,
      train: done.train,
      test: done.test,
    });
    expect(again.checkpointPath).toBe(join(runDir, 'final.ckpt'));
  });

  test('resume refuses another configuration, seed, optimizer or model, naming the difference', async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'resume-refuse-'));
    await train({ ...options(runDir, 1), iterations: 2 });
    const base = options(runDir, 1);
    const wider = tinyConvNet({ name: 'resume', classes: 4 });
    const renamed = tinyConvNet({ name: 'other' });
    const bigger = bigModel();
    const before = tf.memory().numTensors;
    await expect(
      train({ ...base, resume: true, config: { name: 'resume-test', depth: 10 } }),
    ).rejects.toThrow(/different configuration \(depth: 8 in the checkpoint, 10 now\)/);
    await expect(train({ ...base, resume: true, seed: 5 })).rejects.toThrow(/seed 123, not 5/);
    await expect(train({ ...base, resume: true, optimizer: { momentum: 0.5 } })).rejects.toThrow(
      /written with optimizer .*"momentum":0.9.*not .*"momentum":0.5/,
    );
    await expect(train({ ...base, resume: true, model: wider })).rejects.toThrow(
      /does not fit this model \(weights: 'resume_fc\/kernel' has shape \[4,3\] in the checkpoint, \[4,4\] here\)/,
    );
    await expect(train({ ...base, resume: true, model: renamed })).rejects.toThrow(
      /\(weights: #0 is 'resume_conv\/kernel' in the checkpoint, 'other_conv\/kernel' here\)/,
    );
    await expect(train({ ...base, resume: true, model: bigger })).rejects.toThrow(
      /\(weights: 7 tensors saved, the model has 6\)/,
    );
    // A refused resume frees what it made (the optimiser's velocity).
    expect(tf.memory().numTensors).toBe(before);
    const ckpt = await loadCheckpoint(join(runDir, 'final.ckpt'));
    expect(ckpt.iteration).toBe(2);
  });
});

test('SIGTERM checkpoints and stops with status interrupted; the run resumes from there', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'resume-sigterm-'));
  const child = startChild(runDir, 'tiny');
  await child.waitFor((l) => l['type'] === 'checkpoint' || l['type'] === 'exited');
  child.process.kill('SIGTERM');
  const line = await child.waitFor((l) => l['type'] === 'result' || l['type'] === 'exited');
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = line['result'] as { status: string; iteration: number; checkpointPath: string };
  expect(result.status).toBe('interrupted');
  const ckpt = await loadCheckpoint(result.checkpointPath);
  expect(ckpt.iteration).toBe(result.iteration);
  expect(child.lines.at(-2)).toMatchObject({
    type: 'end',
    status: 'interrupted',
    iteration: result.iteration,
  });

  const resumed = await train({
    model: tinyConvNet({ name: 'child' }),
    data: new RandomSource(),
    iterations: result.iteration + 3,
    runDir,
    resume: true,
    progress: 'none',
  });
  expect(resumed).toMatchObject({ status: 'completed', iteration: result.iteration + 3 });
});
