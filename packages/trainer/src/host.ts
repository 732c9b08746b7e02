// What the training loop needs from where it runs: files of a runDir, a progress display and signals. The
// Node host (node-host.ts) has all three; the browser host (browser-host.ts) has none, so the loop itself
// (train.ts) imports nothing from `node:` and bundles for a browser.
import type { Checkpoint, CheckpointContents, SaveCheckpointOptions } from './checkpoint.js';
import type { LogRecord, MetricsRecord } from './metrics.js';
import type { ProgressMode, ProgressState } from './progress-state.js';

/** The files of one runDir. */
export interface RunPaths {
  metrics: string;
  checkpoint: string;
  previous: string;
  final: string;
}

/** Run folders: where metrics and checkpoints are written and read back. */
export interface RunFiles {
  paths(runDir: string): RunPaths;
  /** Creates the folder and removes temporaries a killed writer left. */
  prepare(runDir: string, paths: RunPaths): Promise<void>;
  openMetrics(path: string): { write(record: MetricsRecord): void; close(): void };
  saveCheckpoint(path: string, contents: CheckpointContents, options?: SaveCheckpointOptions): Promise<void>;
  /** The readable checkpoint with the most iterations, and warnings for the ones passed over. */
  latestCheckpoint(
    paths: readonly string[],
  ): Promise<{ checkpoint: Checkpoint | undefined; warnings: string[] }>;
}

/** What a person watching a run sees. */
export interface ProgressSink {
  start(total: number, iteration: number): void;
  advance(iteration: number): void;
  step(state: ProgressState): void;
  record(record: LogRecord, secondsLeft: number): void;
  message(text: string): void;
  stop(): void;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface TrainerHost {
  /** Absent where there is no file system: a runDir is then refused. */
  files?: RunFiles;
  progress(mode: ProgressMode, stream: unknown): ProgressSink;
  /**
   * Calls `onFirst` on the first SIGINT/SIGTERM; a second one ends the process at once. Returns the
   * function that removes the handlers. Absent where there are no signals.
   */
  onSignals?(onFirst: (signal: StopSignal) => void): () => void;
}
