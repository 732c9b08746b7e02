// The bench as a supervisor of training, with real processes: the training runs in a child process, so a
// signal is seen at once even during a long synchronous step (first Ctrl-C: checkpoint at the next iteration
// boundary; second: stop at once; status 130 either way, also through pnpm); a training process that dies is
// reported with how it ended and its run folder; a second command on a busy run folder names its holder and
// exits non-zero; an error that escapes prints one line.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_DIR } from '../src/jobs/lock.js';
import { RESULT_FILE, runDir } from '../src/run-files.js';

const bench = join(import.meta.dirname, '..');
const workspace = join(bench, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'bench-supervise-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dirOf = (out: string) => runDir(out, 2, 'original-110', 1);
const runArgs = (out: string, backend: string, iterations: number) => [
  'run',
  '--table',
  '2',
  '--rows',
  'original-110',
  '--scale',
  'smoke',
  '--iterations',
  String(iterations),
  '--backend',
  backend,
  '--out',
  out,
];

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function start(via: 'pnpm' | 'node', args: string[]): Started {
  const child =
    via === 'pnpm'
      ? spawn('pnpm', ['--filter', 'bench', 'start', '--', ...args], {
          cwd: workspace,
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(process.execPath, ['--conditions=@resnet/source', '--import', 'tsx', 'src/cli.ts', ...args], {
          cwd: bench,
          detached: true,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

function records(out: string): Record<string, unknown>[] {
  const path = join(dirOf(out), 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function owner(out: string): { pid: number; child?: number } | undefined {
  try {
    return JSON.parse(readFileSync(join(dirOf(out), LOCK_DIR, 'owner.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

async function until(what: string, test: () => boolean, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a long synchronous step (cpu backend: seconds per step)', () => {
  it('first Ctrl-C is answered at once and the run checkpoints at the end of the step; exit 130', async () => {
    const out = join(root, 'long-step');
    const run = start('pnpm', runArgs(out, 'cpu', 3));
    // The first step has begun: the trainer wrote its start record and is inside a step of many seconds.
    await until('the start record', () => records(out).some((r) => r['type'] === 'start'));
    process.kill(-run.child.pid!, 'SIGINT');
    // The supervisor answers while the step goes on (the training process cannot run JavaScript until then).
    await until('the supervisor’s answer', () => run.stderr().includes('SIGINT received'));
    expect(records(out).some((r) => r['type'] === 'end')).toBe(false);
    const exit = await run.exited;
    expect(exit.code === 130 || exit.signal === 'SIGINT').toBe(true);
    const end = records(out).find((r) => r['type'] === 'end')!;
    expect(end).toMatchObject({ status: 'interrupted', iteration: 1 });
    expect(
      records(out)
        .filter((r) => r['type'] === 'checkpoint')
        .at(-1),
    ).toMatchObject({ iteration: 1 });
    expect(existsSync(join(dirOf(out), RESULT_FILE))).toBe(false);
  }, 600_000);

  it('a second Ctrl-C stops the training at once, without waiting for the step; still status 130', async () => {
    const out = join(root, 'long-step');
    const before = records(out).length;
    const run = start('pnpm', runArgs(out, 'cpu', 3));
    await until('the resumed start record', () => records(out).length > before);
    process.kill(-run.child.pid!, 'SIGINT');
    await until('the supervisor’s answer', () => run.stderr().includes('SIGINT received'));
    // A person's second Ctrl-C (the relay of the first by pnpm, within a second, is not one).
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-run.child.pid!, 'SIGINT');
    const exit = await run.exited;
    expect(exit.code === 130 || exit.signal === 'SIGINT').toBe(true);
    expect(run.stderr()).toContain('SIGINT again: stopping at once');
    // Killed inside its step: nothing after the resumed start record, the checkpoint of iteration 1 kept.
    const after = records(out).slice(before);
    expect(after.map((r) => r['type'])).toEqual(['start']);
    expect(existsSync(join(dirOf(out), 'checkpoint.ckpt'))).toBe(true);
    // And the lock is free again: the run resumes and finishes.
    const resumed = start('node', runArgs(out, 'wasm', 3));
    // (On another backend the numerics differ, which a resume refuses: say so, and leave the folder.)
    const refused = await resumed.exited;
    expect(refused.code).toBe(1);
    expect(resumed.stderr()).toMatch(/was trained so far with numerics cpu; this machine gives wasm/);
  }, 600_000);
});

describe('the training process', () => {
  it('that dies is reported with how it ended and its run folder, never as success', async () => {
    const out = join(root, 'killed-child');
    const run = start('node', runArgs(out, 'wasm', 400));
    await until('a training process', () => owner(out)?.child !== undefined);
    await until('a logged iteration', () => records(out).some((r) => r['type'] === 'log'));
    process.kill(owner(out)!.child!, 'SIGKILL');
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    expect(run.stderr()).toContain(
      'the training process of smoke/table2/original-110/run1 ended without a result: it was killed (SIGKILL)',
    );
    expect(run.stderr()).toContain(`Its run folder ${dirOf(out)} keeps its last checkpoint`);
    expect(existsSync(join(dirOf(out), RESULT_FILE))).toBe(false);
    expect(existsSync(join(dirOf(out), LOCK_DIR))).toBe(false);
  }, 300_000);

  it('holds its run folder: a second command on it names the holder and exits non-zero', async () => {
    const out = join(root, 'busy');
    const first = start('node', runArgs(out, 'wasm', 60));
    await until('a logged iteration', () => records(out).some((r) => r['type'] === 'log'));
    const second = spawnSync(
      process.execPath,
      ['--conditions=@resnet/source', '--import', 'tsx', 'src/cli.ts', ...runArgs(out, 'wasm', 60)],
      { cwd: bench, encoding: 'utf8', timeout: 240_000 },
    );
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(
      `${dirOf(out)} is being trained by pid ${first.child.pid} (training in pid ${owner(out)!.child}) on ${hostname()} (bench run, since`,
    );
    expect((await first.exited).code).toBe(0);
    expect(records(out).filter((r) => r['type'] === 'start')).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dirOf(out), RESULT_FILE), 'utf8'))).toMatchObject({
      status: 'completed',
      iteration: 60,
    });
  }, 300_000);
});

describe('errors', () => {
  it('an error that escapes on wasm prints one line, not the Emscripten glue’s minified source', () => {
    const r = spawnSync(
      process.execPath,
      ['--conditions=@resnet/source', '--import', 'tsx', 'test/fixtures/escaped-error.ts'],
      { cwd: bench, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'error: Based on the provided shape, [2,2], the tensor should have 4 values but has 3\n',
    );
  }, 150_000);
});
