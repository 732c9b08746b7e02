// `demo` (also what runs with no command): a short, real experiment on CIFAR-10: Table 2's original unit
// against the full pre-activation unit on a net deep enough (ResNet-56) for the original's slow start to show
// (the paper's Sec. 4.1, Fig. 1 right), sized to minutes on 2 CPU cores, then the report with the gradient
// figure of eqs. 5 and 8.
import { basename } from 'node:path';
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import { DEFAULT_GRACE_SECONDS } from '../jobs/stop.js';
import { ALLOW_UNOFFICIAL_HELP, backendChoices, defaultOut } from './shared.js';

/**
 * Table 2's first and last rows: the original unit against full pre-activation. The paper reports both as
 * working (6.61% and 6.37% at ResNet-110), so neither can be labelled 'fail' unless it diverges: the original
 * is the reference row, and pre-activation is judged against it.
 */
export const DEMO_TABLE = 2;
export const DEMO_ROWS = ['original-110', 'full-preact-110'];

export function demoCommand(program: Command): Command {
  return program
    .command('demo')
    .description(
      "the default: Table 2's original vs full pre-activation unit at ResNet-56, reduced to minutes on CIFAR-10",
    )
    .option('--data-dir <dir>', 'a local copy of cifar-10-batches-bin (or set RESNET_CIFAR10_DIR)')
    .option('--allow-unofficial-data', ALLOW_UNOFFICIAL_HELP)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .option('--out <dir>', 'where runs and the report go', defaultOut('demo'))
    .action(
      async (options: {
        dataDir?: string;
        allowUnofficialData?: boolean;
        backend: BackendChoice;
        out: string;
      }) => {
        const started = Date.now();
        const { runTable } = await import('../runner.js');
        const { superviseSignals } = await import('./supervise.js');
        await superviseSignals(DEFAULT_GRACE_SECONDS, async (stop) => {
          const outcome = await runTable({
            table: DEMO_TABLE,
            rows: DEMO_ROWS,
            scale: 'demo',
            backend: options.backend,
            out: options.out,
            stop,
            ...(options.dataDir ? { dataDir: options.dataDir } : {}),
            ...(options.allowUnofficialData ? { allowUnofficialData: true } : {}),
            // Shown below the training curves once both runs finished: the gradient figure of eqs. 5 and 8
            // (`analyze gradients` at pre-activation ResNet-56, at initialisation: seconds).
            figures: async (reportDir) => {
              const { writeDemoGradientFigure } = await import('../gradients.js');
              const figure = await writeDemoGradientFigure(reportDir, { backend: options.backend });
              return [
                {
                  file: basename(figure.path),
                  alt: 'per-element RMS of the gradient and of its shortcut term at each unit, per shortcut variant',
                  caption:
                    'Eqs. 5 and 8 at initialisation (pre-activation ResNet-56): the identity shortcut carries ∂E/∂x_L unchanged to every unit of a stage; λ = 0.5 shrinks that term by 0.5 per unit. See `analyze gradients`.',
                },
              ];
            },
          });
          console.log(`\nreport: ${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
          console.log(`demo took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        });
      },
    );
}
