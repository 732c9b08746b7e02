// Reading metrics.jsonl back: records a resume rolled back are dropped, a torn last line is ignored.
import { expect, test } from 'vitest';
import { type LogRecord, type MetricsRecord, parseMetrics } from '../src/index.js';

const time = '2026-01-01T00:00:00.000Z';
const start = (iteration: number): MetricsRecord => ({
  type: 'start',
  iteration,
  iterations: 10,
  seed: 1,
  backend: 'cpu',
  config: null,
  time,
});
const log = (iteration: number, trainLoss: number): LogRecord => ({
  type: 'log',
  iteration,
  lr: 0.1,
  trainLoss,
  trainError: 0.5,
  trainIterations: 2,
  imagesPerSecond: 100,
  liveTensors: 10,
  tensorGrowth: 0,
  wallSeconds: iteration,
  time,
});
const checkpoint = (iteration: number): MetricsRecord => ({
  type: 'checkpoint',
  iteration,
  path: 'run/checkpoint.ckpt',
  reason: 'periodic',
  time,
});

// A run checkpointed at 4, logged 6, was SIGKILLed, resumed from 4 and logged 6 and 8 again.
const records = [
  start(0),
  log(2, 2.0),
  log(4, 1.5),
  checkpoint(4),
  log(6, 1.4),
  start(4),
  log(6, 1.3),
  log(8, 1.2),
];
const text = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;

test('the records of a rolled-back segment are dropped', () => {
  const logs = parseMetrics(text).filter((r): r is LogRecord => r.type === 'log');
  expect(logs.map((r) => [r.iteration, r.trainLoss])).toEqual([
    [2, 2.0],
    [4, 1.5],
    [6, 1.3],
    [8, 1.2],
  ]);
  expect(parseMetrics(text, { keepRolledBack: true })).toHaveLength(records.length);
});

test('a last line cut short by a crash is ignored; a damaged line elsewhere is an error', () => {
  const torn = `${text}{"type":"log","iterat`;
  expect(parseMetrics(torn)).toHaveLength(parseMetrics(text).length);
  const damaged = text.replace('"type":"checkpoint"', '"type":checkpoint"');
  expect(() => parseMetrics(damaged)).toThrow(/metrics line 4 is not JSON/);
});

test('a line cut short by a crash is dropped before the next record is appended', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { MetricsLog } = await import('../src/metrics-file.js');
  const dir = mkdtempSync(join(tmpdir(), 'trainer-metrics-'));
  try {
    const path = join(dir, 'metrics.jsonl');
    const whole = `${JSON.stringify(start(0))}\n${JSON.stringify(log(2, 2.5))}\n`;
    // A SIGKILL in the middle of a write: half a record, no newline.
    writeFileSync(path, `${whole}${JSON.stringify(log(4, 2.4)).slice(0, 37)}`);
    const metrics = new MetricsLog(path);
    metrics.write(start(2));
    metrics.close();
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(`${whole}${JSON.stringify(start(2))}\n`);
    expect(
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['start', 'log', 'start']);
    // A whole file is left as it is; a file holding only a cut line is emptied.
    new MetricsLog(path).close();
    expect(readFileSync(path, 'utf8')).toBe(text);
    writeFileSync(path, '{"type":"sta');
    new MetricsLog(path).close();
    expect(readFileSync(path, 'utf8')).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that fails names the file (ENOSPC has no path of its own)', async () => {
  const { MetricsLog } = await import('../src/metrics-file.js');
  // /dev/full answers every write with ENOSPC, as a full disk does.
  const metrics = new MetricsLog('/dev/full');
  expect(() => metrics.write(start(0))).toThrow(
    'cannot write /dev/full: no space left on the device (ENOSPC). Make room or fix the folder, then resume the run',
  );
  metrics.close();
});
