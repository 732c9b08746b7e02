// `analyze gradients`: the paper's eqs. 4, 5 and 8 made visible. For each Table 1 shortcut variant (and
// λ = 2) on a pre-activation net at initialisation: the per-element RMS of ∂E/∂x_l and of its shortcut term
// at every unit of each stage (see ../gradients.ts).
import { join } from 'node:path';
import type { BackendChoice } from '@resnet/backend';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { backendChoices, parseList, parsePositiveInt, runsRoot } from './shared.js';

function parseUnit(value: string): 'basic' | 'bottleneck' {
  if (value !== 'basic' && value !== 'bottleneck') {
    throw new InvalidArgumentError(`expected 'basic' or 'bottleneck', got '${value}'`);
  }
  return value;
}

export function analyzeCommand(program: Command): Command {
  const analyze = program
    .command('analyze')
    .description('analyses of the networks (see `analyze gradients`)');
  analyze
    .command('gradients')
    .description(
      'for each Table 1 shortcut variant (and λ = 2) on a pre-activation net at initialisation, the per-element ' +
        'RMS of ∂E/∂x_l and of its shortcut term (∂E/∂x_L through the shortcuts alone) at every unit of a stage',
    )
    .option('--depth <d>', 'network depth: 6n+2 (basic) or 9n+2 (bottleneck)', parsePositiveInt, 110)
    .option(
      '--unit <u>',
      'basic or bottleneck; default the paper’s for the depth (bottleneck for 164 and 1001)',
      parseUnit,
    )
    .option('--batch <n>', 'images in the batch', parsePositiveInt, 8)
    .option('--variants <ids>', 'Table 1 row ids and scale-2-1 (see `list`); default all', parseList)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .option('--data-dir <dir>', 'use real CIFAR-10 test images from this folder instead of synthetic ones')
    .option('--out <dir>', 'where the figure goes', join(runsRoot(), 'analysis'))
    .option('--seed <n>', 'seed of the weights and the images', parsePositiveInt, 1)
    .option(
      '--json',
      'print the analysis as JSON: per variant { id, shortcutTerm, shortcutFactor, total, … }',
    )
    .action(
      async (options: {
        depth: number;
        unit?: 'basic' | 'bottleneck';
        batch: number;
        backend: BackendChoice;
        dataDir?: string;
        out: string;
        seed: number;
        variants?: string[];
        json?: boolean;
      }) => {
        const { analyzeGradients, formatGradientTable, writeGradientFigure } = await import(
          '../gradients.js'
        );
        const analysis = await analyzeGradients({
          depth: options.depth,
          batchSize: options.batch,
          backend: options.backend,
          seed: options.seed,
          ...(options.unit ? { unit: options.unit } : {}),
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
          ...(options.variants ? { variants: options.variants } : {}),
          // Progress on stderr, so that --json's stdout stays one JSON document.
          onVariant: (v, seconds) =>
            console.error(
              `${v.id}: shortcut factor ${v.shortcutFactor.toPrecision(4)} (${seconds.toFixed(1)} s)`,
            ),
        });
        const figure = await writeGradientFigure(analysis, options.out);
        if (options.json) {
          console.log(JSON.stringify(analysis, null, 2));
          return;
        }
        console.log(formatGradientTable(analysis));
        console.log(`\nfigure: ${figure}`);
      },
    );
  return analyze;
}
