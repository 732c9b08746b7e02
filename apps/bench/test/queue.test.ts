// Tables across processes, as on many machines, with a real redis-server (Debian's, one per test, on a free port
// of 127.0.0.1): BullMQ workers finish a table, one of them SIGKILLed in the middle of a run (the run resumes
// from its checkpoint: one resume in its metrics, no line lost or doubled), with a report identical number for
// number to one `bench run` of the same table; enqueueing twice adds nothing; a job whose data is bad ends failed
// with its message while the rest finish, across a Redis restart; Ctrl-C/SIGTERM puts a worker's job back.
// Array shares (`run --task K --tasks N`) cover every job once, and a killed share resumes. Generated data,
// smoke scale, wasm on one thread (the numerics every process shares).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCifar } from '@resnet/data-cifar';
import { parseMetrics } from '@resnet/trainer';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_DIR } from '../src/jobs/lock.js';
import { RESULT_FILE, type RunResult, runDir } from '../src/run-files.js';
import { type RedisServer, startRedis } from './redis-server.js';

const bench = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'bench-queue-'));
const servers: RedisServer[] = [];
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const server of servers) await server.remove();
  rmSync(root, { recursive: true, force: true });
});

const ROWS = ['original-110', 'full-preact-110'];
const ITERATIONS = 24;
const table = (extra: string[] = []) => [
  '--table',
  '2',
  '--rows',
  ROWS.join(','),
  '--scale',
  'smoke',
  '--runs',
  '2',
  '--iterations',
  String(ITERATIONS),
  ...extra,
];
const machine = ['--backend', 'wasm', '--threads', '1'];

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(
    process.execPath,
    ['--conditions=@resnet/source', '--import', 'tsx', 'src/cli.ts', ...args],
    {
      cwd: bench,
      encoding: 'utf8',
      timeout: 400_000,
      env: { ...process.env, ...env },
    },
  );
}

function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    ['--conditions=@resnet/source', '--import', 'tsx', 'src/cli.ts', ...args],
    { cwd: bench, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}

const worker = (url: string, out: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  start(['worker', '--redis', url, '--out', out, '--lock-seconds', '3', ...machine, ...extra], env);

function metricsLines(dir: string): string[] {
  const path = join(dir, 'metrics.jsonl');
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

const runDirs = (out: string) => ROWS.flatMap((row) => [1, 2].map((run) => runDir(out, 2, row, run)));

async function until(what: string, test: () => boolean, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The report's table rows (everything the numbers are in). */
function reportRows(out: string): string[] {
  const r = cli(['report', '--out', out]);
  expect(r.status).toBe(0);
  return readFileSync(join(out, 'table2', 'report.md'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('| '));
}

const numbers = (out: string) =>
  runDirs(out).map((dir) => {
    const r = JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')) as RunResult;
    return [r.status, r.iteration, r.testErrorPercent, r.testLoss, r.trainLoss];
  });

describe('a BullMQ queue on Redis', () => {
  it('three workers finish a table, one SIGKILLed mid-run; the report equals one machine’s, number for number', async () => {
    const redis = await startRedis();
    servers.push(redis);
    const out = join(root, 'queued');
    const enqueue = () => cli(['enqueue', ...table(), '--redis', redis.url, '--out', out]);
    expect(enqueue().stdout).toContain('4 job(s) added to resnet-bench, 0 already in it');
    expect(enqueue().stdout).toContain('0 job(s) added to resnet-bench, 4 already in it');

    const workers = [1, 2, 3].map(() => worker(redis.url, out, ['--until-empty']));
    // A run past its first checkpoint and not finished: kill the worker that holds it (its training process
    // then stops, writing nothing more), as a machine that is gone.
    let victim: { dir: string; pid: number } | undefined;
    await until('a run past a checkpoint', () => {
      for (const dir of runDirs(out)) {
        const records = parseMetrics(metricsLines(dir).join('\n'));
        const checkpointed = records.some((r) => r.type === 'checkpoint' && r.iteration >= 4);
        const ended = records.some((r) => r.type === 'end');
        const owner = existsSync(join(dir, LOCK_DIR, 'owner.json'))
          ? JSON.parse(readFileSync(join(dir, LOCK_DIR, 'owner.json'), 'utf8'))
          : undefined;
        if (checkpointed && !ended && owner?.pid) {
          victim = { dir, pid: owner.pid };
          return true;
        }
      }
      return false;
    });
    const killed = workers.find((w) => w.child.pid === victim!.pid)!;
    killed.child.kill('SIGKILL');
    for (const w of workers) if (w !== killed) expect((await w.exited).code, w.output()).toBe(0);

    for (const dir of runDirs(out)) expect(existsSync(join(dir, RESULT_FILE))).toBe(true);
    // The killed run: resumed once from its checkpoint; every line whole; each iteration logged once in the
    // record of the run that went on (the killed segment's lines past its checkpoint were rolled back).
    const lines = metricsLines(victim!.dir);
    const raw = lines.map(
      (line) => JSON.parse(line) as { type: string; iteration: number; resumedFrom?: string },
    );
    const starts = raw.filter((r) => r.type === 'start');
    expect(starts).toHaveLength(2);
    expect(starts[1]!.resumedFrom).toMatch(/checkpoint\.ckpt$/);
    expect(starts[1]!.iteration).toBeGreaterThanOrEqual(4);
    const logged = parseMetrics(lines.join('\n'))
      .filter((r) => r.type === 'log')
      .map((r) => r.iteration);
    expect(logged).toEqual(Array.from({ length: ITERATIONS }, (_, i) => i + 1));

    const status = cli(['status', '--redis', redis.url, '--table', '2']);
    expect(status.stdout).toContain('4/4 finished (4 done, 0 failed)');

    // The same table on one machine with the same seeds: the same numbers.
    const local = join(root, 'local');
    expect(cli(['run', ...table(machine), '--out', local]).status).toBe(0);
    expect(numbers(out)).toEqual(numbers(local));
    const rows = reportRows(out);
    expect(rows.length).toBeGreaterThan(2);
    expect(rows).toEqual(reportRows(local));
  }, 900_000);

  it('a job whose data is bad ends failed with its message while the rest finish, across a Redis restart', async () => {
    const redis = await startRedis();
    servers.push(redis);
    const out = join(root, 'bad-data');
    // CIFAR-10 is a generated folder; CIFAR-100 points at one whose test file was cut.
    const ten = (
      await writeSyntheticCifar({ dataset: 'cifar10', dir: join(root, 'd10'), trainCount: 64, testCount: 16 })
    ).dir;
    const hundred = (
      await writeSyntheticCifar({
        dataset: 'cifar100',
        dir: join(root, 'd100'),
        trainCount: 64,
        testCount: 16,
      })
    ).dir;
    rmSync(join(hundred, 'test.bin'));
    const env = { RESNET_CIFAR10_DIR: ten, RESNET_CIFAR100_DIR: hundred };
    // (--dataset keeps a table's rows of one set: enqueue each set's row on its own.)
    const add = (rows: string, dataset: string) =>
      cli(
        [
          'enqueue',
          '--table',
          '3',
          '--rows',
          rows,
          '--scale',
          'smoke',
          '--dataset',
          dataset,
          '--iterations',
          '40',
          '--allow-unofficial-data',
          '--attempts',
          '2',
          '--retry-delay',
          '0',
          '--redis',
          redis.url,
          '--out',
          out,
        ],
        env,
      );
    expect(add('c10-110-original', 'cifar10').stdout).toContain('1 job(s) added');
    expect(add('c100-164-original', 'cifar100').stdout).toContain('1 job(s) added');
    const w = worker(redis.url, out, ['--until-empty'], env);
    const good = runDir(out, 3, 'c10-110-original', 1);
    await until('the good run training', () => metricsLines(good).some((l) => l.includes('"type":"log"')));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await redis.restart();
    expect((await w.exited).code).toBe(0);
    expect(JSON.parse(readFileSync(join(good, RESULT_FILE), 'utf8'))).toMatchObject({
      status: 'completed',
      iteration: 40,
    });
    const status = cli(['status', '--redis', redis.url]);
    expect(status.stdout).toMatch(/smoke\/table3\/c10-110-original\/run1 +completed +completed, test error/);
    expect(status.stdout).toMatch(
      /smoke\/table3\/c100-164-original\/run1 +failed +after 2 attempt\(s\): .*lacks test\.bin/,
    );
    expect(status.stdout).toContain('2/2 finished (1 done, 1 failed)');
    expect(existsSync(runDir(out, 3, 'c100-164-original', 1))).toBe(false);
  }, 600_000);

  it('SIGTERM to a worker: its run checkpoints, the job goes back to the queue, status 143; another resumes it', async () => {
    const redis = await startRedis();
    servers.push(redis);
    const out = join(root, 'stopped');
    const one = ['--table', '2', '--rows', 'original-110', '--scale', 'smoke', '--iterations', '120'];
    expect(cli(['enqueue', ...one, '--redis', redis.url, '--out', out]).stdout).toContain('1 job(s) added');
    const dir = runDir(out, 2, 'original-110', 1);
    const first = worker(redis.url, out);
    await until(
      'logged iterations',
      () => metricsLines(dir).filter((l) => l.includes('"type":"log"')).length >= 3,
    );
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(143);
    const end = JSON.parse(metricsLines(dir).at(-1)!) as { type: string; status: string; iteration: number };
    expect(end).toMatchObject({ type: 'end', status: 'interrupted' });
    const waiting = JSON.parse(cli(['status', '--redis', redis.url, '--json']).stdout) as {
      lines: Array<{ state: string }>;
    };
    expect(waiting.lines.map((l) => l.state)).toEqual(['waiting']);
    const second = worker(redis.url, out, ['--until-empty']);
    expect((await second.exited).code).toBe(0);
    const starts = metricsLines(dir).filter((l) => l.includes('"type":"start"'));
    expect(starts).toHaveLength(2);
    expect(JSON.parse(starts[1]!).iteration).toBe(end.iteration);
    expect(JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')).iteration).toBe(120);
  }, 600_000);
});

describe('array shares', () => {
  it('--task K --tasks N cover every job once; a share killed and run again resumes and finishes', async () => {
    const out = join(root, 'shares');
    const plan = (extra: string[]) =>
      JSON.parse(cli(['plan', ...table(), '--out', out, '--json', ...extra]).stdout) as Array<{
        id: string;
        dir: string;
      }>;
    const all = plan([]);
    const shares = [0, 1, 2].map((k) => plan(['--task', String(k), '--tasks', '3']));
    expect(
      shares
        .flat()
        .map((j) => j.id)
        .sort(),
    ).toEqual(all.map((j) => j.id).sort());
    expect(new Set(shares.flat().map((j) => j.id)).size).toBe(all.length);
    // The environment of a Slurm array task and of a Kubernetes index name the same shares.
    const fromSlurm = JSON.parse(
      cli(['plan', ...table(), '--out', out, '--json', '--task-from-env'], {
        SLURM_ARRAY_TASK_ID: '3',
        SLURM_ARRAY_TASK_MIN: '2',
        SLURM_ARRAY_TASK_COUNT: '3',
      }).stdout,
    );
    expect(fromSlurm).toEqual(shares[1]);
    const fromKubernetes = cli(['plan', ...table(), '--out', out, '--task-from-env'], {
      JOB_COMPLETION_INDEX: '2',
      JOB_COMPLETIONS: '3',
    });
    expect(fromKubernetes.stdout).toContain('share 2 of 3 (JOB_COMPLETION_INDEX=2 of JOB_COMPLETIONS=3)');

    const tasks = [0, 1, 2].map((k) =>
      start(['run', ...table(machine), '--out', out, '--task', String(k), '--tasks', '3']),
    );
    // Kill share 0 in its first run, after a checkpoint.
    const firstOfShare0 = shares[0]![0]!.dir;
    await until('share 0 past a checkpoint', () =>
      metricsLines(firstOfShare0).some((l) => l.includes('"type":"checkpoint"')),
    );
    tasks[0]!.child.kill('SIGKILL');
    for (const task of tasks.slice(1)) expect((await task.exited).code, task.output()).toBe(0);
    await tasks[0]!.exited;
    expect(existsSync(join(firstOfShare0, RESULT_FILE))).toBe(false);
    const again = cli(['run', ...table(machine), '--out', out, '--task', '0', '--tasks', '3']);
    expect(again.status).toBe(0);
    for (const job of all) {
      expect(existsSync(join(job.dir, RESULT_FILE))).toBe(true);
      const starts = metricsLines(job.dir).filter((l) => l.includes('"type":"start"')).length;
      expect(starts).toBe(job.dir === firstOfShare0 ? 2 : 1);
    }
    expect(readdirSync(join(out, 'table2'))).toEqual(expect.arrayContaining(ROWS));
  }, 600_000);
});
