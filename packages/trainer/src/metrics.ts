// Metrics as JSON Lines: the records and their parser (the file writer, Node-only, is metrics-file.ts).

/** One logging interval: written every `logEvery` iterations, after each evaluation and at the end. */
export interface LogRecord {
  type: 'log';
  /** Iterations completed. */
  iteration: number;
  /** `iteration / itersPerEpoch`, when the caller gave `itersPerEpoch`. */
  epoch?: number;
  /** The learning rate of the last iteration of the interval. */
  lr: number;
  /** Mean training loss over the iterations of the interval (BN in training mode, as the step saw it). */
  trainLoss?: number;
  /** Fraction (0–1) of the interval's training images whose top-1 prediction was wrong. */
  trainError?: number;
  /** Iterations the training averages cover. */
  trainIterations: number;
  /** Test loss, when an evaluation ran at this iteration (BN in inference mode). */
  testLoss?: number;
  /** Test top-1 error (0–1), when an evaluation ran at this iteration. */
  testError?: number;
  /** Training images per second over the interval (data loading and the step, not evaluation). */
  imagesPerSecond: number;
  /** `tf.memory().numTensors` after the interval. */
  liveTensors: number;
  /** Live tensors above the count after this process's first step; growth means a leak. */
  tensorGrowth: number;
  /** Seconds of training in this run so far, summed over resumed segments. */
  wallSeconds: number;
  /** ISO time the record was written. */
  time: string;
}

/** Events around the log records. */
export type EventRecord =
  | {
      type: 'start';
      iteration: number;
      iterations: number;
      seed: number;
      backend: string;
      resumedFrom?: string;
      config: Record<string, unknown> | null;
      time: string;
    }
  | { type: 'checkpoint'; iteration: number; path: string; reason: CheckpointReason; time: string }
  | { type: 'warning'; iteration: number; message: string; time: string }
  | {
      type: 'end';
      iteration: number;
      status: 'completed' | 'diverged' | 'interrupted';
      divergedAt?: number;
      wallSeconds: number;
      time: string;
    };

/** Why a checkpoint was written. */
export type CheckpointReason = 'periodic' | 'interrupt' | 'final';

/** A line of metrics.jsonl. */
export type MetricsRecord = LogRecord | EventRecord;

/** Options of {@link parseMetrics}. */
export interface ParseMetricsOptions {
  /** Keep the records of segments a resume rolled back (see {@link parseMetrics}). Default false. */
  keepRolledBack?: boolean;
}

/**
 * Reads a metrics.jsonl file back. A run killed without a checkpoint (SIGKILL, power cut) resumes from its
 * last checkpoint and logs the iterations after it again; by default the records a resume rolled back are
 * dropped, so each iteration appears once, as the run that went on saw it. A last line cut short by a crash
 * is ignored; a damaged line elsewhere is an error.
 */
export function parseMetrics(text: string, options: ParseMetricsOptions = {}): MetricsRecord[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const records: MetricsRecord[] = [];
  for (const [i, line] of lines.entries()) {
    let record: MetricsRecord;
    try {
      record = JSON.parse(line) as MetricsRecord;
    } catch (error) {
      if (i === lines.length - 1 && !text.endsWith('\n')) break;
      throw new Error(
        `metrics line ${i + 1} is not JSON (${(error as Error).message}): ${line.slice(0, 80)}`,
      );
    }
    if (record.type === 'start' && !options.keepRolledBack) {
      const resumedAt = record.iteration;
      const kept = records.filter((r) => r.iteration <= resumedAt);
      records.length = 0;
      records.push(...kept);
    }
    records.push(record);
  }
  return records;
}
