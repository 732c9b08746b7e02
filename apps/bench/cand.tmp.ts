import { runTable } from './src/runner.js';
const [table, rows, out] = [Number(process.argv[2]), process.argv[3]!.split(','), process.argv[4]!];
const o = await runTable({ table, rows, scale: 'demo', backend: 'wasm', out, dataDir: '/work/shared/data/cifar-10-batches-bin', progress: 'lines' });
console.log(o.report.markdown);
