// A run folder written before a change to what a row computes (here: a config without the BN groups and the
// padding form, as every folder made before they were recorded) is refused, naming the fields that differ;
// the comparison is generic over the fields, nested ones included.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configDifferences, describeDifferences } from '../src/config-diff.js';
import { getTable } from '../src/experiments.js';
import { runConfig } from '../src/jobs/plan.js';
import { CONFIG_FILE, RESULT_FILE, runDir } from '../src/run-files.js';
import { runTable } from '../src/runner.js';
import { getScale } from '../src/scales.js';

const root = mkdtempSync(join(tmpdir(), 'bench-config-diff-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('config differences', () => {
  it('lists every differing leaf by its dotted path, absent fields included', () => {
    const before = { scale: 'quick', model: { depth: 20, seed: 1 }, shrinks: ['a'] };
    const now = { scale: 'quick', model: { depth: 20, seed: 2, batchNormGroups: 1 }, shrinks: ['a', 'b'] };
    const differences = configDifferences(before, now);
    expect(differences.map((d) => d.path)).toEqual(['model.batchNormGroups', 'model.seed', 'shrinks']);
    expect(describeDifferences(differences)).toBe(
      'model.batchNormGroups: absent in the folder, 1 now; model.seed: 1 in the folder, 2 now; ' +
        'shrinks: ["a"] in the folder, ["a","b"] now',
    );
    expect(configDifferences(now, structuredClone(now))).toEqual([]);
  });

  it('refuses a finished run folder written before BN groups and padding were recorded, naming them', async () => {
    const table = getTable(1);
    const row = table.rows.find((r) => r.id === 'original')!;
    const config = runConfig({
      table: 1,
      row,
      scale: getScale('smoke', 1),
      run: 1,
      runs: 1,
      baseSeed: 1,
      data: 'synthetic',
    });
    const { batchNormGroups: _g, stridedConvPadding: _p, ...oldModel } = config.model;
    const dir = runDir(root, 1, 'original', 1);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify({ ...config, model: oldModel }));
    writeFileSync(join(dir, RESULT_FILE), '{"status":"completed"}');
    await expect(
      runTable({
        table: 1,
        rows: ['original'],
        scale: 'smoke',
        backend: 'cpu',
        out: root,
        isolation: 'inline',
        log: () => {},
      }),
    ).rejects.toThrow(
      /holds a run of another configuration.*\(model\.batchNormGroups: absent in the folder, 1 now; model\.stridedConvPadding: absent in the folder, "symmetric" now\); it is not mixed with new runs/,
    );
    // Nothing was overwritten.
    expect(JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')).model).toEqual(oldModel);
  });
});
