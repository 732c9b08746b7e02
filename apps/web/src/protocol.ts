// The messages between the page (main.ts) and the training worker (worker.ts): what the page asks for, and
// what the worker reports back. Plain data only (structured clone), so both sides agree on one list.
import type { BackendChoice, BackendInfo } from '@resnet/backend';
import type { DataFileCheck } from '@resnet/data-cifar';
import type { MetricsRecord } from '@resnet/trainer';

/** Where the data comes from: the user's files (nothing leaves the page) or images generated in the page. */
export type DataChoice =
  | { kind: 'archive'; file: File; allowUnofficial: boolean }
  | { kind: 'folder'; files: File[]; allowUnofficial: boolean }
  | { kind: 'synthetic'; trainCount: number; testCount: number; seed: number };

/** What one press of Start trains. */
export interface TrainSettings {
  /** Preset names of @resnet/models, one per row (two or more). */
  rows: string[];
  depth: number;
  batchSize: number;
  iterations: number;
  /** Evaluate on the test images every this many iterations (and at the end). */
  evaluateEvery: number;
  /** Test images evaluated (the first ones of the test split). */
  testImages: number;
  /** Mean training loss logged every this many iterations. */
  logEvery: number;
  seed: number;
}

export type PageMessage =
  | { type: 'init'; backend: BackendChoice; wasmPaths: Record<string, string>; threads?: number }
  | { type: 'load-data'; data: DataChoice }
  | { type: 'start'; settings: TrainSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'load-model'; files: File[] };

/** The images shown with predictions: a few test images and their labels. */
export interface Strip {
  /** `count` images of 3072 bytes each, as in the CIFAR files (CHW). */
  images: Uint8Array;
  labels: number[];
  classNames: string[];
}

export interface DataSummary {
  source: string;
  synthetic: boolean;
  train: number;
  test: number;
  official: boolean;
  /** The archive's MD5 and whether it is the official one, when an archive was read. */
  archive?: { md5: string; official: boolean };
  files: DataFileCheck[];
  /** Seconds spent reading, checking and parsing. */
  seconds: number;
}

/** One prediction of a row for one strip image: its three most probable classes. */
export type Top3 = Array<{ label: number; probability: number }>;

/** A file offered for download. */
export interface Artifact {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** A row as the worker built it. */
export interface RowInfo {
  id: string;
  preset: string;
  label: string;
  parameters: number;
}

export type RunState = 'idle' | 'training' | 'paused' | 'stopping' | 'done';

export type WorkerMessage =
  | { type: 'backend'; info: BackendInfo; crossOriginIsolated: boolean; hardwareConcurrency: number }
  | { type: 'status'; text: string }
  | { type: 'data'; summary: DataSummary; strip: Strip }
  | { type: 'rows'; rows: RowInfo[]; schedule: string; scheduleData: ScheduleData }
  | { type: 'state'; state: RunState }
  | { type: 'record'; row: string; record: MetricsRecord }
  | {
      type: 'speed';
      imagesPerSecond: number;
      secondsLeft: number;
      iterationsDone: number;
      iterationsTotal: number;
    }
  | { type: 'predictions'; row: string; iteration: number; top3: Top3[] }
  | { type: 'finished'; row: string; status: string; iteration: number; testError?: number }
  | { type: 'artifacts'; row: string; files: Artifact[] }
  | { type: 'loaded-model'; name: string; description: string; top3: Top3[] }
  | { type: 'error'; message: string };

/** The learning-rate schedule as data (the bench's config.json `lrSchedule`). */
export interface ScheduleData {
  baseLr: number;
  milestones: number[];
  warmup: { iterations: number; lr: number } | null;
}
