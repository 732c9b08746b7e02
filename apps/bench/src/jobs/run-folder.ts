// The one answer to "may this job use this run folder?": the folder is fresh, or it holds a run of the same
// configuration on the same data (finished: skipped as done; unfinished: resumed, on the same numerics), or it
// is refused with what differs. Reads only; nothing here writes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configDifferences, describeDifferences } from '../config-diff.js';
import { describeDataChange, sameData } from '../data.js';
import { readJsonIfExists } from '../files.js';
import { CONFIG_FILE, METRICS_FILE, RESULT_FILE, type RunConfig, type RunResult } from '../run-files.js';

/** What a folder holds for a job: nothing yet, a finished run, or a run to carry on. */
export type FolderState =
  | { kind: 'fresh' }
  | { kind: 'finished'; existing: RunConfig; result: RunResult }
  | { kind: 'unfinished'; existing: RunConfig };

/** Fields of config.json that decide no number: they may change between invocations of a run. */
const NOT_COMPUTED = ['runs', 'checkpointEvery', 'logEvery'] as const;

/** Whether `config` may be written over `existing` without changing what the run computes. */
export function onlyBookkeepingDiffers(existing: RunConfig, config: RunConfig): boolean {
  return NOT_COMPUTED.some((key) => existing[key] !== config[key]);
}

/**
 * The state of run folder `dir` for a run of `config` (its data identity and numerics included; the data read
 * from `dataSource`), or an error
 * that says what differs and what to do. `numerics` matters only for a run to carry on: a finished run is a
 * result whatever backend made it.
 */
export function checkRunFolder(dir: string, config: RunConfig, dataSource: string): FolderState {
  const existing = readJsonIfExists<RunConfig>(join(dir, CONFIG_FILE));
  const result = readJsonIfExists<RunResult>(join(dir, RESULT_FILE));
  if (!existing) {
    const left = runFiles(dir);
    if (left.length > 0) {
      throw new Error(
        `${dir} holds ${left.join(', ')} but no ${CONFIG_FILE}, so what it was computed with cannot be ` +
          'checked; it is not skipped, resumed or reported. Pass another --out, or delete that folder to run it again',
      );
    }
    return { kind: 'fresh' };
  }
  const differences = experimentDifferences(existing, config);
  if (differences.length > 0) {
    throw new Error(
      `${dir} holds a run of another configuration, made by another scale or options or by an ` +
        `earlier version of the code that computed something else (${describeDifferences(differences)}); ` +
        'it is not mixed with new runs: pass another --out, or delete that folder to start it again',
    );
  }
  if (!existing.dataIdentity) {
    throw new Error(
      `${dir} was written before runs recorded their data (its config.json has no dataIdentity), so whether ` +
        'it used the same files cannot be checked; pass another --out, or delete that folder to run it again',
    );
  }
  if (config.dataIdentity && !sameData(existing.dataIdentity, config.dataIdentity)) {
    throw new Error(
      `${dir} was trained on other data than the ${existing.dataset} files now in ${dataSource} ` +
        `(${describeDataChange(existing.dataIdentity, config.dataIdentity)}). ` +
        'Point --data-dir at the data it was trained on, or pass another --out to start afresh.',
    );
  }
  if (result) return { kind: 'finished', existing, result };
  if (existing.numerics !== config.numerics) {
    const before = existing.numerics ?? 'not recorded (written by an earlier version)';
    throw new Error(
      `${dir} was trained so far with numerics ${before}; this machine gives ${config.numerics}, and a run ` +
        'resumed on other numerics matches neither an uninterrupted run of the one nor of the other. Resume it ' +
        'where it was made (same backend and, on wasm, the same --threads), or delete that folder to start it again',
    );
  }
  return { kind: 'unfinished', existing };
}

/**
 * The fields that differ between a folder's config and the one this job would write, over everything that
 * decides the numbers (the data is compared by content above, the numerics only for an unfinished run).
 */
function experimentDifferences(a: RunConfig, b: RunConfig) {
  const strip = (c: RunConfig) => {
    const copy: Partial<RunConfig> = { ...c };
    for (const key of [...NOT_COMPUTED, 'dataIdentity', 'numerics'] as const) delete copy[key];
    return copy;
  };
  return configDifferences(strip(a), strip(b));
}

/** The files a run writes that are present in `dir`. */
function runFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir);
  return names.filter((n) => n === METRICS_FILE || n === RESULT_FILE || n.endsWith('.ckpt')).sort();
}
