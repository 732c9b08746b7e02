// `demo` (also what runs with no command): a short, real experiment: Table 2's original and full
// pre-activation units at ResNet-8, 300 iterations on CIFAR-10 (sized to minutes on 2 CPU cores), then the report.
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { defaultOut } from './shared.js';

/** Table 2's first and last rows at ResNet-110: the original unit against full pre-activation. */
export const DEMO_ROWS = ['original-110', 'full-preact-110'];

export function demoCommand(program: Command): Command {
  return program
    .command('demo')
    .description(
      "the default: Table 2's original vs full pre-activation unit, reduced to minutes on CIFAR-10",
    )
    .option('--data-dir <dir>', 'a local copy of cifar-10-batches-bin (or set RESNET_CIFAR10_DIR)')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend')
        .choices(['auto', 'tensorflow', 'wasm', 'cpu'])
        .default('auto'),
    )
    .option('--out <dir>', 'where runs and the report go', defaultOut('demo'))
    .action(
      async (options: { dataDir?: string; backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu'; out: string }) => {
        const started = Date.now();
        const { runTable } = await import('../runner.js');
        const outcome = await runTable({
          table: 2,
          rows: DEMO_ROWS,
          scale: 'demo',
          backend: options.backend,
          out: options.out,
          handleSignals: true,
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        });
        console.log(`\nreport: ${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
        if (outcome.status !== 'interrupted') {
          // The gradient figure of eqs. 5 and 8 (`analyze gradients` at ResNet-56: seconds), beside the report.
          const { writeDemoGradientFigure } = await import('../gradients.js');
          const figure = await writeDemoGradientFigure(dirname(outcome.report.reportPath), {
            backend: options.backend,
          });
          console.log(`gradient figure (eqs. 5 and 8, pre-activation ResNet-56): ${figure.path}`);
        }
        console.log(`demo took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        if (outcome.status === 'interrupted') process.exitCode = 130;
      },
    );
}
