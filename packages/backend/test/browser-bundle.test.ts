// The browser entry (src/browser.ts, the `browser` export condition) bundles for a browser with nothing from
// Node.js: no `node:` module, no worker_threads, and not Dawn's `webgpu` package, both on its own (TensorFlow.js
// left to the page) and with TensorFlow.js's packages bundled in, as an application's bundler does.
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/browser.ts', import.meta.url));

async function bundle(external: string[]): Promise<Metafile> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    external,
    logLevel: 'silent',
  });
  return result.metafile;
}

/**
 * Inputs and imports of a bundle that come from Node.js or Dawn. A module a package's `browser` field maps to
 * false (tfjs-backend-wasm's Emscripten code names `worker_threads` and `fs` in its Node.js branches) is
 * `(disabled):…`: an empty module, nothing of Node's.
 */
function nodeOnly(metafile: Metafile): { inputs: string[]; imports: string[] } {
  const inputs = Object.keys(metafile.inputs).filter(
    (input) =>
      !input.startsWith('(disabled):') &&
      (input.startsWith('node:') ||
        input.includes('worker_threads') ||
        /node_modules\/(\.pnpm\/webgpu@|webgpu\/)/.test(input)),
  );
  const imports = Object.values(metafile.outputs)
    .flatMap((output) => output.imports.map((i) => i.path))
    .filter((path) => path.startsWith('node:') || path === 'webgpu' || path.includes('worker_threads'));
  return { inputs, imports };
}

describe('the browser entry', () => {
  it('bundles without node: modules, worker_threads or the webgpu package (TensorFlow.js the page’s own)', async () => {
    const metafile = await bundle(['@tensorflow/*']);
    const sources = Object.keys(metafile.inputs);
    expect(sources).toContain('src/browser.ts');
    // The Node-only pieces stay out: the threaded loader, the worker pool, the file:// handler, disk probing.
    for (const nodeFile of [
      'src/runtime/pool.ts',
      'src/runtime/threaded-wasm.ts',
      'src/node/',
      'src/gradients.ts',
      'src/webgpu/probe-node.ts',
    ]) {
      expect(sources.filter((source) => source.startsWith(nodeFile))).toEqual([]);
    }
    expect(nodeOnly(metafile)).toEqual({ inputs: [], imports: [] });
    // What it asks of the page: tfjs-core with its gradients and chained ops, and the three backends.
    const imports = Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path));
    expect(imports).toContain('@tensorflow/tfjs-core/dist/register_all_gradients');
    expect(imports).toContain('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops');
  });

  it('bundles with TensorFlow.js’s packages without node: modules, worker_threads or the webgpu package', async () => {
    const metafile = await bundle([]);
    expect(Object.keys(metafile.inputs).some((input) => input.includes('tfjs-backend-wasm'))).toBe(true);
    expect(nodeOnly(metafile)).toEqual({ inputs: [], imports: [] });
  });
});
