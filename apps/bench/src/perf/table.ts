// The table `perf` prints: one line per model, ours against PyTorch's where measured.
import type { PerfResult } from './types.js';

export function formatTable(results: PerfResult[]): string {
  const header = [
    'model',
    'batch',
    'backend',
    'thr',
    'train img/s',
    'infer img/s',
    'torch train',
    'ratio',
    'torch infer',
    'ratio',
    'peak RSS',
  ];
  const fixed = (value: number | null, digits = 1) => (value === null ? '—' : value.toFixed(digits));
  const rows = results.map((r) => [
    r.model,
    String(r.batch),
    r.fast ? r.backend : `${r.backend} (stock)`,
    String(r.threads),
    fixed(r.trainImagesPerSec),
    fixed(r.inferenceImagesPerSec),
    fixed(r.pytorchTrainImagesPerSec),
    r.ratio === null ? '—' : `${r.ratio.toFixed(3)}×`,
    fixed(r.pytorchInferenceImagesPerSec),
    r.inferenceRatio === null ? '—' : `${r.inferenceRatio.toFixed(3)}×`,
    `${r.peakRssMB.toFixed(0)} MiB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
