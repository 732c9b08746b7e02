// The experiment data against the paper and the packages: every row names a preset that exists, with the
// row's dataset; every scale's depth fits the row's unit; the schedule the scales describe is the one run.
import { getPreset, unitsPerStage } from '@resnet/models';
import { scaledPaperSchedule } from '@resnet/trainer';
import { describe, expect, it } from 'vitest';
import { getTable, rowsAtScale, selectRows, tables } from '../src/experiments.js';
import { runConfig } from '../src/runner.js';
import { scales } from '../src/scales.js';

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
        for (const scale of Object.values(scales)) {
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
          if (scale.name === 'paper') expect(depth).toBe(preset.config.depth);
          else expect(depth).toBeLessThan(preset.config.depth);
          expect(unitsPerStage(depth, preset.config.unit ?? 'basic')).toBeGreaterThan(0);
          expect(config.batchSize).toBe(
            scale.name === 'paper' && row.batchSize ? row.batchSize : scale.batchSize,
          );
        }
      });
    }
  }

  it('describes the scaled schedules it runs', () => {
    for (const scale of [scales.quick, scales.demo]) {
      const schedule = scaledPaperSchedule(scale.iterations);
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
