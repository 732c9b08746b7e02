// The run path as jobs, in this process: the run folder's lock (held, taken over only from a holder that is
// provably gone), a refused command that leaves the folder as it was, byte for byte, a finished run without
// its config.json refused, and a planted link at the generated data refused.
// Backend: $RESNET_BENCH_BACKEND (default wasm, the embedded one).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LEASE_MS, LOCK_DIR, lockRunFolder, machineIdentity, RunFolderBusyError } from '../src/jobs/lock.js';
import { planJobs } from '../src/jobs/plan.js';
import { CONFIG_FILE, RESULT_FILE, runDir } from '../src/run-files.js';
import { runTable } from '../src/runner.js';

const backend = (process.env['RESNET_BENCH_BACKEND'] ?? 'wasm') as 'wasm' | 'cpu';
const root = mkdtempSync(join(tmpdir(), 'bench-jobs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const common = {
  table: 2,
  rows: ['original-110'],
  scale: 'smoke' as const,
  backend,
  progress: 'none' as const,
  isolation: 'inline' as const,
  log: () => {},
};

/** Every file under `dir` with its SHA-256 and every folder, by relative path. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) {
        files[`${relative(dir, full)}/`] = 'folder';
        walk(full);
      } else files[relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return files;
}

/** The pid of a process that has ended. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
}

function plantOwner(dir: string, owner: Record<string, unknown>, ageMs = 0): void {
  const lock = join(dir, LOCK_DIR);
  mkdirSync(lock, { recursive: true });
  writeFileSync(join(lock, 'owner.json'), JSON.stringify({ command: 'bench run', since: 'then', ...owner }));
  const when = new Date(Date.now() - ageMs);
  utimesSync(lock, when, when);
}

describe('run folder lock', () => {
  it('refuses a second holder, naming the first, and leaves nothing behind when released', async () => {
    const dir = join(root, 'lock', 'table2', 'row', 'run1');
    const first = await lockRunFolder(dir, 'bench run');
    const refused = await lockRunFolder(dir, 'bench worker').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RunFolderBusyError);
    expect((refused as Error).message).toMatch(
      new RegExp(`^${dir} is being trained by pid ${process.pid} on ${hostname()} \\(bench run, since `),
    );
    first.setChild(process.pid);
    expect(JSON.parse(readFileSync(join(dir, LOCK_DIR, 'owner.json'), 'utf8')).child).toBe(process.pid);
    await first.release();
    // The folders the lock made, and nothing else, are gone.
    expect(existsSync(join(root, 'lock'))).toBe(false);
  });

  it('takes over at once from a holder on this machine that is gone, or whose pid another process took', async () => {
    const dir = join(root, 'dead', 'run1');
    mkdirSync(dir, { recursive: true });
    plantOwner(dir, { host: hostname(), pid: deadPid(), ...machineIdentity() });
    const lock = await lockRunFolder(dir, 'bench run');
    await lock.release();
    // A live pid (this one) with another start time: the holder that had that pid is gone.
    plantOwner(dir, {
      host: hostname(),
      pid: process.pid,
      started: { [process.pid]: '1' },
      ...machineIdentity(),
    });
    await (await lockRunFolder(dir, 'bench run')).release();
    // The same live pid with its own start time is the holder: refused.
    const own = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const started = { [process.pid]: own.slice(own.lastIndexOf(')') + 2).split(' ')[19] };
    plantOwner(dir, { host: hostname(), pid: process.pid, started, ...machineIdentity() });
    await expect(lockRunFolder(dir, 'bench run')).rejects.toThrow(RunFolderBusyError);
  });

  it('takes over from another machine only when its lease is stale', async () => {
    const dir = join(root, 'remote', 'run1');
    mkdirSync(dir, { recursive: true });
    plantOwner(dir, { host: 'elsewhere', pid: 1, machine: 'other-boot' });
    await expect(lockRunFolder(dir, 'bench run')).rejects.toThrow(
      /pid 1 on elsewhere \(bench run, since then\)/,
    );
    plantOwner(dir, { host: 'elsewhere', pid: 1, machine: 'other-boot' }, LEASE_MS + 60_000);
    const lock = await lockRunFolder(dir, 'bench run');
    expect(JSON.parse(readFileSync(join(dir, LOCK_DIR, 'owner.json'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('refused commands', () => {
  it('leave the folder as it was, byte for byte: other options, bad options, a refused resume', async () => {
    const out = join(root, 'refused');
    const controller = new AbortController();
    const first = await runTable({
      ...common,
      out,
      signal: controller.signal,
      onIteration: ({ iteration }) => {
        if (iteration === 3) controller.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    const before = snapshot(out);
    await expect(runTable({ ...common, out, seed: 7 })).rejects.toThrow(
      /holds a run of another configuration/,
    );
    expect(snapshot(out)).toEqual(before);
    expect(() => planJobs({ ...common, noDecay: ['('] })).toThrow(
      /--decay-exclude '\(' is not a regular expression .*; give comma-separated regular expressions/,
    );
    await expect(runTable({ ...common, out, noDecay: ['('] })).rejects.toThrow(/is not a regular expression/);
    expect(snapshot(out)).toEqual(before);
    // A resume its checkpoints refuse (both damaged), asked with another run count (which config.json would
    // record): config.json is left as it was.
    const dir = runDir(out, 2, 'original-110', 1);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ckpt'))) {
      const bytes = readFileSync(join(dir, name));
      bytes[bytes.length - 1]! ^= 0xff;
      writeFileSync(join(dir, name), bytes);
    }
    const damaged = snapshot(out);
    await expect(runTable({ ...common, out, runs: 2 })).rejects.toThrow(/is damaged/);
    expect(snapshot(out)).toEqual(damaged);
  }, 120_000);

  it('leave no folder behind when a fresh run cannot start', async () => {
    const out = join(root, 'fresh');
    await expect(
      runTable({ ...common, out, dataset: 'cifar10', dataDir: join(root, 'no-such-data') }),
    ).rejects.toThrow(/no-such-data does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuse a finished run without its config.json, naming what is missing', async () => {
    const out = join(root, 'no-config');
    await runTable({ ...common, out });
    const dir = runDir(out, 2, 'original-110', 1);
    rmSync(join(dir, CONFIG_FILE));
    await expect(runTable({ ...common, out })).rejects.toThrow(
      `${dir} holds checkpoint.ckpt, final.ckpt, metrics.jsonl, result.json but no config.json, so what it was computed with cannot be checked`,
    );
    expect(existsSync(join(dir, RESULT_FILE))).toBe(true);
  }, 120_000);

  it('refuse a generated dataset folder that is a link out of --out', async () => {
    const out = join(root, 'synthetic-link');
    const outside = join(root, 'outside-data');
    mkdirSync(outside, { recursive: true });
    mkdirSync(out, { recursive: true });
    symlinkSync(outside, join(out, '.synthetic'));
    await expect(runTable({ ...common, out })).rejects.toThrow(
      `${join(out, '.synthetic')} is a symbolic link (to ${outside}). The bench writes only regular files`,
    );
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(out, 'table2'))).toBe(false);
  });
});
