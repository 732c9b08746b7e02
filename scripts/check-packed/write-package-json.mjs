// Prints the package.json of the check's fresh npm project: the examples' dependencies, with each @resnet
// package taken from its packed tarball and everything else from the npm registry at the workspace's ranges.
// Usage: node write-package-json.mjs <workspace root> <tarball folder>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, tarballs] = process.argv.slice(2);
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const examples = read(join(root, 'examples', 'package.json'));
const rootManifest = read(join(root, 'package.json'));

const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'));
const tarballOf = (name) => {
  const stem = name.replace('@', '').replace('/', '-'); // @resnet/models → resnet-models-0.1.0.tgz
  const file = files.find((f) => f.startsWith(`${stem}-`) && /^\d/.test(f.slice(stem.length + 1)));
  if (!file) throw new Error(`no tarball for ${name} in ${tarballs} (have: ${files.join(', ')})`);
  return `file:${join(tarballs, file)}`;
};

const dependencies = {};
for (const [name, range] of Object.entries(examples.dependencies)) {
  dependencies[name] = name.startsWith('@resnet/') ? tarballOf(name) : range;
}
console.log(
  JSON.stringify(
    {
      name: 'resnet-packed-check',
      private: true,
      type: 'module',
      dependencies,
      devDependencies: {
        '@types/node': rootManifest.devDependencies['@types/node'],
        typescript: rootManifest.devDependencies.typescript,
        // The browser example's bundler and the driver of the system's Chromium (no browser download).
        vite: '^8.3.8',
        'playwright-core': '^1.65.1',
      },
    },
    null,
    2,
  ),
);
