// The browser entry (src/browser.ts, the `default` export condition) must run without Node: its import
// graph holds no `node:` module, no Node built-in and no package but tfjs-core, seedrandom, modern-tar and
// @noble/hashes; and it turns
// CIFAR files already in memory into the same batches as in Node.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { cifarFromBuffers, computeNormalization, evalBatches, trainBatches } from '../src/browser.js';
import { PIXELS } from '../src/datasets.js';

const src = join(import.meta.dirname, '..', 'src');

/**
 * The modules a file imports at run time, followed through relative imports. `import type` and
 * `export type` are erased (the package compiles with verbatimModuleSyntax, so every type-only import says so).
 */
function runtimeGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    const statements = text.matchAll(
      /^(import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gms,
    );
    for (const match of statements) {
      const specifier = match[2] ?? match[3]!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('browser entry', () => {
  it('imports nothing from node: and no Node built-in, only tfjs-core, seedrandom, modern-tar and @noble/hashes', () => {
    const { files, packages } = runtimeGraph(join(src, 'browser.ts'));
    expect([...packages].sort()).toEqual([
      '@noble/hashes/legacy.js',
      '@noble/hashes/sha2.js',
      '@noble/hashes/utils.js',
      '@tensorflow/tfjs-core',
      'modern-tar',
      'seedrandom',
    ]);
    const builtins = new Set(builtinModules);
    for (const p of packages) expect(p.startsWith('node:') || builtins.has(p)).toBe(false);
    // The Node-only files stay out of it.
    for (const nodeOnly of [
      'read.ts',
      'load.ts',
      'download.ts',
      'integrity.ts',
      'synthetic.ts',
      'benchmark.ts',
    ]) {
      expect(files.has(join(src, nodeOnly))).toBe(false);
    }
    // The check itself sees a Node-only file's imports.
    expect(runtimeGraph(join(src, 'load.ts')).packages.has('node:fs/promises')).toBe(true);
  });

  it('is what the package exports by default, with the Node entry under the node condition', () => {
    const manifest = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8'));
    const root = manifest.exports['.'];
    expect(Object.keys(root)).toEqual(['@resnet/source', 'node', 'default']);
    expect(root.default).toEqual({ types: './dist/browser.d.ts', default: './dist/browser.js' });
    expect(root['@resnet/source']).toEqual({ node: './src/index.ts', default: './src/browser.ts' });
  });
});

describe('cifarFromBuffers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  /** CIFAR-10 records with label i % 10 and pixel bytes from the image index. */
  const records = (count: number) => {
    const out = new Uint8Array(count * (PIXELS + 1));
    for (let i = 0; i < count; i++) {
      out[i * (PIXELS + 1)] = i % 10;
      out.fill(i * 9, i * (PIXELS + 1) + 1, (i + 1) * (PIXELS + 1));
    }
    return out;
  };

  it('parses files in memory into splits that batch like files read in Node, leaking no tensor', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`).join('\n');
    const data = cifarFromBuffers({
      dataset: 'cifar10',
      train: [records(12), records(4)],
      test: records(6),
      classNames: names,
    });
    expect([data.train.size, data.test.size, data.numClasses]).toEqual([16, 6, 10]);
    expect(Array.from(data.train.labels.subarray(10, 14))).toEqual([0, 1, 0, 1]);
    expect(data.train.images[13 * PIXELS + 5]).toBe(9);
    expect(data.classNames?.[9]).toBe('c9');
    const before = tf.memory().numTensors;
    const normalization = computeNormalization(data.train);
    const source = trainBatches(data.train, { batchSize: 8, normalization, seed: 1 });
    for (let step = 0; step < 3; step++) {
      const { xs, ys } = await source.next();
      expect(xs.shape).toEqual([8, 32, 32, 3]);
      expect(ys.shape).toEqual([8]);
      tf.dispose([xs, ys]);
    }
    source.close();
    let seen = 0;
    for await (const batch of evalBatches(data.test, { batchSize: 4, normalization })) {
      seen += batch.size;
      tf.dispose([batch.xs, batch.ys]);
    }
    expect(seen).toBe(6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the buffer and the record of a bad size or label', () => {
    const cut = records(3).subarray(0, 2 * (PIXELS + 1) + 7);
    expect(() => cifarFromBuffers({ dataset: 'cifar10', train: cut, test: records(1) })).toThrow(
      /training file 1 has 6153 bytes, not a whole number of 3073-byte CIFAR-10 records: record 2/,
    );
    const bad = records(3);
    bad[2 * (PIXELS + 1)] = 12;
    expect(() => cifarFromBuffers({ dataset: 'cifar10', train: records(2), test: bad })).toThrow(
      /test file 1: record 2 \(counting from 0\) has fine label 12, outside 0–9/,
    );
  });
});
