// Test helpers: temporary folders and a real HTTP server on loopback that serves files the way a web server
// does (Content-Length, ETag, Range requests) or misbehaves on purpose.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Resolves once the file at `path` holds at least one byte (polled; gives up after `timeoutMs`). */
export async function fileHasBytes(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (size > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `data-cifar-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** How the server answers requests for a path. */
export type Behaviour =
  /** The file, with Range support. */
  | { kind: 'file'; body: Buffer; ignoreRange?: boolean }
  /** A status code and a short text body. */
  | { kind: 'status'; status: number }
  /**
   * Announces the whole length, sends `cutAt` bytes and drops the connection, `times` times; then serves the
   * file. The drop waits for `until` where given (e.g. until the client has written some bytes to disk: a
   * client that has not read them when the connection breaks loses them, so a test of resuming needs that).
   */
  | { kind: 'drop'; body: Buffer; cutAt: number; times: number; until?: () => Promise<void> }
  /** Like 'drop', but keeps the connection open and silent instead of closing it. */
  | { kind: 'stall'; body: Buffer; cutAt: number; times: number };

export interface LoggedRequest {
  path: string;
  range?: string;
  ifRange?: string;
}

export interface LoopbackServer {
  url(path: string): string;
  set(path: string, behaviour: Behaviour): void;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

export async function startServer(): Promise<LoopbackServer> {
  const routes = new Map<string, Behaviour>();
  const requests: LoggedRequest[] = [];
  const etag = '"synthetic-archive-v1"';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    const route = routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (route.kind === 'status') {
      res.writeHead(route.status, { 'content-type': 'text/plain' }).end('failure on purpose');
      return;
    }
    if (route.kind === 'stall' && route.times > 0) {
      route.times--;
      res.writeHead(200, { 'content-length': route.body.length, etag });
      res.write(route.body.subarray(0, route.cutAt));
      return;
    }
    if (route.kind === 'drop' && route.times > 0) {
      route.times--;
      res.writeHead(200, { 'content-length': route.body.length, etag });
      const { until } = route;
      res.write(route.body.subarray(0, route.cutAt), () => {
        // Give the bytes time to leave (or the client time to take them), then cut the connection mid-body.
        const cut = () => res.socket?.destroy();
        if (until) until().then(cut, cut);
        else setTimeout(cut, 20);
      });
      return;
    }
    const body = route.body;
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ignoreRange = route.kind === 'file' && route.ignoreRange;
    if (match && !ignoreRange) {
      const start = Number(match[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': body.length - start,
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        etag,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, etag });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, behaviour) => routes.set(path, behaviour),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
