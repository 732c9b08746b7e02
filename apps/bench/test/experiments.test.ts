// The experiment data against the paper and the packages: every row names a preset that exists, with the
// row's dataset; every scale's depth fits the row's unit; the schedule the scales describe is the one run.
import { getPreset, unitsPerStage } from '@resnet/models';
import { scaledPaperSchedule, stepSchedule } from '@resnet/trainer';
import { describe, expect, it } from 'vitest';
import { getTable, rowsAtScale, selectRows, tables } from '../src/experiments.js';
import { runConfig } from '../src/jobs/plan.js';
import { getScale, scales } from '../src/scales.js';

describe('experiments', () => {
  it('has every row of Tables 1-3 and Table 4’s mini-batch-64 row at paper scale only', () => {
    expect(tables.map((t) => t.rows.length)).toEqual([11, 10, 13]);
    expect(rowsAtScale(getTable(3), 'quick').map((r) => r.id)).not.toContain('c10-1001-preact-mb64');
    expect(rowsAtScale(getTable(3), 'paper').map((r) => r.id)).toContain('c10-1001-preact-mb64');
    expect(() => selectRows(getTable(3), 'quick', ['c10-1001-preact-mb64'])).toThrow(
      /exists only at scale paper/,
    );
    expect(() => getTable(4)).toThrow(/tables 1, 2, 3/);
  });

  for (const table of tables) {
    for (const row of table.rows) {
      it(`table ${table.table} ${row.id}: preset ${row.preset} exists, on ${row.dataset}, with depths that fit`, () => {
        const preset = getPreset(row.preset);
        expect(preset.dataset).toBe(row.dataset);
        for (const { name } of Object.values(scales)) {
          const scale = getScale(name, table.table);
          if (!rowsAtScale(table, scale.name).includes(row)) continue;
          const config = runConfig({
            table: table.table,
            row,
            scale,
            run: 2,
            runs: 3,
            baseSeed: 10,
            data: 'real',
          });
          expect(config.seed).toBe(11);
          const depth = config.model['depth'] as number;
          // Table 1 keeps ResNet-110 at `quick`: its variants' effect grows with the number of units.
          if (scale.name === 'paper' || (table.table === 1 && scale.name === 'quick'))
            expect(depth).toBe(preset.config.depth);
          else expect(depth).toBeLessThan(preset.config.depth);
          // Every stage keeps a unit beyond its first (projection) unit, so a variant acts in every stage.
          expect(unitsPerStage(depth, preset.config.unit ?? 'basic')).toBeGreaterThanOrEqual(2);
          expect(config.model['batchNormGroups']).toBe(scale.name === 'paper' ? 2 : 1);
          expect(table.rows.some((r) => r.id === row.reference)).toBe(true);
          expect(config.batchSize).toBe(
            scale.name === 'paper' && row.batchSize ? row.batchSize : scale.batchSize,
          );
        }
      });
    }
  }

  it("runs Table 4's mini-batch-64 row with the authors' re-run protocol, recorded in its config", () => {
    const row = getTable(3).rows.find((r) => r.id === 'c10-1001-preact-mb64')!;
    const config = runConfig({
      table: 3,
      row,
      scale: scales.paper,
      run: 1,
      runs: 5,
      baseSeed: 1,
      data: 'real',
    });
    // 50,000 images in full batches of 64: 781 iterations an epoch; Torch's epochs 81 and 122 start after
    // 80 and 121 epochs.
    expect(config.batchSize).toBe(64);
    expect(config.epochs).toEqual({ epochs: 200, itersPerEpoch: 781 });
    expect(config.iterations).toBe(200 * 781);
    expect(config.lrSchedule).toEqual({ baseLr: 0.1, milestones: [80 * 781, 121 * 781], warmup: null });
    expect(config.optimizer).toEqual({ momentum: 0.9, nesterov: true, weightDecay: 1e-4, noDecay: [] });
    expect(config.schedule).toMatch(/200 epochs .*÷10 at epochs 81 and 122 .*Nesterov/);
    // Every other row keeps the paper's 64k iterations and plain momentum.
    const other = runConfig({
      table: 3,
      row: getTable(3).rows.find((r) => r.id === 'c10-1001-preact')!,
      scale: scales.paper,
      run: 1,
      runs: 5,
      baseSeed: 1,
      data: 'real',
    });
    expect(other.iterations).toBe(64_000);
    expect(other.lrSchedule).toEqual({
      baseLr: 0.1,
      milestones: [32_000, 48_000],
      warmup: { iterations: 400, lr: 0.01 },
    });
    expect(other.optimizer.nesterov).toBe(false);
    expect(other.loss).toBe('log-softmax');
  });

  it('records --iterations and --decay-exclude in the config, and the scaled schedule it then runs', () => {
    const row = getTable(1).rows.find((r) => r.id === 'exclusive-gate-bg-6')!;
    const config = runConfig({
      table: 1,
      row,
      scale: scales.smoke,
      run: 1,
      runs: 1,
      baseSeed: 1,
      data: 'synthetic',
      iterations: 320,
      noDecay: ['_shortcut_gate/bias$'],
    });
    expect(config.iterations).toBe(320);
    expect(config.lrSchedule).toEqual({
      baseLr: 0.1,
      milestones: [160, 240],
      warmup: { iterations: 2, lr: 0.01 },
    });
    const reference = scaledPaperSchedule(320);
    expect([1, 2, 159, 160, 239, 240].map(reference)).toEqual([0.01, 0.1, 0.1, 0.01, 0.01, 0.001]);
    expect(config.optimizer.noDecay).toEqual(['_shortcut_gate/bias$']);
    expect(config.shrinks.at(-1)).toMatch(/iterations: 320 \(--iterations\)/);
    expect(config.comparable).toBe(false);
  });

  it('keeps the depth ordering of Tables 2 and 3 at quick scale, and the unit of every row', () => {
    for (const number of [2, 3]) {
      const table = getTable(number);
      const scale = getScale('quick', number);
      const rows = rowsAtScale(table, 'quick').map((row) => {
        const preset = getPreset(row.preset);
        const config = runConfig({ table: number, row, scale, run: 1, runs: 1, baseSeed: 1, data: 'real' });
        expect(config.model['unit']).toBe(preset.config.unit);
        return { paper: preset.config.depth, ours: config.model['depth'] as number };
      });
      for (const a of rows) {
        for (const b of rows) if (a.paper > b.paper) expect(a.ours).toBeGreaterThanOrEqual(b.ours);
      }
    }
    // ResNet-1001 stays deeper than ResNet-164.
    expect(getScale('quick', 3).depth('bottleneck', 1001)).toBeGreaterThan(
      getScale('quick', 3).depth('bottleneck', 164),
    );
  });

  it('describes the scaled schedules it runs', () => {
    for (const [table, scale] of [
      [2, scales.quick],
      [1, getScale('quick', 1)],
      [2, scales.demo],
    ] as const) {
      // The schedule a run of this scale trains with (its config's), against what the scale says of it.
      const { lrSchedule } = runConfig({
        table,
        row: getTable(table).rows[0]!,
        scale,
        run: 1,
        runs: 1,
        baseSeed: 1,
        data: 'real',
      });
      const schedule = stepSchedule({
        baseLr: lrSchedule.baseLr,
        milestones: lrSchedule.milestones,
        warmup: lrSchedule.warmup ?? false,
      });
      const text = scale.shrinks.find((s) => s.startsWith('schedule'))!;
      const [first, second] = [...text.matchAll(/÷10 at ([\d,]+) and ([\d,]+)/g)][0]!
        .slice(1)
        .map((n) => Number(n.replace(',', '')));
      const warmup = Number(/for (\d+) iteration/.exec(text)![1]);
      expect(schedule(warmup - 1)).toBe(0.01);
      expect(schedule(warmup)).toBe(0.1);
      expect(schedule(first! - 1)).toBe(0.1);
      expect(schedule(first!)).toBe(0.01);
      expect(schedule(second!)).toBe(0.001);
      expect(scale.shrinks.join(' ')).toContain(`64,000 → ${scale.iterations.toLocaleString('en-US')}`);
    }
  });
});
