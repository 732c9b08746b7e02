// `demo` (also what runs with no command): a short, real experiment: Table 2's original and full
// pre-activation units at ResNet-8, 300 iterations on CIFAR-10 (sized to minutes on 2 CPU cores), then the report.
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import { ALLOW_UNOFFICIAL_HELP, backendChoices, defaultOut, interruptedExitCode } from './shared.js';

/** Table 2's first and last rows at ResNet-110: the original unit against full pre-activation. */
export const DEMO_ROWS = ['original-110', 'full-preact-110'];

export function demoCommand(program: Command): Command {
  return program
    .command('demo')
    .description(
      "the default: Table 2's original vs full pre-activation unit, reduced to minutes on CIFAR-10",
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
        // pnpm ends at once on a SIGTERM sent to it alone: then stop as if the SIGTERM had come here.
        const { packageManagerAncestor, stopWhenGone } = await import('../parent-watch.js');
        const unwatch = stopWhenGone(packageManagerAncestor());
        const outcome = await runTable({
          table: 2,
          rows: DEMO_ROWS,
          scale: 'demo',
          backend: options.backend,
          out: options.out,
          handleSignals: true,
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
          ...(options.allowUnofficialData ? { allowUnofficialData: true } : {}),
        });
        unwatch();
        console.log(`\nreport: ${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
        console.log(`demo took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        // 128 + the signal's number, the shells' convention: 130 for SIGINT (Ctrl-C), 143 for SIGTERM; an
        // interruption with no signal (an abort) is 130 too. The runs stay resumable.
        if (outcome.status === 'interrupted') process.exitCode = interruptedExitCode(outcome.signal);
      },
    );
}
