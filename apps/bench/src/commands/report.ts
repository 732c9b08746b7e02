// `report`: rebuilds the tables' report.md and plots from the runs already on disk.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { tables } from '../experiments.js';
import { prepareOutputFolder } from '../files.js';
import { writeTableReport } from '../report.js';
import { tableDir } from '../run-files.js';
import { RUNS_ROOT, runsRoot } from './shared.js';

function tablesIn(out: string): number[] {
  return tables.filter((t) => existsSync(tableDir(out, t.table))).map((t) => t.table);
}

export function reportCommand(program: Command): Command {
  return program
    .command('report')
    .description('rebuild the reports from the results already on disk')
    .option('--out <dir>', `the folder the runs were written to (default: every ${RUNS_ROOT}/<scale>)`)
    .action(async (options: { out?: string }) => {
      const root = runsRoot();
      const outs = options.out
        ? [options.out]
        : existsSync(root)
          ? readdirSync(root).map((name) => join(root, name))
          : [];
      const found = outs.flatMap((out) => tablesIn(out).map((table) => ({ out, table })));
      if (found.length === 0) {
        const where = options.out ?? `${root}/<scale>`;
        throw new Error(
          `no results under ${where}: run \`run --table N\` first, or pass --out <the folder it wrote to>`,
        );
      }
      for (const { out, table } of found) {
        // The report is rewritten in place: say so plainly when the folder cannot be written.
        await prepareOutputFolder(out);
        const report = await writeTableReport(out, table);
        console.log(`${report.reportPath}\n\n${report.markdown}`);
      }
    });
}
