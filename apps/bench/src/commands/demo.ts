// `demo` (also what runs with no command): a short, real experiment on CIFAR-10: Table 1's identity shortcut
// against constant scaling λ = 0.5 on a net deep enough for eq. 8 to bite, sized to minutes on 2 CPU cores,
// then the report.
import { type Command, Option } from 'commander';
import { defaultOut } from './shared.js';

/** Table 1's identity shortcut (6.61%) against λ = 0.5 on the shortcut (fail). */
export const DEMO_TABLE = 1;
export const DEMO_ROWS = ['original', 'scale-0.5-1'];

export function demoCommand(program: Command): Command {
  return program
    .command('demo')
    .description(
      "the default: Table 1's identity shortcut vs constant scaling 0.5, reduced to minutes on CIFAR-10",
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
          table: DEMO_TABLE,
          rows: DEMO_ROWS,
          scale: 'demo',
          backend: options.backend,
          out: options.out,
          handleSignals: true,
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        });
        console.log(`\nreport: ${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
        console.log(`demo took ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        if (outcome.status === 'interrupted') process.exitCode = 130;
      },
    );
}
