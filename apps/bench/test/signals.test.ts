// Ctrl-C and SIGTERM, as a user meets them: real signals sent to the process group of
// `pnpm --filter bench start -- run …` (what a terminal's Ctrl-C does) and to the bench's node process alone.
// Each run checkpoints within one iteration, exits 130 (SIGINT) or 143 (SIGTERM), leaves no result.json,
// and the same command then resumes it to final weights bitwise equal to an uninterrupted run's.
// Backend: $RESNET_BENCH_BACKEND (default wasm, the embedded one).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@resnet/trainer';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULT_FILE, type RunResult, runDir } from '../src/run-files.js';

const bench = join(import.meta.dirname, '..');
const workspace = join(bench, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'bench-signals-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const backend = process.env['RESNET_BENCH_BACKEND'] ?? 'wasm';
const ITERATIONS = 20;
const runArgs = (out: string) => [
  'run',
  '--table',
  '2',
  '--rows',
  'original-110',
  '--scale',
  'smoke',
  '--iterations',
  String(ITERATIONS),
  '--backend',
  backend,
  '--out',
  out,
];
const dirOf = (out: string) => runDir(out, 2, 'original-110', 1);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function start(via: 'pnpm' | 'node', out: string): { child: ChildProcess; exited: Promise<Exit> } {
  const child =
    via === 'pnpm'
      ? spawn('pnpm', ['--filter', 'bench', 'start', '--', ...runArgs(out)], {
          cwd: workspace,
          detached: true,
          stdio: 'ignore',
        })
      : spawn(
          process.execPath,
          ['--conditions=@resnet/source', '--import', 'tsx', 'src/cli.ts', ...runArgs(out)],
          { cwd: bench, detached: true, stdio: 'ignore' },
        );
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

function records(out: string): Record<string, unknown>[] {
  const path = join(dirOf(out), 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function until(what: string, test: () => boolean, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function finalWeights(out: string): Promise<Map<string, Buffer>> {
  const ckpt = await loadCheckpoint(join(dirOf(out), 'final.ckpt'));
  return new Map(
    [...ckpt.weights, ...ckpt.velocity].map((t) => [
      t.name + (ckpt.weights.includes(t) ? '' : '#velocity'),
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ]),
  );
}

let reference: { weights: Map<string, Buffer>; result: RunResult } | undefined;
async function uninterrupted() {
  if (reference) return reference;
  const out = join(root, 'reference');
  const { exited } = start('node', out);
  expect((await exited).code).toBe(0);
  reference = {
    weights: await finalWeights(out),
    result: JSON.parse(readFileSync(join(dirOf(out), RESULT_FILE), 'utf8')) as RunResult,
  };
  return reference;
}

async function interruptThenResume(
  via: 'pnpm' | 'node',
  signal: 'SIGINT' | 'SIGTERM',
  to: 'group' | 'process',
) {
  const out = join(root, `${via}-${signal}-${to}`);
  const { child, exited } = start(via, out);
  // Three iterations logged: the run is training.
  await until('three logged iterations', () => records(out).filter((r) => r.type === 'log').length >= 3);
  const sentAt = records(out).filter((r) => r.type === 'log').length;
  process.kill(to === 'group' ? -child.pid! : child.pid!, signal);
  const exit = await exited;
  // The node process may outlive pnpm: wait for its last record.
  await until('the end record', () => records(out).some((r) => r.type === 'end'));
  const all = records(out);
  const end = all.find((r) => r.type === 'end')!;
  expect(end['status']).toBe('interrupted');
  // Within one iteration of the signal (the iteration in flight ends, then the checkpoint); pnpm's end is
  // noticed by polling (every 100 ms), a few iterations later.
  expect(end['iteration'] as number).toBeLessThanOrEqual(
    sentAt + (via === 'pnpm' && to === 'process' ? 8 : 2),
  );
  expect(end['iteration'] as number).toBeLessThan(ITERATIONS);
  const last = all.filter((r) => r.type === 'checkpoint').at(-1)!;
  expect(last['iteration']).toBe(end['iteration']);
  expect(existsSync(join(dirOf(out), RESULT_FILE))).toBe(false);
  expect(existsSync(join(dirOf(out), 'checkpoint.ckpt'))).toBe(true);

  const resumed = start('node', out);
  expect((await resumed.exited).code).toBe(0);
  const result = JSON.parse(readFileSync(join(dirOf(out), RESULT_FILE), 'utf8')) as RunResult;
  const ref = await uninterrupted();
  expect(result.status).toBe('completed');
  expect(result.iteration).toBe(ITERATIONS);
  expect(result.testErrorPercent).toBe(ref.result.testErrorPercent);
  expect(result.trainLoss).toBe(ref.result.trainLoss);
  const weights = await finalWeights(out);
  expect([...weights.keys()]).toEqual([...ref.weights.keys()]);
  for (const [name, bytes] of weights) expect(bytes.equals(ref.weights.get(name)!), name).toBe(true);
  return exit;
}

describe('signals', () => {
  it('Ctrl-C (SIGINT to the process group of pnpm --filter bench start): checkpoint, status 130, exact resume', async () => {
    const exit = await interruptThenResume('pnpm', 'SIGINT', 'group');
    // pnpm waits for the script and then ends by the same signal, so a shell reads 128 + 2.
    expect(exit.signal === 'SIGINT' || exit.code === 130).toBe(true);
  });

  it('SIGTERM to the process group of pnpm: checkpoint, exact resume', async () => {
    const exit = await interruptThenResume('pnpm', 'SIGTERM', 'group');
    expect(exit.signal === 'SIGTERM' || exit.code === 143).toBe(true);
  });

  it('SIGTERM to pnpm alone (which passes it on to the bench, with no shell between them): checkpoint, exact resume', async () => {
    const exit = await interruptThenResume('pnpm', 'SIGTERM', 'process');
    expect(exit.signal === 'SIGTERM' || exit.code === 143).toBe(true);
  });

  it('SIGINT to the bench process alone: exit 130, exact resume', async () => {
    expect(await interruptThenResume('node', 'SIGINT', 'process')).toEqual({ code: 130, signal: null });
  });

  it('SIGTERM to the bench process alone: exit 143, exact resume', async () => {
    expect(await interruptThenResume('node', 'SIGTERM', 'process')).toEqual({ code: 143, signal: null });
  });
});
