// The PyTorch reference of `perf --vs-pytorch`: apps/bench/pytorch/perf_reference.py in a subprocess, with the
// same network depth, batch, thread count and step counts as ours.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PerfOptions } from './types.js';

const execFileAsync = promisify(execFile);

/** One network's figures from the reference script. */
export interface PytorchRow {
  model: string;
  depth: number;
  trainImagesPerSec: number;
  inferenceImagesPerSec: number;
}

/** Runs the PyTorch reference; resolves to its rows, or to the reason it could not run. */
export async function runPytorch(
  options: PerfOptions,
  depths: number[],
  threads: number,
): Promise<{ rows: PytorchRow[]; version: string } | { error: string }> {
  const script = fileURLToPath(new URL('../../pytorch/perf_reference.py', import.meta.url));
  const args = [
    script,
    '--depths',
    depths.join(','),
    '--batch',
    String(options.batch),
    '--threads',
    String(threads),
    '--steps',
    String(options.steps),
    '--warmup',
    String(options.warmup),
    '--device',
    options.pytorchDevice ?? 'cpu',
  ];
  const failures: string[] = [];
  for (const python of options.python) {
    try {
      const { stdout } = await execFileAsync(python, args, { maxBuffer: 1 << 20 });
      const parsed = JSON.parse(stdout) as { torch: string; results: PytorchRow[] };
      return { rows: parsed.results, version: parsed.torch };
    } catch (error) {
      const failure = error as { code?: unknown; stdout?: string; message: string };
      const detail =
        failure.code === 'ENOENT' ? 'not found' : (failure.stdout?.trim() || failure.message).slice(0, 300);
      failures.push(`${python}: ${detail}`);
    }
  }
  return {
    error:
      `PyTorch is not available (${failures.join('; ')}). Install it (Debian: apt-get install python3-torch) ` +
      'or name an interpreter with --python',
  };
}
