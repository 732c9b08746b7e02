// Executes one job into its run folder, in the process that trains (the training process `bench run` and the
// queue worker start, or the caller itself in tests): its data loaded, its config built once (the plan's, plus
// the data's identity and the backend's numerics), the folder checked (fresh, finished or to resume), and only
// then config.json written and the run trained, reading everything from that config; result.json at the end.
// Whoever calls it holds the run folder's lock (lock.ts).
import { join } from 'node:path';
import { type BackendInfo, initBackend } from '@resnet/backend';
import type { MetricsRecord } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { dataIdentity, loadData, SMOKE_DATA } from '../data.js';
import { describeDevice, gitCommit } from '../environment.js';
import { assertNoLinks, writeJsonAtomic } from '../files.js';
import { CONFIG_FILE, RESULT_FILE, type RunConfig, type RunResult } from '../run-files.js';
import { trainRun } from '../train-run.js';
import type { BackendSettings } from './messages.js';
import { type Job, jobConfig } from './plan.js';
import { checkRunFolder, onlyBookkeepingDiffers } from './run-folder.js';

/** Where and how a job runs on this machine (not part of what the job computes). */
export interface ExecuteOptions {
  /** The output folder the job's run folder is in (`<out>/<job.folder>`). */
  out: string;
  /** A local copy of the extracted CIFAR folder. */
  dataDir?: string;
  /** Stops training at the next iteration boundary, with a checkpoint; the run stays resumable. */
  signal?: AbortSignal;
  /** The trainer's progress display (default 'auto': a bar on a terminal, lines otherwise). */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Called after every training iteration (tests interrupt a run part-way with it). */
  onIteration?: (iteration: number) => void;
  /** Every metrics record as it is written (the queue worker reports progress from the `log` ones). */
  onRecord?: (record: MetricsRecord) => void;
  log?: (line: string) => void;
}

/** How a job ended. */
export interface JobOutcome {
  status: 'completed' | 'diverged' | 'skipped' | 'interrupted';
  /** The run folder. */
  dir: string;
  /** Iterations done. */
  iteration: number;
  /** The iteration it resumed from (0: a fresh start; absent when skipped). */
  resumedFrom?: number;
  /** The run's result (completed, diverged, or skipped as finished before). */
  result?: RunResult;
}

/**
 * What decides the bits a training step produces on the active backend. The backend's own account
 * (`BackendInfo.numerics`) where it gives one; until then the backend's name and, on wasm, its thread count.
 * TODO(lead, at the merge of the backend branch): `info.numerics` is always there; use it alone.
 */
export function backendNumerics(info: BackendInfo): string {
  const given = (info as BackendInfo & { numerics?: string }).numerics;
  if (given) return given;
  return info.threads === undefined ? info.name : `${info.name}/${info.threads} threads`;
}

/** Initialises this process's backend as a job's supervisor asked. */
export function initJobBackend(settings: BackendSettings): Promise<BackendInfo> {
  return initBackend({
    backend: settings.backend,
    ...(settings.threads !== undefined ? { fast: { threads: settings.threads } } : {}),
  });
}

/** Trains `job` into `<options.out>/<job.folder>` on the backend already initialised (`backend`). */
export async function executeJob(
  job: Job,
  backend: BackendInfo,
  options: ExecuteOptions,
): Promise<JobOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = join(options.out, job.folder);
  const label = `${job.row} run ${job.run}`;
  // Nothing on the way to the run folder or to the generated data may lead a write outside --out.
  await assertNoLinks(options.out, dir);
  const planned = jobConfig(job);
  const counts = {
    train: Math.max(SMOKE_DATA.train, 2 * planned.batchSize),
    test: Math.max(SMOKE_DATA.test, planned.testImages ?? planned.batchSize),
  };
  const syntheticDir = join(options.out, '.synthetic', `${job.dataset}-${counts.train}-${counts.test}`);
  if (job.data === 'synthetic') await assertNoLinks(options.out, syntheticDir);
  const data = await loadData({
    dataset: job.dataset,
    synthetic: job.data === 'synthetic',
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(job.allowUnofficialData ? { allowUnofficial: true } : {}),
    syntheticDir,
    syntheticCounts: counts,
    log,
  });
  try {
    const config: RunConfig = {
      ...planned,
      dataIdentity: dataIdentity(data, planned.testImages ?? undefined),
      numerics: backendNumerics(backend),
    };
    const state = checkRunFolder(dir, config, data.source);
    if (state.kind === 'finished') {
      log(`${label}: done, skipped (${dir})`);
      return { status: 'skipped', dir, iteration: state.result.iteration, result: state.result };
    }
    // Everything is checked: the run starts. A fresh run's config.json is written now; a resumed run keeps
    // its own until the trainer has accepted its checkpoint (a refused resume leaves the folder as it was).
    let written: Promise<void> | undefined;
    const writeConfig = () => {
      written ??= writeJsonAtomic(join(dir, CONFIG_FILE), config);
    };
    if (state.kind === 'fresh') {
      writeConfig();
      await written;
    }
    const rewrite = state.kind === 'unfinished' && onlyBookkeepingDiffers(state.existing, config);
    log(`${label}: ${job.preset} at depth ${config.model.depth}, ${config.iterations} iterations (${dir})`);
    const result = await trainRun({
      config,
      dir,
      data,
      ...(options.signal ? { signal: options.signal } : {}),
      progress: options.progress ?? 'auto',
      onIteration: (iteration) => options.onIteration?.(iteration),
      onRecord: (record) => {
        if (record.type === 'start' && rewrite) writeConfig();
        options.onRecord?.(record);
      },
      log,
    });
    await written;
    const resumedFrom = result.resumedFrom;
    if (result.status === 'interrupted') {
      log(`${label}: interrupted at iteration ${result.iteration}; run the same command to resume`);
      return { status: 'interrupted', dir, iteration: result.iteration, resumedFrom };
    }
    const final: RunResult = {
      status: result.status,
      iteration: result.iteration,
      divergedAt: result.divergedAt ?? null,
      testErrorPercent: result.testErrorPercent,
      testLoss: result.testLoss,
      trainLoss: result.trainLoss,
      trainErrorPercent: result.trainErrorPercent,
      gateBias: result.gateBias,
      wallSeconds: result.wallSeconds,
      environment: {
        backend: backend.name,
        gpu: backend.gpu,
        device: describeDevice(backend.gpu),
        commit: gitCommit(),
        node: process.versions.node,
        tfjs: tf.version_core,
      },
    };
    await writeJsonAtomic(join(dir, RESULT_FILE), final);
    const error = final.testErrorPercent === null ? 'n/a' : `${final.testErrorPercent.toFixed(2)}%`;
    log(`${label}: ${final.status}, test error ${error}, ${final.wallSeconds.toFixed(1)} s`);
    return { status: final.status, dir, iteration: final.iteration, resumedFrom, result: final };
  } finally {
    data.dispose();
  }
}
