// An interrupted table carries on where it stopped: finished runs are skipped, the interrupted run resumes
// from its checkpoint and ends exactly where an uninterrupted run ends; nothing unfinished has a result.json.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULT_FILE, type RunResult, runDir } from '../src/run-files.js';
import { runTable } from '../src/runner.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';
const root = mkdtempSync(join(tmpdir(), 'bench-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rows = ['original-110', 'full-preact-110'];
const common = {
  table: 2,
  rows,
  scale: 'smoke' as const,
  backend,
  progress: 'none' as const,
  log: () => {},
  isolation: 'inline' as const,
};
const result = (out: string, row: string) =>
  JSON.parse(readFileSync(join(runDir(out, 2, row, 1), RESULT_FILE), 'utf8')) as RunResult;

describe('resume', () => {
  it('skips finished runs and resumes the interrupted one to the same end as an uninterrupted run', async () => {
    const out = join(root, 'interrupted');
    const controller = new AbortController();
    const first = await runTable({
      ...common,
      out,
      signal: controller.signal,
      onIteration: ({ row, iteration }) => {
        if (row === 'full-preact-110' && iteration === 3) controller.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    expect(first.trained).toEqual([runDir(out, 2, 'original-110', 1)]);
    const interrupted = runDir(out, 2, 'full-preact-110', 1);
    expect(existsSync(join(interrupted, RESULT_FILE))).toBe(false);
    expect(existsSync(join(interrupted, 'checkpoint.ckpt'))).toBe(true);
    expect(first.report.markdown).toMatch(
      /\| full-preact-110 \|.*\| running \|.*\| 0\/1 \| — \| 1 unfinished \|/,
    );

    const second = await runTable({ ...common, out });
    expect(second.status).toBe('completed');
    expect(second.skipped).toEqual([runDir(out, 2, 'original-110', 1)]);
    expect(second.resumed).toEqual([interrupted]);
    expect(second.trained).toEqual([interrupted]);

    const third = await runTable({ ...common, out });
    expect(third.trained).toEqual([]);
    expect(third.skipped).toHaveLength(2);

    const straight = join(root, 'straight');
    await runTable({ ...common, rows: ['full-preact-110'], out: straight });
    const resumed = result(out, 'full-preact-110');
    const reference = result(straight, 'full-preact-110');
    expect(resumed.iteration).toBe(4);
    expect(resumed.trainLoss).toBeCloseTo(reference.trainLoss!, 5);
    expect(resumed.testErrorPercent).toBeCloseTo(reference.testErrorPercent!, 5);
    expect(resumed.testLoss).toBeCloseTo(reference.testLoss!, 5);
  });

  it('refuses to mix a run folder with another configuration, finished or not', async () => {
    const finished = join(root, 'interrupted');
    await expect(runTable({ ...common, rows: ['original-110'], out: finished, seed: 7 })).rejects.toThrow(
      /holds a run of another configuration.*\(baseSeed: 1 in the folder, 7 now; model\.seed: 1 in the folder, 7 now; seed: 1 in the folder, 7 now\); it is not mixed with new runs: pass another --out/,
    );
    const unfinished = join(root, 'unfinished');
    const controller = new AbortController();
    await runTable({
      ...common,
      rows: ['original-110'],
      out: unfinished,
      signal: controller.signal,
      onIteration: () => controller.abort(),
    });
    await expect(runTable({ ...common, rows: ['original-110'], out: unfinished, seed: 7 })).rejects.toThrow(
      /holds a run of another configuration/,
    );
  });
});
