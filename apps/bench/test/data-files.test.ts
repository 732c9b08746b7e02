// What the bench trains on and where it writes: data files that are not the official ones are refused
// unless --allow-unofficial-data, and then recorded (SHA-256, records, split sizes) in config.json and named
// in the report's header; a run folder is never resumed on other data; a generated dataset left incomplete
// is made again; no write goes through a link planted in a run folder; `report` copes with a result.json
// without `environment` and removes the temporary file of a killed write.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticCifar } from '@resnet/data-cifar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMOKE_DATA } from '../src/data.js';
import { writeTableReport } from '../src/report.js';
import { CONFIG_FILE, type RunConfig, runDir } from '../src/run-files.js';
import { runTable } from '../src/runner.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';
const root = mkdtempSync(join(tmpdir(), 'bench-data-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RECORD = 3073;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
let generated: string;

beforeAll(async () => {
  // A CIFAR-10 folder in the official layout with a full-size test set, copied for each case.
  generated = (
    await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root, 'generated'),
      trainCount: 64,
      testCount: 10_000,
      seed: 3,
    })
  ).dir;
}, 120_000);

function copyOfData(name: string): string {
  const dir = join(root, name, 'cifar-10-batches-bin');
  cpSync(generated, dir, { recursive: true });
  return dir;
}

const common = {
  table: 2,
  rows: ['original-110'],
  scale: 'smoke' as const,
  dataset: 'cifar10' as const,
  backend,
  progress: 'none' as const,
  isolation: 'inline' as const,
  log: () => {},
};
const configOf = (out: string) =>
  JSON.parse(readFileSync(join(runDir(out, 2, 'original-110', 1), CONFIG_FILE), 'utf8')) as RunConfig;

describe('data files', () => {
  it('refuses a test file cut to 5,000 records, and with --allow-unofficial-data records it', async () => {
    const data = copyOfData('cut');
    const test = join(data, 'test_batch.bin');
    truncateSync(test, 5000 * RECORD);
    const out = join(root, 'cut-out');
    const refused = runTable({ ...common, out, dataDir: data });
    await expect(refused).rejects.toThrow(
      /test_batch\.bin \(5,000 records\) is not the official CIFAR-10 file: its MD5 is [0-9a-f]{32}, the official file's is 803d5f7f4d78ea53de84dbe85f74fb6d\.\nPass --allow-unofficial-data to train on these files anyway/,
    );
    const message = (await refused.catch((e: Error) => e.message)) as string;
    // The bench's own flag, never the library's option names; never "delete" of the user's folder.
    expect(message).not.toMatch(/allowUnofficial|dataDir|[Dd]elete/);
    expect(existsSync(runDir(out, 2, 'original-110', 1))).toBe(false);

    const outcome = await runTable({ ...common, out, dataDir: data, allowUnofficialData: true });
    expect(outcome.status).toBe('completed');
    const identity = configOf(out).dataIdentity!;
    expect(identity.official).toBe(false);
    expect(identity.splits).toEqual({ train: 64, validation: 0, test: 5000, testEvaluated: 16 });
    expect(identity.files.find((f) => f.name === 'test_batch.bin')).toEqual({
      split: 'test',
      name: 'test_batch.bin',
      records: 5000,
      sha256: sha256(test),
      origin: 'differs',
    });
    expect(identity.files).toHaveLength(6);
    expect(outcome.report.markdown).toContain(
      '- data files: **unofficial training and test sets** (cifar10;',
    );
    expect(outcome.report.markdown).toContain(
      `test_batch.bin: differs, 5,000 records, SHA-256 ${sha256(test)}); 64 training, 5,000 test images (first 16 evaluated)`,
    );
  }, 240_000);

  it('refuses an edited test file, and refuses to resume a run folder on other data, naming both', async () => {
    const data = copyOfData('edit');
    const test = join(data, 'test_batch.bin');
    const out = join(root, 'edit-out');
    const controller = new AbortController();
    const first = await runTable({
      ...common,
      out,
      dataDir: data,
      allowUnofficialData: true,
      signal: controller.signal,
      onIteration: ({ iteration }) => {
        if (iteration === 2) controller.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    const before = sha256(test);
    const original = readFileSync(test);
    const edited = Buffer.from(original);
    edited.writeUInt8(edited.readUInt8(7 * RECORD + 500) ^ 0xff, 7 * RECORD + 500);
    writeFileSync(test, edited);
    const after = sha256(test);

    await expect(runTable({ ...common, out, dataDir: data })).rejects.toThrow(
      /test_batch\.bin \(10,000 records\) is not the official CIFAR-10 file/,
    );
    await expect(runTable({ ...common, out, dataDir: data, allowUnofficialData: true })).rejects.toThrow(
      `${runDir(out, 2, 'original-110', 1)} was trained on other data than the cifar10 files now in ${data} ` +
        `(test_batch.bin: recorded 10,000 records, SHA-256 ${before.slice(0, 16)}…; now 10,000 records, SHA-256 ${after.slice(0, 16)}…). ` +
        'Point --data-dir at the data it was trained on',
    );
    // The same data again: the run resumes where it stopped.
    writeFileSync(test, original);
    const resumed = await runTable({ ...common, out, dataDir: data, allowUnofficialData: true });
    expect(resumed.status).toBe('completed');
    expect(resumed.resumed).toEqual([runDir(out, 2, 'original-110', 1)]);
  }, 240_000);

  it('refuses a run folder whose config.json predates the data record', async () => {
    const out = join(root, 'cut-out');
    const path = join(runDir(out, 2, 'original-110', 1), CONFIG_FILE);
    const { dataIdentity: _, ...old } = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
    writeFileSync(path, JSON.stringify(old));
    await expect(
      runTable({
        ...common,
        out,
        dataDir: join(root, 'cut', 'cifar-10-batches-bin'),
        allowUnofficialData: true,
      }),
    ).rejects.toThrow(/was written before runs recorded their data \(its config\.json has no dataIdentity\)/);
  }, 120_000);
});

describe('generated data', () => {
  it('survives a kill (SIGKILL) during first-time generation: the next run generates it and trains', async () => {
    const out = join(root, 'killed-out');
    const folder = join(out, '.synthetic', `cifar10-${SMOKE_DATA.train}-${SMOKE_DATA.test}`);
    mkdirSync(folder, { recursive: true });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@resnet/source',
        join(import.meta.dirname, 'fixtures', 'generate-data.ts'),
        folder,
      ],
      { cwd: join(import.meta.dirname, '..'), stdio: 'ignore' },
    );
    const exited = new Promise<string | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !readdirSync(folder).some((n) => n.startsWith('.resnet-tmp-'))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(readdirSync(folder).filter((n) => n.startsWith('.resnet-tmp-'))).toHaveLength(1);
    expect(existsSync(join(folder, 'cifar-10-batches-bin'))).toBe(false);

    const outcome = await runTable({ ...common, dataset: 'synthetic', out });
    expect(outcome.status).toBe('completed');
    for (const name of readdirSync(join(out, '.synthetic'))) {
      expect(readdirSync(join(out, '.synthetic', name)).filter((n) => n.startsWith('.resnet-tmp-'))).toEqual(
        [],
      );
    }
  }, 240_000);

  it('makes a generated dataset again when the folder was left incomplete', async () => {
    const out = join(root, 'synthetic-out');
    const smoke = { ...common, dataset: 'synthetic' as const, out };
    await runTable(smoke);
    const [name] = readdirSync(join(out, '.synthetic'));
    const folder = join(out, '.synthetic', name!, 'cifar-10-batches-bin');
    // What a kill during the old in-place generation left: files of the right name, one cut short, no manifest.
    rmSync(join(folder, 'resnet-manifest.json'));
    truncateSync(join(folder, 'test_batch.bin'), RECORD + 10);
    const outcome = await runTable({ ...smoke, rows: ['full-preact-110'] });
    expect(outcome.status).toBe('completed');
    expect(existsSync(join(folder, 'resnet-manifest.json'))).toBe(true);
  }, 240_000);
});

describe('run folders', () => {
  it('refuses to write through a symbolic link planted in a run folder', async () => {
    const out = join(root, 'link-out');
    const dir = runDir(out, 2, 'original-110', 1);
    mkdirSync(dir, { recursive: true });
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'keep\n');
    symlinkSync(outside, join(dir, 'metrics.jsonl'));
    await expect(runTable({ ...common, dataset: 'synthetic', out })).rejects.toThrow(
      `${join(dir, 'metrics.jsonl')} is a symbolic link (to ${outside}). The bench writes only regular files`,
    );
    expect(readFileSync(outside, 'utf8')).toBe('keep\n');
    expect(existsSync(join(dir, CONFIG_FILE))).toBe(false);
  }, 120_000);

  it('reports a result.json without environment, and removes the temporary file of a killed plot write', async () => {
    const out = join(root, 'report-out');
    cpSync(join(import.meta.dirname, 'fixtures', 'report-runs'), out, { recursive: true });
    for (const row of readdirSync(join(out, 'table1'))) {
      for (const run of readdirSync(join(out, 'table1', row))) {
        const path = join(out, 'table1', row, run, 'result.json');
        if (!existsSync(path)) continue;
        const { environment: _, ...rest } = JSON.parse(readFileSync(path, 'utf8'));
        writeFileSync(path, JSON.stringify(rest));
      }
    }
    // A process that wrote a plot's temporary file and was killed before the rename: its pid is gone.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const stale = join(out, 'table1', `test-error.svg.tmp-${child.stdout}`);
    writeFileSync(stale, '');
    const report = await writeTableReport(out, 1);
    expect(report.markdown).toContain('- backend: unknown');
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(join(out, 'table1')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
