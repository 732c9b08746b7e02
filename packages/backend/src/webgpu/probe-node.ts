// Node.js only (listBackends): asks Dawn for the WebGPU adapter in a short-lived child process, so that
// listing the backends (and 'auto', on every run) loads nothing into this process, cannot be taken down by a
// driver that crashes, and keeps Dawn's start-up warnings off this process's stderr. Not part of the browser
// path (./index.ts does not import it).
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import {
  type AdapterLike,
  dawnFlags,
  describeAdapter,
  noAdapterReason,
  reportedLimits,
  type WebgpuProbe,
  webgpuPackages,
} from './gpu.js';

/** How long the child may take to load Dawn and get an adapter. */
const PROBE_TIMEOUT_MS = 30_000;

let cached: WebgpuProbe | undefined;

/** The adapter Dawn offers here, or why there is none; `dawnEntry` is the resolved `webgpu` package entry. */
export function probeWebgpuInChild(dawnEntry: string | undefined): WebgpuProbe {
  if (cached !== undefined) return cached;
  if (dawnEntry === undefined) {
    cached = {
      ok: false,
      missing: 'package',
      reason: `the webgpu package (Dawn's Node.js bindings) is not installed (pnpm add ${webgpuPackages.dawn})`,
    };
    return cached;
  }
  const script = `
    const { create } = await import(${JSON.stringify(pathToFileURL(dawnEntry).href)});
    const adapter = await create(${JSON.stringify(dawnFlags())}).requestAdapter({ powerPreference: 'high-performance' });
    if (adapter === null) {
      console.log(JSON.stringify({ adapter: null }));
    } else {
      const info = adapter.info ?? {};
      const limits = Object.fromEntries(${JSON.stringify(reportedLimits)}.map((name) => [name, adapter.limits[name]]));
      console.log(JSON.stringify({ adapter: {
        info: { vendor: info.vendor, architecture: info.architecture, device: info.device,
                description: info.description, isFallbackAdapter: info.isFallbackAdapter },
        isFallbackAdapter: adapter.isFallbackAdapter, limits, features: [...adapter.features] } }));
    }
    process.exit(0);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
  });
  const answer = child.status === 0 ? child.stdout.trim().split('\n').at(-1) : undefined;
  if (answer === undefined) {
    const why =
      child.error !== undefined
        ? child.error.message
        : child.signal !== null
          ? `killed by ${child.signal}`
          : `exit status ${child.status}`;
    const stderr = child.stderr
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('artificially reduced'))
      .slice(-3)
      .join(' | ');
    cached = {
      ok: false,
      missing: 'adapter',
      reason: `loading Dawn to find an adapter failed (${why}): ${stderr}`,
    };
    return cached;
  }
  const { adapter } = JSON.parse(answer) as {
    adapter: Pick<AdapterLike, 'info' | 'isFallbackAdapter' | 'limits' | 'features'> | null;
  };
  cached =
    adapter === null
      ? { ok: false, missing: 'adapter', reason: noAdapterReason }
      : { ok: true, adapter: describeAdapter(adapter, 'node') };
  return cached;
}
