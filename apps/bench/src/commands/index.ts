// Every command of the bench CLI. Adding a command is one line here: export its registrar.
export { analyzeCommand } from './analyze.js';
export { backendsCommand } from './backends.js';
export { dataBenchCommand } from './data-bench.js';
export { demoCommand } from './demo.js';
export { listCommand } from './list.js';
export { paramsCommand } from './params.js';
export { perfCommand } from './perf.js';
export { planCommand } from './plan.js';
export { enqueueCommand, statusCommand, workerCommand } from './queue.js';
export { reportCommand } from './report.js';
export { runCommand } from './run.js';
