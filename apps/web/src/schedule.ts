// The learning-rate schedule of a run: @resnet/trainer's scaledPaperSchedule (the paper's shape shrunk to the
// run's iterations), and the same schedule as data for config.json, read back from the function itself so
// the two cannot disagree.
import { type Schedule, scaledPaperSchedule } from '@resnet/trainer';
import type { ScheduleData } from './protocol.js';

/** The schedule a run of `iterations` trains with. */
export function runSchedule(iterations: number): Schedule {
  return scaledPaperSchedule(iterations);
}

/**
 * `schedule` over `iterations` as the bench's config.json records it: a warm-up (the rate of iteration 0
 * while it stays below the rate after it), then the base rate and the iterations at which it drops.
 */
export function scheduleData(schedule: Schedule, iterations: number): ScheduleData {
  const rates = Array.from({ length: iterations }, (_, i) => schedule(i));
  let warmupEnd = 0;
  while (warmupEnd < iterations && rates[warmupEnd] === rates[0]) warmupEnd++;
  const warmedUp = warmupEnd < iterations && rates[warmupEnd]! > rates[0]!;
  const start = warmedUp ? warmupEnd : 0;
  const milestones: number[] = [];
  for (let i = start + 1; i < iterations; i++) if (rates[i]! < rates[i - 1]!) milestones.push(i);
  return {
    baseLr: rates[start]!,
    milestones,
    warmup: warmedUp ? { iterations: warmupEnd, lr: rates[0]! } : null,
  };
}

/** The schedule in words, as the page and config.json show it. */
export function describeSchedule(data: ScheduleData, iterations: number): string {
  const drops = data.milestones.length > 0 ? `, ÷10 at ${data.milestones.join(' and ')}` : '';
  const warmup = data.warmup
    ? `; warm-up ${data.warmup.iterations} iteration${data.warmup.iterations === 1 ? '' : 's'} at ${data.warmup.lr}`
    : '';
  return `the paper's scaled to ${iterations} iterations: lr ${data.baseLr}${drops}${warmup}`;
}
