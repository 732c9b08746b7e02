#!/usr/bin/env node
// Builds the GPU check's folder (default <repo>/.gpu-check, ignored by git): everything run.sh needs on a machine
// that has a GPU driver and python3 with PyTorch but no Node.js, no network and no node_modules:
//   app/bench.mjs, app/check.mjs   the bench CLI and ./check.ts, bundled by esbuild (tfjs and Dawn left out)
//   app/assets/                    files the sources read beside themselves (kernels.wasm, perf_reference.py)
//   node_modules/                  the TensorFlow.js packages' files Node.js loads (one copy of tfjs-core for
//                                  every importer), tfjs's wasm files, Dawn's webgpu package with dawn.node (xz)
//   vendor/tfjs-core-extras.cjs    @resnet/backend's bundle of tfjs-core's gradients (required from ../vendor)
//   node.xz                        this machine's Node.js binary, xz-compressed
//   debs/                          libvulkan1 and the GL/EGL dispatch libraries (Debian 12 amd64), for a machine
//                                  that has the NVIDIA driver's Vulkan ICD but no loader
//   run.sh, manifest.json
// Usage: node scripts/gpu-check/build.mjs [folder]. It builds into a temporary folder and renames it at the end,
// so an interrupted build never leaves a folder that looks complete; an existing folder is replaced only if
// this script made it (it holds manifest.json with "gpuCheck": true).
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bench = join(root, 'apps/bench');
const target = resolve(process.argv[2] ?? join(root, '.gpu-check'));
const staging = `${target}.tmp-${process.pid}`;
/** The folder must fit the device machine's carry limit (64 MiB with the working tree). */
const LIMIT_MIB = 60;

if (process.platform !== 'linux' || process.arch !== 'x64') {
  throw new Error(
    `build.mjs: the GPU machine is linux-x64; build on linux-x64 (this is ${process.platform}-${process.arch})`,
  );
}
if (existsSync(target)) {
  const manifest = join(target, 'manifest.json');
  if (!existsSync(manifest) || JSON.parse(readFileSync(manifest, 'utf8')).gpuCheck !== true) {
    throw new Error(
      `build.mjs: ${target} exists and was not made by this script; remove it or name another folder`,
    );
  }
}
// esbuild does not type-check: check.ts (which no workspace package's typecheck covers) is checked here.
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'scripts/gpu-check')],
  {
    stdio: 'inherit',
  },
);
const { build } = await import('esbuild');
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(staging, 'app/assets'), { recursive: true });

try {
  // 1. The bench and the check program, bundled. `new URL('<relative>', import.meta.url)` in the sources names
  // a file beside the source; the bundle lives elsewhere, so each such file is copied to app/assets/.
  const assets = new Map();
  const assetPlugin = {
    name: 'relative-assets',
    setup(plugin) {
      plugin.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        let source = readFileSync(args.path, 'utf8');
        source = source.replace(
          /new URL\((['"])(\.\.?\/[^'"]+)\1, import\.meta\.url\)/g,
          (_, _quote, rel) => {
            const file = resolve(dirname(args.path), rel);
            if (!existsSync(file))
              throw new Error(`build.mjs: ${args.path} names ${rel}, which does not exist`);
            const name = basename(file);
            if (assets.has(name) && assets.get(name) !== file)
              throw new Error(`build.mjs: two assets named ${name}`);
            assets.set(name, file);
            return `new URL('./assets/${name}', import.meta.url)`;
          },
        );
        return { contents: source, loader: 'ts' };
      });
    },
  };
  await build({
    entryPoints: { bench: join(bench, 'src/cli.ts'), check: join(root, 'scripts/gpu-check/check.ts') },
    outdir: join(staging, 'app'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@resnet/source'],
    // scripts/ is no workspace package: its imports resolve as the bench's do.
    nodePaths: [join(bench, 'node_modules')],
    // One copy of TensorFlow.js for every importer, CommonJS ones included (our sources load some with
    // createRequire): tfjs stays a package in node_modules/, and so does Dawn's native addon.
    external: ['@tensorflow/*', 'webgpu'],
    // CommonJS dependencies bundled into ESM call require() for Node.js's own modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    plugins: [assetPlugin],
    logLevel: 'warning',
  });
  for (const [name, file] of assets) copyFileSync(file, join(staging, 'app/assets', name));
  // @resnet/backend's gradients.ts requires '../vendor/tfjs-core-extras.cjs' beside its folder: from app/.
  mkdirSync(join(staging, 'vendor'));
  copyFileSync(
    join(root, 'packages/backend/vendor/tfjs-core-extras.cjs'),
    join(staging, 'vendor/tfjs-core-extras.cjs'),
  );

  // 2. node_modules: every file Node.js loads for the TensorFlow.js packages the sources import (read off
  // require.cache after loading them), flattened to node_modules/<name>/, plus the files they read at run time.
  const entries = [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js',
  ];
  const loaded = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '-e',
        // From @resnet/backend, which depends on every one of them (its sources load them).
        `const r = require('node:module').createRequire(${JSON.stringify(join(root, 'packages/backend/package.json'))});
         for (const e of ${JSON.stringify(entries)}) r(e);
         console.log(JSON.stringify(Object.keys(require.cache)));`,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    ),
  );
  const benchRequire = createRequire(join(bench, 'package.json'));
  const packageRoots = new Map();
  const copyInto = (file) => {
    const at = file.lastIndexOf(`${sep}node_modules${sep}`);
    if (at === -1) return;
    const rel = file.slice(at + `${sep}node_modules${sep}`.length);
    const parts = rel.split(sep);
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    const packageRoot = file.slice(0, at + `${sep}node_modules${sep}`.length) + name;
    const known = packageRoots.get(name);
    if (known !== undefined && known !== packageRoot) {
      throw new Error(
        `build.mjs: two copies of ${name} are loaded (${known}, ${packageRoot}); node_modules/ holds one`,
      );
    }
    packageRoots.set(name, packageRoot);
    const destination = join(staging, 'node_modules', rel);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(file, destination);
  };
  for (const file of loaded) copyInto(file);
  for (const [name, packageRoot] of packageRoots) {
    copyFileSync(join(packageRoot, 'package.json'), join(staging, 'node_modules', name, 'package.json'));
  }
  const wasmRoot = dirname(benchRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  for (const folder of ['dist', 'wasm-out']) {
    for (const file of readdirNames(join(wasmRoot, folder))) {
      if (
        file.endsWith('.wasm') ||
        file.endsWith('.worker.js') ||
        (folder === 'wasm-out' && file.endsWith('.js'))
      ) {
        copyInto(join(wasmRoot, folder, file));
      }
    }
  }
  // Dawn: the package's entry (it loads dist/<platform>-<arch>/dawn.node beside itself) and the linux-x64 addon,
  // xz-compressed (run.sh expands it).
  const webgpuRoot = dirname(benchRequire.resolve('webgpu/package.json'));
  const webgpuOut = join(staging, 'node_modules/webgpu');
  mkdirSync(join(webgpuOut, 'dist/linux-x64'), { recursive: true });
  for (const file of ['package.json', 'index.js', 'LICENSE.md'])
    copyFileSync(join(webgpuRoot, file), join(webgpuOut, file));
  xz(join(webgpuRoot, 'dist/linux-x64/dawn.node'), join(webgpuOut, 'dist/linux-x64/dawn.node.xz'));

  // 3. Node.js itself, compressed.
  xz(process.execPath, join(staging, 'node.xz'));

  // 4. The Vulkan loader and the GL/EGL dispatch libraries, as Debian packages (apt's cache: apt-get update first).
  const debs = join(staging, 'debs');
  mkdirSync(debs);
  const packages = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
  execFileSync('apt-get', ['download', ...packages], { cwd: debs, stdio: ['ignore', 'ignore', 'inherit'] });

  // 5. The script that runs there, and what this folder holds.
  copyFileSync(join(root, 'scripts/gpu-check/run.sh'), join(staging, 'run.sh'));
  execFileSync('chmod', ['+x', join(staging, 'run.sh')]);
  const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
  const sizeMiB = Number(execFileSync('du', ['-sb', staging], { encoding: 'utf8' }).split('\t')[0]) / 2 ** 20;
  const versions = Object.fromEntries(
    [...packageRoots].map(([name, packageRoot]) => [
      name,
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version,
    ]),
  );
  versions.webgpu = JSON.parse(readFileSync(join(webgpuRoot, 'package.json'), 'utf8')).version;
  writeFileSync(
    join(staging, 'manifest.json'),
    `${JSON.stringify({ gpuCheck: true, commit, built: new Date().toISOString(), node: process.version, sizeMiB, versions, debs: packages }, null, 2)}\n`,
  );
  if (sizeMiB > LIMIT_MIB)
    throw new Error(`build.mjs: the folder is ${sizeMiB.toFixed(1)} MiB, over ${LIMIT_MIB} MiB`);
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  console.log(`${relative(process.cwd(), target) || '.'}: ${sizeMiB.toFixed(1)} MiB (commit ${commit})`);
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  throw error;
}

function readdirNames(folder) {
  return existsSync(folder) ? readdirSync(folder) : [];
}

function xz(source, destination) {
  writeFileSync(destination, execFileSync('xz', ['-c', '-6', '-T2', source], { maxBuffer: 1 << 30 }));
}
