// `list`: every table and row with the preset it trains, its dataset, the paper's error and the reference row
// it is judged against at reduced scales.
import type { Command } from 'commander';
import { formatPaperError, tables } from '../experiments.js';

export function listCommand(program: Command): Command {
  return program
    .command('list')
    .description('every table and row, with the preset it uses')
    .option('--json', 'print the rows as JSON')
    .action((options: { json?: boolean }) => {
      if (options.json) {
        console.log(JSON.stringify(tables, null, 2));
        return;
      }
      for (const table of tables) {
        console.log(`\n${table.title}`);
        const width = Math.max(...table.rows.map((r) => r.id.length));
        const presetWidth = Math.max(...table.rows.map((r) => r.preset.length));
        for (const row of table.rows) {
          const only = row.scales ? `  [${row.scales.join(', ')} scale only]` : '';
          const reference = row.reference === row.id ? 'reference' : `vs ${row.reference}`;
          console.log(
            `  ${row.id.padEnd(width)}  ${row.preset.padEnd(presetWidth)}  ${row.dataset.padEnd(8)}  paper ${formatPaperError(row).padEnd(19)}  ${reference.padEnd(width + 3)}  ${row.label}${only}`,
          );
        }
      }
    });
}
