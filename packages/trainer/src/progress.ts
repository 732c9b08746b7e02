// What a person watching a run sees in Node: a progress bar on a terminal (cli-progress), plain periodic
// lines otherwise (logs, CI), or nothing.
import cliProgress from 'cli-progress';
import type { ProgressSink } from './host.js';
import type { LogRecord } from './metrics.js';
import type { ProgressMode, ProgressState } from './progress-state.js';

/** Progress in Node: a cli-progress bar on a terminal, `[trainer] …` lines otherwise. */
export class ProgressReporter implements ProgressSink {
  private readonly mode: 'bar' | 'lines' | 'none';
  private bar: cliProgress.SingleBar | undefined;
  private total = 0;

  constructor(
    mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  }

  start(total: number, iteration: number): void {
    this.total = total;
    if (this.mode !== 'bar') return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format:
          '{bar} {value}/{total} | lr {lr} | loss {loss} | err {err} | test {test} | {ips} img/s | ETA {eta_formatted}',
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, iteration, { lr: '-', loss: '-', err: '-', test: '-', ips: '-' });
  }

  /** An iteration was dispatched: the bar moves on (its loss figures wait for the next read). */
  advance(iteration: number): void {
    this.bar?.update(iteration);
  }

  step(state: ProgressState): void {
    this.bar?.update(state.iteration, {
      lr: formatLr(state.lr),
      loss: state.loss.toFixed(4),
      err: percent(state.error),
      test: state.testError === undefined ? '-' : percent(state.testError),
      ips: Math.round(state.imagesPerSecond),
    });
  }

  record(record: LogRecord, secondsLeft: number): void {
    if (this.mode !== 'lines') return;
    const parts = [
      `iter ${record.iteration}/${this.total}`,
      record.epoch === undefined ? '' : `epoch ${record.epoch.toFixed(2)}`,
      `lr ${formatLr(record.lr)}`,
      record.trainLoss === undefined ? '' : `loss ${record.trainLoss.toFixed(4)}`,
      record.trainError === undefined ? '' : `err ${percent(record.trainError)}`,
      record.testError === undefined
        ? ''
        : `test loss ${record.testLoss?.toFixed(4)} err ${percent(record.testError)}`,
      `${Math.round(record.imagesPerSecond)} img/s`,
      `${record.liveTensors} tensors`,
      `left ${formatDuration(secondsLeft)}`,
    ];
    this.stream.write(`[trainer] ${parts.filter((p) => p !== '').join('  ')}\n`);
  }

  message(text: string): void {
    if (this.mode === 'none') return;
    // A line printed under a live bar would be overdrawn; it goes above it instead.
    if (this.bar) this.stream.write('\n');
    this.stream.write(`[trainer] ${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function formatLr(lr: number): string {
  return Number(lr.toPrecision(4)).toString();
}

/** Seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
