// Every row of Tables 1, 2 and 3 at the smoke scale, end to end: preset → network at the smallest depth →
// generated CIFAR-format data → trainer → run files → report. Generated from the experiment data, so a new
// row is tested by being listed. Backend: $RESNET_BENCH_BACKEND (default wasm, the embedded one).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsAtScale, tables } from '../src/experiments.js';
import { RESULT_FILE, type RunResult, runDir } from '../src/run-files.js';
import { runTable } from '../src/runner.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let tensorsAfterFirstRow: number | undefined;

for (const table of tables) {
  describe(`table ${table.table} at smoke scale`, () => {
    it.each(rowsAtScale(table, 'smoke').map((row) => [row.id, row] as const))('%s', async (id, row) => {
      const outcome = await runTable({
        table: table.table,
        rows: [id],
        scale: 'smoke',
        backend,
        out,
        progress: 'none',
        isolation: 'inline',
        log: () => {},
      });
      expect(outcome.status).toBe('completed');
      const dir = runDir(out, table.table, id, 1);
      expect(outcome.trained).toEqual([dir]);
      const result = JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')) as RunResult;
      expect(result.status).toBe('completed');
      expect(result.iteration).toBe(4);
      expect(result.testErrorPercent).toBeGreaterThanOrEqual(0);
      expect(result.testErrorPercent).toBeLessThanOrEqual(100);
      expect(Number.isFinite(result.trainLoss)).toBe(true);
      // Gating rows record b_g's start and its mean at the end (weight decay pulls it toward 0).
      const biasInit = (row.preset.includes('gate') ? /bg(-?\d+)/.exec(id)?.[1] : undefined) ?? null;
      if (biasInit === null) expect(result.gateBias ?? null).toBeNull();
      else {
        expect(result.gateBias).toMatchObject({ initial: Number(biasInit) });
        expect(result.gateBias!.gates).toBeGreaterThan(0);
        expect(Math.abs(result.gateBias!.finalMean - Number(biasInit))).toBeLessThan(0.5);
      }
      for (const file of ['config.json', 'metrics.jsonl', 'final.ckpt'])
        expect(existsSync(join(dir, file))).toBe(true);
      expect(outcome.report.markdown).toContain(`| ${row.label} | ${id} |`);
      // The model, the optimiser state and the batches of a run are all freed when it ends.
      const tensors = tf.memory().numTensors;
      tensorsAfterFirstRow ??= tensors;
      expect(tensors).toBe(tensorsAfterFirstRow);
    });
  });
}
