// The report built from run folders on disk must be exactly the committed snapshots: test/fixtures/report-runs
// (made by hand to hold every case: two finished runs, a diverged run, a row with one finished and one
// interrupted run) and test/fixtures/demo-runs (the demo's two rows recorded on real CIFAR-10 at the `demo`
// scale, ResNet-56, checkpoints left out).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getTable } from '../src/experiments.js';
import { ordering, summarizeRow, writeTableReport } from '../src/report.js';
import { readMetrics } from '../src/run-files.js';

const fixture = join(import.meta.dirname, 'fixtures', 'report-runs');
const out = mkdtempSync(join(tmpdir(), 'bench-report-'));
cpSync(fixture, out, { recursive: true });
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('report', () => {
  it('is exactly the snapshot for the recorded runs', async () => {
    const report = await writeTableReport(out, 1);
    expect(readFileSync(report.reportPath, 'utf8')).toBe(report.markdown);
    await expect(report.markdown).toMatchFileSnapshot('./__snapshots__/report-table1.md');
  });

  it('is exactly the snapshot for the recorded demo (Table 2, original vs full pre-activation, real CIFAR-10)', async () => {
    // The demo must never call 'fail' a row the paper reports as working: both rows here are.
    const demo = mkdtempSync(join(tmpdir(), 'bench-report-demo-'));
    try {
      cpSync(join(import.meta.dirname, 'fixtures', 'demo-runs'), demo, { recursive: true });
      const report = await writeTableReport(demo, 2);
      await expect(report.markdown).toMatchFileSnapshot('./__snapshots__/report-demo-table2.md');
      const svg = readFileSync(report.plots.testError, 'utf8');
      expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(2);
      expect(report.rows.every((r) => !r.fail)).toBe(true);
      expect(report.markdown).toContain(
        "agree with the paper's ordering: full-preact-110; these do not: none",
      );
    } finally {
      rmSync(demo, { recursive: true, force: true });
    }
  });

  it('summarises a row: median, mean ± std, fail over 20% or when diverged', () => {
    const table = getTable(1);
    const row = (id: string) => table.rows.find((r) => r.id === id)!;
    const original = summarizeRow(row('original'), [
      { run: 1, dir: '', metrics: [], result: fakeResult(45) },
      { run: 2, dir: '', metrics: [], result: fakeResult(43) },
    ]);
    expect(original.median).toBeCloseTo(44, 10);
    expect(original.mean).toBeCloseTo(44, 10);
    expect(original.std).toBeCloseTo(Math.SQRT2, 10);
    expect(original.fail).toBe(true);
    const good = summarizeRow(row('original'), [{ run: 1, dir: '', metrics: [], result: fakeResult(7.5) }]);
    expect(good.fail).toBe(false);
    const diverged = summarizeRow(row('original'), [
      { run: 1, dir: '', metrics: [], result: fakeResult(7.5) },
      {
        run: 2,
        dir: '',
        metrics: [],
        result: { ...fakeResult(0), status: 'diverged', testErrorPercent: null },
      },
      {
        run: 3,
        dir: '',
        metrics: [],
        result: { ...fakeResult(0), status: 'diverged', testErrorPercent: null },
      },
    ]);
    expect(diverged.median).toBe(Number.POSITIVE_INFINITY);
    expect(diverged.fail).toBe(true);
    expect(diverged.diverged).toBe(2);
  });

  it("at a reduced scale judges 'fail' against the reference row, never the paper's 20%", () => {
    const table = getTable(1);
    const row = (id: string) => table.rows.find((r) => r.id === id)!;
    const rule = { kind: 'reference', multiple: 1.5 } as const;
    const runs = (error: number) => [{ run: 1, dir: '', metrics: [], result: fakeResult(error) }];
    const reference = summarizeRow(row('original'), runs(44), rule);
    // The reference row itself fails only by diverging, however high its error.
    expect(reference.fail).toBe(false);
    const judge = (id: string, error: number) => summarizeRow(row(id), runs(error), rule, reference);
    expect(judge('scale-0.5-1', 66).fail).toBe(false); // 1.5 × 44 = 66 is not above
    expect(judge('scale-0.5-1', 66.1).fail).toBe(true);
    expect(judge('conv1x1', 30).fail).toBe(false); // above 20%, but not against the reference
    expect(judge('conv1x1', 30).referenceMedian).toBe(44);
    // The paper's ordering against the reference: 'fail' and 12.22% are both worse than 6.61%.
    expect(ordering(judge('scale-0.5-1', 80), reference)).toEqual({
      paper: 'worse',
      ours: 'worse',
      agrees: true,
    });
    expect(ordering(judge('conv1x1', 30), reference)).toEqual({
      paper: 'worse',
      ours: 'better',
      agrees: false,
    });
    expect(ordering(reference, reference)).toBeUndefined();
    // Without a finished reference run, only divergence fails.
    expect(summarizeRow(row('conv1x1'), runs(95), rule).fail).toBe(false);
  });

  it('draws one line per row with runs in both plots', async () => {
    const report = await writeTableReport(out, 1);
    for (const path of [report.plots.testError, report.plots.trainLoss]) {
      const svg = readFileSync(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const id of ['original', 'scale-0.5-1', 'conv1x1']) expect(svg).toContain(`>${id}<`);
      expect(svg).not.toContain('exclusive-gate-bg-6');
      // Vega draws each series of a line mark as its own mark-line group.
      expect(svg.match(/class="mark-line role-mark/g)?.length).toBe(3);
    }
  });

  it('drops the points an interrupted segment logged past the checkpoint a resumed run restarted from', () => {
    const path = join(out, 'resumed.jsonl');
    const lines = [
      { type: 'start', iteration: 0 },
      { type: 'log', iteration: 10, trainLoss: 2 },
      { type: 'log', iteration: 20, trainLoss: 1.9, testError: 0.8 },
      { type: 'log', iteration: 30, trainLoss: 5 },
      { type: 'start', iteration: 20 },
      { type: 'log', iteration: 30, trainLoss: 1.8 },
    ];
    writeFileSync(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"type":"lo`);
    expect(readMetrics(path)).toEqual([
      { iteration: 10, trainLoss: 2 },
      { iteration: 20, trainLoss: 1.9, testErrorPercent: 80 },
      { iteration: 30, trainLoss: 1.8 },
    ]);
  });
});

function fakeResult(testErrorPercent: number) {
  return {
    status: 'completed' as const,
    iteration: 10,
    divergedAt: null,
    testErrorPercent,
    testLoss: 1,
    trainLoss: 1,
    trainErrorPercent: 1,
    wallSeconds: 1,
    environment: { backend: 'cpu', gpu: false, device: 'x', commit: 'c', node: '20', tfjs: '4.22.0' },
  };
}
