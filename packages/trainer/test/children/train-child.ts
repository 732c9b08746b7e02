// A training run in its own process, for the tests that signal or kill it. Prints every metrics record and
// then the result as JSON lines on stdout.
//   train-child.ts <runDir> tiny|big
import { train } from '../../src/index.js';
import { bigModel, RandomSource, setupBackend, tinyConvNet } from '../helpers.js';

const [runDir, size] = process.argv.slice(2);
if (!runDir || (size !== 'tiny' && size !== 'big')) {
  throw new Error('usage: train-child.ts <runDir> tiny|big');
}
await setupBackend();
const model = size === 'big' ? bigModel() : tinyConvNet({ name: 'child' });
const result = await train({
  model,
  data: new RandomSource(),
  iterations: 100_000,
  runDir,
  checkpointEvery: size === 'big' ? 1 : 5,
  handleSignals: true,
  resume: true,
  seed: 1,
  progress: 'none',
  callbacks: { onLog: (record) => console.log(JSON.stringify(record)) },
});
console.log(JSON.stringify({ type: 'result', result }));
