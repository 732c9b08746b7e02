// metrics.jsonl in Node: one record per line, appended with a synchronous write as it happens, so a crash
// (even a SIGKILL) keeps every line written before it. A line cut short by such a crash is dropped when the
// file is opened again, so that the next record starts a line of its own instead of being glued to it.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { MetricsRecord } from './metrics.js';
import { namedWriteError } from './write-error.js';

/** Appends records to a JSON Lines file. */
export class MetricsLog {
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    dropPartialLastLine(this.fd);
  }

  write(record: MetricsRecord): void {
    if (this.fd === undefined) throw new Error(`metrics log ${this.path} is closed`);
    // Non-finite numbers have no JSON form; they are written as null (a diverged loss).
    try {
      writeSync(this.fd, `${JSON.stringify(record)}\n`);
    } catch (error) {
      throw namedWriteError(this.path, error);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Truncates the file after its last newline when it does not end with one: what follows it is a record whose
 * write was cut off (every record ends with a newline), and no reader can use it.
 */
function dropPartialLastLine(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = readSync(fd, chunk, 0, end - start, start);
    if (end === size && chunk[read - 1] === 0x0a) return;
    const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (newline >= 0) {
      ftruncateSync(fd, start + newline + 1);
      return;
    }
    end = start;
  }
  ftruncateSync(fd, 0);
}
