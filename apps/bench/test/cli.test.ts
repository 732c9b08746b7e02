// The CLI as a user runs it, in a child process: unknown commands and bad flags fail with a clear message,
// the usage and a non-zero exit; `list` prints every row of the experiment data.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCifar } from '@resnet/data-cifar';
import { describe, expect, it } from 'vitest';
import { callerDir, normalizeArgs, resolveFolderArgs } from '../src/cli-args.js';
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

  it('resolves relative folders against the folder pnpm was called from, and says how to point at a local copy', () => {
    // What a user types from their own folder: pnpm runs the script in apps/bench, and names the caller's
    // folder in INIT_CWD.
    const caller = mkdtempSync(join(tmpdir(), 'bench-nodata-'));
    try {
      mkdirSync(join(caller, 'empty'));
      const env = {
        ...process.env,
        npm_lifecycle_event: undefined,
        npm_package_name: undefined,
        INIT_CWD: undefined,
      };
      const r = spawnSync(
        'pnpm',
        ['--dir', bench, 'start', '--', 'demo', '--data-dir', 'empty', '--out', 'runs'],
        {
          cwd: caller,
          encoding: 'utf8',
          timeout: 170_000,
          env,
        },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `--data-dir ${join(caller, 'empty')} holds neither the CIFAR-10 binary files`,
      );
      expect(r.stderr).toContain('--data-dir DIR or RESNET_CIFAR10_DIR=DIR');
      expect(r.stderr).not.toMatch(/dataDir/);
      expect(existsSync(join(caller, 'runs'))).toBe(false);
      const report = spawnSync('pnpm', ['--dir', bench, 'start', '--', 'report', '--out', 'elsewhere'], {
        cwd: caller,
        encoding: 'utf8',
        timeout: 170_000,
        env,
      });
      expect(report.status).toBe(1);
      expect(report.stderr).toContain(`no results under ${join(caller, 'elsewhere')}`);
    } finally {
      rmSync(caller, { recursive: true, force: true });
    }
  });

  it('words data errors with its own flags, and never tells the user to delete their --data-dir', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-cli-data-'));
    try {
      const { dir } = await writeSyntheticCifar({
        dataset: 'cifar10',
        dir: root,
        trainCount: 20,
        testCount: 10,
      });
      const args = [
        'run',
        '--table',
        '2',
        '--rows',
        'original-110',
        '--scale',
        'smoke',
        '--dataset',
        'cifar10',
      ];
      const unofficial = cli(...args, '--backend', 'cpu', '--data-dir', dir, '--out', join(root, 'runs'));
      expect(unofficial.status).toBe(1);
      expect(unofficial.stderr).toContain(`${join(dir, 'test_batch.bin')} (10 records)`);
      expect(unofficial.stderr).toContain('Pass --allow-unofficial-data to train on these files anyway');
      expect(unofficial.stderr).not.toMatch(/allowUnofficial|dataDir|verify: false|[Dd]elete/);
      truncateSync(join(dir, 'test_batch.bin'), 3073 + 5);
      const cut = cli(...args, '--backend', 'cpu', '--data-dir', dir, '--out', join(root, 'runs'));
      expect(cut.status).toBe(1);
      expect(cut.stderr).toContain(
        'test_batch.bin has 3078 bytes, not a whole number of 3073-byte CIFAR-10 records',
      );
      expect(cut.stderr).toContain('Replace the file with the one from the official cifar-10-binary.tar.gz');
      expect(cut.stderr).not.toMatch(/[Dd]elete/);
      // A command without the flag (the error reaches the CLI's own handler): still the CLI's words.
      await writeSyntheticCifar({
        dataset: 'cifar10',
        dir: join(root, 'again'),
        trainCount: 20,
        testCount: 10,
      });
      const analyze = cli(
        'analyze',
        'gradients',
        '--backend',
        'cpu',
        '--data-dir',
        join(root, 'again', 'cifar-10-batches-bin'),
        '--out',
        join(root, 'analysis'),
      );
      expect(analyze.status).toBe(1);
      expect(analyze.stderr).toContain('is not the official CIFAR-10 file');
      expect(analyze.stderr).toContain('This command reads only the official files');
      expect(analyze.stderr).not.toMatch(/allowUnofficial|dataDir|[Dd]elete/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says that a read-only --out cannot be written, and why', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-readonly-'));
    try {
      const ro = join(root, 'ro');
      cpSync(join(bench, 'test', 'fixtures', 'report-runs'), ro, { recursive: true });
      chmodSync(root, 0o755);
      for (const dir of [ro, join(ro, 'table1')]) chmodSync(dir, 0o555);
      // Root ignores permission bits: then the CLI runs as an unprivileged user, as a user would meet it.
      const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const run = (...args: string[]) =>
        spawnSync(
          process.execPath,
          ['--import', 'tsx', '--conditions=@resnet/source', 'src/cli.ts', ...args],
          {
            cwd: bench,
            encoding: 'utf8',
            timeout: 170_000,
            ...asUser,
          },
        );
      const report = run('report', '--out', ro);
      expect(report.status).toBe(1);
      expect(report.stderr).toContain(
        `the output folder ${ro} (--out) cannot be written: permission denied (EACCES). Pass --out a folder you can write to.`,
      );
      const training = run(
        'run',
        '--table',
        '2',
        '--scale',
        'smoke',
        '--backend',
        'cpu',
        '--out',
        join(ro, 'new'),
      );
      expect(training.status).toBe(1);
      expect(training.stderr).toContain(
        `the output folder ${join(ro, 'new')} (--out) cannot be written: permission denied`,
      );
      expect(training.stderr).not.toContain('ENOENT');
    } finally {
      chmodSync(join(root, 'ro'), 0o755);
      chmodSync(join(root, 'ro', 'table1'), 0o755);
      rmSync(root, { recursive: true, force: true });
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
    expect(normalizeArgs(['--', '--data-dir', 'x'], '/c')).toEqual(['demo', '--data-dir', '/c/x']);
    expect(normalizeArgs(['--', 'list'])).toEqual(['list']);
    expect(normalizeArgs(['--help'])).toEqual(['--help']);
  });

  it('makes --out and --data-dir absolute against the caller’s folder, and takes INIT_CWD only from pnpm start', () => {
    expect(
      resolveFolderArgs(['run', '--out', 'r', '--data-dir=../d', '--rows', 'x', '--out', '/abs'], '/home/u'),
    ).toEqual(['run', '--out', '/home/u/r', '--data-dir=/home/d', '--rows', 'x', '--out', '/abs']);
    expect(normalizeArgs(['--', '--out', 'o'], '/c')).toEqual(['demo', '--out', '/c/o']);
    const pnpmStart = { npm_lifecycle_event: 'start', npm_package_name: 'bench', INIT_CWD: '/caller' };
    expect(callerDir(pnpmStart, '/repo/apps/bench')).toBe('/caller');
    // A test's child process inherits INIT_CWD from `pnpm test`: not the caller of this command.
    expect(callerDir({ ...pnpmStart, npm_lifecycle_event: 'test' }, '/here')).toBe('/here');
  });

  it('hands all of its output to a slow reader of a pipe before it exits', () => {
    // `plan --json` of Table 3 at paper scale with 40 runs a row: about 160 KB, more than a pipe holds (64 KiB),
    // into a shell pipe whose reader starts only after the bench has written everything.
    const command =
      `'${process.execPath}' --import tsx --conditions=@resnet/source src/cli.ts plan --table 3 --scale paper ` +
      '--runs 40 --json | (sleep 4; cat)';
    const r = spawnSync('sh', ['-c', command], {
      cwd: bench,
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 1 << 24,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(65_536);
    expect(JSON.parse(r.stdout) as unknown[]).toHaveLength(13 * 40);
  }, 150_000);
});
