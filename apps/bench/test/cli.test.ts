// The CLI as a user runs it, in a child process: unknown commands and bad flags fail with a clear message,
// the usage and a non-zero exit; `list` prints every row of the experiment data.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeArgs } from '../src/cli-args.js';
import { tables } from '../src/experiments.js';

const bench = join(import.meta.dirname, '..');

function cli(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@resnet/source', 'src/cli.ts', ...args],
    { cwd: bench, encoding: 'utf8', timeout: 170_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bench CLI', () => {
  it('rejects an unknown command with the usage and a non-zero exit', () => {
    const r = cli('frobnicate');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain('Usage: bench');
  });

  it('rejects an unknown flag and a bad value with the usage', () => {
    const flag = cli('list', '--bogus');
    expect(flag.status).not.toBe(0);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    expect(flag.stderr).toContain('Usage: bench list');
    const table = cli('run', '--table', '4');
    expect(table.status).not.toBe(0);
    expect(table.stderr).toContain('the bench has tables 1, 2 and 3');
    expect(table.stderr).toContain('Usage: bench run');
    const scale = cli('run', '--table', '1', '--scale', 'huge');
    expect(scale.status).not.toBe(0);
    expect(scale.stderr).toMatch(/Allowed choices are paper, quick, smoke/);
    const missing = cli('run');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("required option '--table <n>' not specified");
  });

  it('rejects an unknown row with the table’s row ids', () => {
    const r = cli(
      'run',
      '--table',
      '2',
      '--rows',
      'nope',
      '--scale',
      'smoke',
      '--backend',
      'cpu',
      '--out',
      join(bench, 'runs', 'cli-test'),
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("row 'nope' is not a row of this table");
    expect(r.stderr).toContain('original-110');
  });

  it('says how to point at a local copy when the data is not there', () => {
    const empty = mkdtempSync(join(tmpdir(), 'bench-nodata-'));
    try {
      const r = cli('demo', '--data-dir', empty, '--out', join(empty, 'runs'));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`dataDir ${empty} holds neither the CIFAR-10 binary files`);
      expect(r.stderr).toContain('--data-dir DIR or RESNET_CIFAR10_DIR=DIR');
      expect(existsSync(join(empty, 'runs'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('lists every row of every table, with its preset (after the `--` pnpm forwards)', () => {
    const r = cli('--', 'list');
    expect(r.status).toBe(0);
    for (const table of tables) for (const row of table.rows) expect(r.stdout).toContain(row.preset);
    // Each row names the reference row it is judged against at reduced scales.
    expect(r.stdout).toMatch(/scale-0\.5-1 +t1-scale-0\.5-1 +cifar10 +paper fail +vs original /);
    expect(r.stdout).toMatch(/original +t1-original +cifar10 +paper 6\.61 +reference /);
  });

  it('prints every preset’s parameter count as JSON, agreeing with the paper', () => {
    const r = cli('params', '--json');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{
      name: string;
      depth: number;
      params: number;
      paramsWithoutBN: number;
    }>;
    const byName = new Map(rows.map((row) => [row.name, row]));
    for (const table of tables) for (const row of table.rows) expect(byName.has(row.preset)).toBe(true);
    // The paper's rounding (1.7M, 10.2M, 19.4M); ResNet-1001's 10.2M leaves the BN parameters out.
    const millions = (n: number) => Math.round(n / 1e5) / 10;
    expect(millions(byName.get('resnet110')!.params)).toBe(1.7);
    expect(millions(byName.get('preact-resnet164')!.params)).toBe(1.7);
    expect(millions(byName.get('preact-resnet1001')!.paramsWithoutBN)).toBe(10.2);
    expect(millions(byName.get('resnet1202')!.params)).toBe(19.4);
    for (const row of rows) expect(row.paramsWithoutBN).toBeLessThan(row.params);
  }, 180_000);

  it('shows the backends it sees and the one auto picks', () => {
    const r = cli('backends');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/wasm\s+@tensorflow\/tfjs-backend-wasm\s+usable/);
    expect(r.stdout).toMatch(/auto picks: \w+ \(@tensorflow\/tfjs-/);
  });

  it('runs the demo when no command (or only options) is given', () => {
    expect(normalizeArgs([])).toEqual(['demo']);
    expect(normalizeArgs(['--'])).toEqual(['demo']);
    expect(normalizeArgs(['--', '--data-dir', 'x'])).toEqual(['demo', '--data-dir', 'x']);
    expect(normalizeArgs(['--', 'list'])).toEqual(['list']);
    expect(normalizeArgs(['--help'])).toEqual(['--help']);
  });
});
