// Type-checks a tsconfig of the check's npm project with tsc and sorts the errors: those in TensorFlow.js's
// own declaration files (upstream; tfjs 4.22's .d.ts do not compile under `strict` with skipLibCheck off) are
// counted and listed, every other error fails. Prints a short summary on stdout.
// Usage (in the project): node check-types.mjs <tsconfig> [--no-emit]
import { spawnSync } from 'node:child_process';

const [project, ...rest] = process.argv.slice(2);
const args = ['tsc', '-p', project, '--pretty', 'false', ...(rest.includes('--no-emit') ? ['--noEmit'] : [])];
const result = spawnSync('npx', args, { encoding: 'utf8' });
const lines = `${result.stdout}${result.stderr}`.split('\n');
const errors = [];
for (const line of lines) {
  if (/^\S.*error TS\d+/.test(line)) errors.push(line);
  else if (line.startsWith(' ') && errors.length > 0) errors[errors.length - 1] += `\n${line}`;
}
const upstream = errors.filter((e) => e.startsWith('node_modules/@tensorflow/'));
const ours = errors.filter((e) => !e.startsWith('node_modules/@tensorflow/'));
if (upstream.length > 0) {
  const files = [...new Set(upstream.map((e) => e.split('(')[0]))];
  console.error(
    `${project}: ${upstream.length} errors in TensorFlow.js's own declarations (upstream): ${files.join(', ')}`,
  );
}
if (ours.length > 0 || (result.status !== 0 && errors.length === 0)) {
  console.error(
    `${project}: ${ours.length} type errors outside TensorFlow.js:\n${ours.join('\n') || lines.join('\n')}`,
  );
  process.exit(1);
}
console.log(`ok (${upstream.length} upstream tfjs errors)`);
