// `plan --table N`: the jobs a table is made of at a scale, one per row and run, with their ids, seeds and run
// folders (deterministic: every machine lists the same), or one share of them (--task K --tasks N).
import type { Command } from 'commander';
import {
  addPlanOptions,
  addShareOptions,
  type PlanOptions,
  planArgsOf,
  type ShareOptions,
  shareOf,
} from './plan-options.js';
import { defaultOut, RUNS_ROOT } from './shared.js';

export function planCommand(program: Command): Command {
  const command = program
    .command('plan')
    .description("list a table's jobs (one per row and run) as `run` would train them, or one share of them");
  addPlanOptions(command);
  addShareOptions(command);
  return command
    .option('--out <dir>', `the output folder the run folders are in (default: ${RUNS_ROOT}/<scale>)`)
    .option('--json', 'print the jobs as a JSON array')
    .action(async (options: PlanOptions & ShareOptions & { out?: string; json?: boolean }) => {
      const { join } = await import('node:path');
      const { jobShare, planJobs } = await import('../jobs/plan.js');
      const out = options.out ?? defaultOut(options.scale);
      const all = planJobs(planArgsOf(options));
      const share = await shareOf(options);
      const jobs = share ? jobShare(all, share.task, share.tasks) : all;
      const rows = jobs.map((job) => ({
        id: job.id,
        table: job.table,
        row: job.row,
        run: job.run,
        seed: job.seed,
        preset: job.preset,
        scale: job.scale,
        dataset: job.data === 'synthetic' ? 'synthetic' : job.dataset,
        dir: join(out, job.folder),
      }));
      if (options.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      const header = share ? `share ${share.task} of ${share.tasks} (${share.source}): ` : '';
      console.log(`${header}${jobs.length} of ${all.length} job(s)`);
      for (const row of rows) {
        console.log(
          `${row.id.padEnd(44)} seed ${String(row.seed).padEnd(4)} ${row.preset.padEnd(26)} ${row.dir}`,
        );
      }
    });
}
