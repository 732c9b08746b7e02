// The messages between a job's supervising process (run-job.ts) and its training process (child.ts), over
// Node's IPC channel.
import type { BackendChoice } from '@resnet/backend';
import type { JobOutcome } from './execute.js';
import type { Job } from './plan.js';

/** How the training process sets up this machine's backend. */
export interface BackendSettings {
  backend: BackendChoice;
  /** wasm threads (default every core, at most 8). */
  threads?: number;
}

/** Supervisor → training process. */
export type ToChild =
  | {
      type: 'execute';
      job: Job;
      out: string;
      dataDir?: string;
      settings: BackendSettings;
      progress: 'auto' | 'bar' | 'lines' | 'none';
    }
  /** Stop at the next iteration boundary, with a checkpoint. */
  | { type: 'stop'; signal: 'SIGINT' | 'SIGTERM' };

/** Progress of a run, each logging interval. */
export interface Progress {
  iteration: number;
  iterations: number;
  trainLoss?: number;
  imagesPerSecond: number;
  testError?: number;
}

/** Training process → supervisor. */
export type FromChild =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; outcome: JobOutcome }
  | { type: 'failed'; message: string };
