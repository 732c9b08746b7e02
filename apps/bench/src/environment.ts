// What a report's header says about where its numbers came from: commit, device, Node and TensorFlow.js.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/** The commit of the checkout (`git rev-parse --short HEAD`, with `+dirty` when files changed), or 'unknown'. */
export function gitCommit(cwd: string = process.cwd()): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

/** The device kernels run on: the GPU when the backend uses one, else the CPU model and core count. */
export function describeDevice(gpu: boolean): string {
  const list = cpus();
  const cpu = `${list[0]?.model.trim() ?? 'unknown CPU'} × ${list.length}`;
  return gpu ? `GPU (CUDA) via libtensorflow; host ${cpu}` : `CPU: ${cpu}`;
}
