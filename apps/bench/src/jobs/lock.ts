// The guard of a run folder: one process trains it at a time, whoever started it (`bench run`, an array task,
// a queue worker). The lock is a folder `<run>/.lock` made with an atomic mkdir by proper-lockfile, which keeps
// its modification time fresh while it is held (a lease), plus `owner.json` inside it naming the host, the
// process and its training process. It is taken over only when its holder is provably gone:
// - on the same machine (same host name, boot and process namespace, where process ids mean the same thing):
//   when neither the holder nor its training process runs any more (a process id reused since does not count:
//   its start time is compared too), at once;
// - from another machine, which cannot see the holder's processes: when the lease has not been renewed for
//   LEASE_MS (the holder renews it every RENEW_MS from an event loop that training never blocks, since training
//   runs in a child process). Clocks of the machines sharing the folder must agree to well within that.
// The holder keeps the lock by a process whose event loop is free (the training runs in a child), so a long
// synchronous step never lets the lease lapse.

import * as fs from 'node:fs';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';

/** The lock folder inside a run folder. */
export const LOCK_DIR = '.lock';
const OWNER_FILE = 'owner.json';

/** A lock not renewed for this long is taken over from another machine. */
export const LEASE_MS = 120_000;
/** How often the holder renews it. */
const RENEW_MS = 15_000;

/** Who holds a run folder. */
export interface LockOwner {
  host: string;
  pid: number;
  /** The training process it started, once there is one. */
  child?: number;
  /** When the lock was taken (ISO time). */
  since: string;
  /** What holds it (`bench run`, `bench worker`, …). */
  command: string;
  /** Same boot and process namespace: process ids are comparable. Absent where /proc is not there. */
  machine?: string;
  /** Start time of each process id (Linux clock ticks since boot), so that a reused id is not taken for it. */
  started?: Record<string, string>;
}

/** A run folder held by another live process. */
export class RunFolderBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      `${dir} is being trained by ${owner ? describeOwner(owner) : 'another process (it has not yet written who it is)'}; ` +
        'a run folder is never written by two processes at once. Wait for it to finish or stop that process; ' +
        `a lock whose holder is gone is taken over (on its machine at once, from another machine after ${LEASE_MS / 1000} s without renewal)`,
    );
    this.name = 'RunFolderBusyError';
  }
}

export function describeOwner(owner: LockOwner): string {
  const child = owner.child ? ` (training in pid ${owner.child})` : '';
  return `pid ${owner.pid}${child} on ${owner.host} (${owner.command}, since ${owner.since})`;
}

/** A held run folder. */
export interface RunFolderLock {
  /** Records the training process, so that the lock is not taken over while it runs. */
  setChild(pid: number): void;
  /** Aborted when the lock was lost (taken over, or its folder removed): stop writing at once. */
  lost: AbortSignal;
  /** Releases the lock and removes the folders the lock made (nothing else was written in them). */
  release(): Promise<void>;
}

/** Takes the lock of run folder `dir`, or throws {@link RunFolderBusyError}. */
export async function lockRunFolder(dir: string, command: string): Promise<RunFolderLock> {
  const created = await makeFolders(dir);
  const lockPath = join(dir, LOCK_DIR);
  const owner: LockOwner = {
    host: hostname(),
    pid: process.pid,
    since: new Date().toISOString(),
    command,
    ...machineIdentity(),
  };
  owner.started = startTimes([process.pid]);
  const holder = readOwner(lockPath);
  if (holder && sameMachine(holder)) {
    // A holder whose supervisor is gone: its training process leaves, writing nothing more, at the end of the
    // step in flight (child.ts); wait for that rather than refuse.
    if (!alive(holder.pid, holder.started?.[holder.pid])) await childGone(holder);
    if (holderAlive(holder)) throw new RunFolderBusyError(dir, holder);
    // Provably gone: no process of it runs on this machine.
    await rm(lockPath, { recursive: true, force: true });
  }
  const lost = new AbortController();
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: lockPath,
      realpath: false,
      stale: LEASE_MS,
      update: RENEW_MS,
      retries: 0,
      fs: ownerFs(owner),
      onCompromised: (error) => lost.abort(error),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      await removeCreated(created);
      throw new RunFolderBusyError(dir, readOwner(lockPath));
    }
    throw error;
  }
  return {
    lost: lost.signal,
    setChild(pid) {
      owner.child = pid;
      owner.started = startTimes([process.pid, pid]);
      // Rewritten in place: a new directory entry would change the lock's modification time, which
      // proper-lockfile watches to tell whether someone else took the lock.
      writeFileSync(join(lockPath, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
    },
    async release() {
      await release().catch(() => {});
      await removeCreated(created);
    },
  };
}

/** proper-lockfile's file system, with the owner record written into the lock folder as it is made. */
function ownerFs(owner: LockOwner): typeof fs {
  return {
    ...fs,
    mkdir: ((path: string, callback: (error: NodeJS.ErrnoException | null) => void) => {
      fs.mkdir(path, (error) => {
        if (error) return callback(error);
        try {
          writeFileSync(join(path, OWNER_FILE), `${JSON.stringify(owner, null, 2)}\n`);
        } catch (writeError) {
          fs.rmSync(path, { recursive: true, force: true });
          return callback(writeError as NodeJS.ErrnoException);
        }
        callback(null);
      });
    }) as typeof fs.mkdir,
    rmdir: ((path: string, callback: (error: NodeJS.ErrnoException | null) => void) => {
      fs.rm(join(path, OWNER_FILE), { force: true }, () => fs.rmdir(path, callback));
    }) as typeof fs.rmdir,
  };
}

function readOwner(lockPath: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(lockPath, OWNER_FILE), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/** This machine's boot and process namespace, where /proc tells them. */
export function machineIdentity(): { machine?: string } {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = fs.readlinkSync('/proc/self/ns/pid');
    return { machine: `${boot}/${namespace}` };
  } catch {
    return {};
  }
}

function sameMachine(owner: LockOwner): boolean {
  return owner.host === hostname() && owner.machine === machineIdentity().machine;
}

/** Start times (field 22 of /proc/<pid>/stat) of the given processes that run, by pid. */
function startTimes(pids: number[]): Record<string, string> {
  const times: Record<string, string> = {};
  for (const pid of pids) {
    const time = startTime(pid);
    if (time !== undefined) times[pid] = time;
  }
  return times;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): state is field 3, start time 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Where start times are known, a process id taken by another process since is not the holder.
  return started === undefined || startTime(pid) === started;
}

function holderAlive(owner: LockOwner): boolean {
  return [owner.pid, owner.child]
    .filter((pid): pid is number => pid !== undefined)
    .some((pid) => alive(pid, owner.started?.[pid]));
}

/** Resolves once the holder's training process has ended (or after LEASE_MS, when it is taken as busy). */
async function childGone(owner: LockOwner): Promise<void> {
  const deadline = Date.now() + LEASE_MS;
  while (
    owner.child !== undefined &&
    alive(owner.child, owner.started?.[owner.child]) &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Creates `dir` and the folders above it that do not exist; returns those it created, deepest first. */
async function makeFolders(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let path = dir; !fs.existsSync(path); path = dirname(path)) missing.push(path);
  await mkdir(dir, { recursive: true });
  return missing;
}

/** Removes folders the lock created, where nothing else was put in them (a refused job leaves no folder). */
async function removeCreated(created: readonly string[]): Promise<void> {
  for (const path of created) {
    try {
      await rmdir(path);
    } catch {
      return;
    }
  }
}
