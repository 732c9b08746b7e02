// Measures how many augmented, normalised training images per second one core prepares: the work the
// data pipeline adds to each training step (tensor upload excluded, it belongs to the backend).
import { randomFillSync } from 'node:crypto';
import { TrainGenerator } from './augment.js';
import { PIXELS } from './datasets.js';
import { computeNormalization, type NormalizationMode, normalizationTables } from './normalization.js';
import type { CifarSplit } from './parse.js';

/** Options of {@link benchmarkAugmentation}. */
export interface BenchmarkAugmentationOptions {
  /** Images to use; default 10,000 generated images. */
  split?: CifarSplit;
  batchSize: number;
  /** Measuring time after a one-second warm-up (default 3). */
  seconds?: number;
  normalization?: NormalizationMode;
}

export interface AugmentationBenchmark {
  /** Augmented training images prepared per second of wall-clock time, on one thread (one core). */
  imagesPerSec: number;
  /**
   * Images per second of CPU time used by the process: the one-core rate with the time lost to other processes
   * on a busy machine taken out (garbage-collector threads count against it, so it errs low).
   */
  imagesPerCpuSec: number;
  /** CPU seconds per wall second during the measurement; well below 1 means the machine was busy. */
  cpuShare: number;
  /** Milliseconds to prepare one batch. */
  msPerBatch: number;
  images: number;
  batches: number;
  seconds: number;
  batchSize: number;
  /** 'generated' when no split was given. */
  data: 'given' | 'generated';
  splitSize: number;
}

function generatedSplit(size: number): CifarSplit {
  const images = new Uint8Array(size * PIXELS);
  // randomFillSync has a 2^31-byte limit per call; 10,000 images are far below it.
  randomFillSync(images);
  const labels = Uint8Array.from({ length: size }, (_, i) => i % 10);
  return { images, labels, size };
}

/** Runs the training batch generator alone (one thread, hence one core) for a while and reports its rate. */
export async function benchmarkAugmentation(
  options: BenchmarkAugmentationOptions,
): Promise<AugmentationBenchmark> {
  const split = options.split ?? generatedSplit(10_000);
  const seconds = options.seconds ?? 3;
  const tables = normalizationTables(computeNormalization(split, options.normalization ?? 'per-channel'));
  const generator = new TrainGenerator(split, {
    batchSize: options.batchSize,
    tables,
    augment: true,
    seed: 0,
    dropLast: true,
  });
  const run = (ms: number): { images: number; batches: number; elapsed: number; cpu: number } => {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    let images = 0;
    let batches = 0;
    while (performance.now() - start < ms) {
      images += generator.next().size;
      batches++;
    }
    const cpu = process.cpuUsage(cpuStart);
    return {
      images,
      batches,
      elapsed: (performance.now() - start) / 1000,
      cpu: (cpu.user + cpu.system) / 1e6,
    };
  };
  run(1000);
  // Let a pending garbage collection of the warm-up's arrays run outside the measurement where it can.
  await new Promise((resolve) => setImmediate(resolve));
  const { images, batches, elapsed, cpu } = run(seconds * 1000);
  return {
    imagesPerSec: images / elapsed,
    imagesPerCpuSec: images / cpu,
    cpuShare: cpu / elapsed,
    msPerBatch: (elapsed * 1000) / batches,
    images,
    batches,
    seconds: elapsed,
    batchSize: options.batchSize,
    data: options.split ? 'given' : 'generated',
    splitSize: split.size,
  };
}
