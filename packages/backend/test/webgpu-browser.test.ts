// In a browser the webgpu backend is plain WebGPU: src/webgpu/ bundles for the browser with nothing from
// Node.js (no `node:` module) and without Dawn's `webgpu` package, which only Node.js loads, by a dynamic
// import bundlers do not follow.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

it('bundles src/webgpu for the browser without node: modules or the webgpu package', async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/webgpu/index.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    // TensorFlow.js is the page's own; the test is about what this package adds.
    external: ['@tensorflow/*'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.length).toBeGreaterThan(0);
  expect(
    inputs.filter((input) => input.startsWith('node:') || input.includes('node_modules/webgpu/')),
  ).toEqual([]);
  const imports = Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports.map((i) => i.path),
  );
  expect(imports.filter((path) => path.startsWith('node:') || path === 'webgpu')).toEqual([]);
});
