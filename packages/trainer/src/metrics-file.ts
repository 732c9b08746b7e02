// metrics.jsonl in Node: one record per line, appended with a synchronous write as it happens, so a crash
// (even a SIGKILL) keeps every line written before it.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { MetricsRecord } from './metrics.js';

/** Appends records to a JSON Lines file. */
export class MetricsLog {
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  write(record: MetricsRecord): void {
    if (this.fd === undefined) throw new Error(`metrics log ${this.path} is closed`);
    // Non-finite numbers have no JSON form; they are written as null (a diverged loss).
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
