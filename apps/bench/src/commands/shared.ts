// Option parsers and defaults shared by the commands.
import { join } from 'node:path';
import type { BackendChoice } from '@resnet/backend';
import { InvalidArgumentError } from 'commander';
import { callerDir } from '../cli-args.js';

/** Runs go to `runs/<scale>/` under the folder the command was run from unless `--out` says otherwise. */
export const RUNS_ROOT = 'runs';

/** The values every command's --backend takes (initBackend's choices). */
export const backendChoices = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] satisfies BackendChoice[];

/** `runs/` under the folder the command was run from (not apps/bench/, where pnpm runs the script). */
export function runsRoot(): string {
  return join(callerDir(), RUNS_ROOT);
}

export function defaultOut(scale: string): string {
  return join(runsRoot(), scale);
}

/** The flag that lets a run train on data files that are not the official ones. */
export const ALLOW_UNOFFICIAL_HELP =
  "train on data files that differ from the official ones or cannot be verified (each is recorded in the run's config.json, and the report says so)";

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

export function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer, got '${value}'`);
  return n;
}

export function parseList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list of row ids');
  return items;
}

export function parseTable(value: string): number {
  if (!['1', '2', '3'].includes(value)) {
    throw new InvalidArgumentError(`the bench has tables 1, 2 and 3 (see \`list\`), got '${value}'`);
  }
  return Number(value);
}
