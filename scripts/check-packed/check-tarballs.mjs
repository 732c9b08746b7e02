// Checks what each packed tarball would publish: a LICENSE file, a README, the built entry points its
// manifest names (main, types and every file of `exports`, under each condition: the browser entries too), no workspace: ranges left, and no dependency on a private workspace package.
// Usage: node check-tarballs.mjs <tarball folder>
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const privatePackages = ['@resnet/testing', 'bench', 'resnet-examples'];
let problems = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const tarball = join(dir, file);
  const entries = new Set(
    execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, '')),
  );
  const manifest = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  );
  const report = (what) => {
    problems++;
    console.error(`${file}: ${what}`);
  };
  if (!entries.has('LICENSE')) report('no LICENSE file, though the manifest says ' + manifest.license);
  if (!entries.has('README.md')) report('no README.md');
  /** Every file path in an `exports` value, under every condition. */
  const exportedFiles = (value) =>
    typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap((inner) => exportedFiles(inner));
  for (const path of [manifest.main, manifest.types, ...exportedFiles(manifest.exports)]) {
    if (path && !entries.has(path.replace(/^\.\//, '')))
      report(`the manifest names ${path}, which is not in the tarball`);
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) report(`${field}.${name} is still '${range}'`);
      if (privatePackages.includes(name)) report(`${field} lists the private ${name}`);
    }
  }
  for (const entry of entries) {
    if (/\.test\.[cm]?[jt]s$/.test(entry) || entry.startsWith('test/'))
      report(`publishes a test file: ${entry}`);
  }
}
if (problems > 0) process.exit(1);
