// `analyze gradients`: the paper's eq. 5 and eq. 8 made visible. For each Table 1 shortcut variant at
// initialisation, the norm of the loss gradient with respect to every Residual Unit's input, last unit to first.
import { join } from 'node:path';
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import { backendChoices, parseList, parsePositiveInt, runsRoot } from './shared.js';

export function analyzeCommand(program: Command): Command {
  const analyze = program
    .command('analyze')
    .description('analyses of the networks (see `analyze gradients`)');
  analyze
    .command('gradients')
    .description(
      "for each Table 1 shortcut variant at initialisation, ‖∂E/∂x_l‖ for every unit's input, last unit to first",
    )
    .option('--depth <d>', 'network depth (6n+2, original basic unit as in Table 1)', parsePositiveInt, 56)
    .option('--batch <n>', 'images in the batch', parsePositiveInt, 16)
    .option('--rows <ids>', 'Table 1 row ids (see `list`); default all', parseList)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .option('--data-dir <dir>', 'use real CIFAR-10 test images from this folder instead of synthetic ones')
    .option('--out <dir>', 'where the plot goes', join(runsRoot(), 'analysis'))
    .option('--seed <n>', 'seed of the weights and the images', parsePositiveInt, 1)
    .option('--json', 'print, per variant, the per-unit norms and the ratio first unit / last unit')
    .action(
      async (options: {
        depth: number;
        batch: number;
        backend: BackendChoice;
        dataDir?: string;
        out: string;
        seed: number;
        rows?: string[];
        json?: boolean;
      }) => {
        const { analyzeGradients, formatGradientTable, writeGradientPlot } = await import('../gradients.js');
        const analysis = await analyzeGradients({
          depth: options.depth,
          batchSize: options.batch,
          backend: options.backend,
          seed: options.seed,
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
          ...(options.rows ? { rows: options.rows } : {}),
        });
        const plot = await writeGradientPlot(analysis, options.out);
        if (options.json) {
          console.log(JSON.stringify(analysis, null, 2));
          return;
        }
        console.log(formatGradientTable(analysis));
        console.log(`\nplot: ${plot}`);
      },
    );
  return analyze;
}
