// Downloads one file over HTTP(S): bytes go to `<dest>.part` (resumed with a Range request after an
// interruption), the MD5 is checked, and only then is the file renamed to `<dest>`. A `.part` file is never
// mistaken for a complete one, and a later run resumes it.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';

/** Options of {@link downloadFile}. */
export interface DownloadArgs {
  url: string;
  /** Final path; it exists only once the whole file arrived and its checksum matched. */
  dest: string;
  /** Expected MD5 (hex); not checked when absent. */
  md5?: string;
  /** Expected size in bytes, when known: a server offering another size is refused at once. */
  bytes?: number;
  /** Further attempts after a network failure or a 5xx/408/429 answer (default 4); each resumes. */
  retries?: number;
  /** Wait before the first retry, doubled for each further one (default 1000 ms). */
  retryDelayMs?: number;
  /** Abort an attempt when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Show a progress bar on stderr (default: only when stderr is a terminal). */
  progress?: boolean;
  /** Name shown in front of the progress bar. */
  label?: string;
  /**
   * Where the progress bar goes (default stderr); it is drawn only if this stream is a terminal. A
   * `process.stderr`-like stream; typed structurally so the published types need no `@types/node`.
   */
  progressStream?: ProgressStream;
}

/** The part of a terminal stream (such as `process.stderr`) the progress bar needs to know of. */
export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

/** A download that failed for good; `reason` says what happened, without the URL. */
export class DownloadError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(`download of ${url} failed: ${reason}`);
    this.name = 'DownloadError';
  }
}

/** A failure worth another attempt (network trouble, server overload). */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What the `.part` file was fetched from, so a resume asks for the same version of the same file. */
interface PartMeta {
  url: string;
  validator?: string;
  total?: number;
}

/** MD5 (hex) of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readMeta(path: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `${cause.message}` : '';
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

/** Bytes done, total, rate and time left on stderr; silent when disabled. */
class Progress {
  private bar?: cliProgress.SingleBar;
  private startedAt = 0;
  private startedFrom = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly label: string,
    private readonly stream: ProgressStream,
  ) {}

  start(total: number, from: number): void {
    if (!this.enabled) return;
    this.startedAt = Date.now();
    this.startedFrom = from;
    this.bar ??= new cliProgress.SingleBar(
      {
        format: `${this.label} [{bar}] {percentage}% | {done} of {size} | {rate} | {eta_formatted} left`,
        // A terminal stream: cli-progress moves its cursor with the TTY methods process.stderr has.
        stream: this.stream as NodeJS.WritableStream,
        hideCursor: true,
        etaBuffer: 200,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, from, this.payload(from, total));
  }

  update(done: number, total: number): void {
    this.bar?.update(done, this.payload(done, total));
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private payload(done: number, total: number): Record<string, string> {
    const seconds = (Date.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? (done - this.startedFrom) / seconds : 0;
    return {
      done: formatBytes(done),
      size: total ? formatBytes(total) : '?',
      rate: `${formatBytes(rate)}/s`,
    };
  }
}

/** One request: resumes from the `.part` file's size when the server allows it. */
async function attempt(
  args: DownloadArgs,
  part: string,
  metaPath: string,
  progress: Progress,
): Promise<void> {
  const { url } = args;
  let start = (await sizeOf(part)) ?? 0;
  const meta = await readMeta(metaPath);
  if (start > 0 && meta?.url !== url) {
    // A leftover from another URL cannot be resumed.
    await rm(part, { force: true });
    start = 0;
  }
  if (start > 0 && meta?.total !== undefined && start >= meta.total) {
    return;
  }
  const headers: Record<string, string> = {};
  if (start > 0) {
    headers['range'] = `bytes=${start}-`;
    // If-Range: a changed file comes back whole (200) instead of being spliced onto the old bytes.
    if (meta?.validator) headers['if-range'] = meta.validator;
  }
  const controller = new AbortController();
  const idleMs = args.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
    } catch (error) {
      throw new RetryableError(`could not connect (${describe(error)})`);
    }
    const { status } = response;
    if (status === 416 && start > 0) {
      await response.body?.cancel();
      await rm(part, { force: true });
      throw new RetryableError('the server refused to resume the partial download; starting over');
    }
    if (status !== 200 && status !== 206) {
      await response.body?.cancel();
      const message = `the server answered HTTP ${status} ${response.statusText}`.trim();
      if (status >= 500 || status === 408 || status === 429) throw new RetryableError(message, status);
      throw new DownloadError(url, message, status);
    }
    let offset = 0;
    let total: number | undefined;
    if (status === 206) {
      const range = /bytes (\d+)-(\d+)\/(\d+)/.exec(response.headers.get('content-range') ?? '');
      if (!range || Number(range[1]) !== start) {
        await response.body?.cancel();
        await rm(part, { force: true });
        throw new RetryableError('the server sent a range other than the one asked for; starting over');
      }
      offset = start;
      total = Number(range[3]);
    } else {
      const length = response.headers.get('content-length');
      total = length === null ? undefined : Number(length);
    }
    if (args.bytes !== undefined && total !== undefined && total !== args.bytes) {
      await response.body?.cancel();
      throw new DownloadError(url, `the server offers ${total} bytes, but the file has ${args.bytes}`);
    }
    const etag = response.headers.get('etag');
    const validator =
      etag && !etag.startsWith('W/') ? etag : (response.headers.get('last-modified') ?? undefined);
    await writeFile(metaPath, JSON.stringify({ url, validator, total } satisfies PartMeta));
    const out = createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
    const closed = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    let received = offset;
    progress.start(total ?? 0, offset);
    try {
      if (!response.body) throw new Error('the response has no body');
      for await (const chunk of response.body) {
        touch();
        received += chunk.byteLength;
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        progress.update(received, total ?? 0);
      }
    } catch (error) {
      throw new RetryableError(
        `the connection broke after ${received} of ${total ?? '?'} bytes (${describe(error)})`,
      );
    } finally {
      out.end();
      await closed;
    }
    if (total !== undefined && received < total) {
      throw new RetryableError(`the connection closed after ${received} of ${total} bytes`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Downloads `url` to `dest` unless `dest` already exists (then only its checksum is checked). Retries and
 * resumes after network failures; removes a download whose checksum does not match.
 */
export async function downloadFile(args: DownloadArgs): Promise<void> {
  const { url, dest } = args;
  if ((await sizeOf(dest)) !== undefined) {
    if (args.md5) {
      const actual = await md5File(dest);
      if (actual !== args.md5) {
        throw new DownloadError(
          url,
          `${dest} is already there but its MD5 is ${actual}, not ${args.md5}; delete it to download again`,
        );
      }
    }
    return;
  }
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  const retries = args.retries ?? 4;
  const delay = args.retryDelayMs ?? 1000;
  const stream = args.progressStream ?? process.stderr;
  const progress = new Progress(args.progress ?? Boolean(stream.isTTY), args.label ?? 'download', stream);
  try {
    for (let tries = 0; ; tries++) {
      try {
        await attempt(args, part, metaPath, progress);
        break;
      } catch (error) {
        if (error instanceof DownloadError) throw error;
        const reason = describe(error);
        if (tries >= retries) {
          // The .part file stays: the next run resumes it.
          const status = error instanceof RetryableError ? error.status : undefined;
          throw new DownloadError(url, `${reason} (gave up after ${tries + 1} attempts)`, status);
        }
        await sleep(delay * 2 ** tries);
      }
    }
  } finally {
    progress.stop();
  }
  if (args.md5) {
    const actual = await md5File(part);
    if (actual !== args.md5) {
      await rm(part, { force: true });
      await rm(metaPath, { force: true });
      throw new DownloadError(
        url,
        `the downloaded file's MD5 is ${actual}, but ${args.md5} was expected (the file is damaged or not the one expected; the partial download was deleted)`,
      );
    }
  }
  await rename(part, dest);
  await rm(metaPath, { force: true });
}
