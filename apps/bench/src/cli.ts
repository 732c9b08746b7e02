// The bench's command line: `pnpm --filter bench start -- <command>`. Each command lives in its own file under
// commands/ and is registered by being exported from commands/index.ts.
import { Command, CommanderError } from 'commander';
import { normalizeArgs } from './cli-args.js';
import * as commands from './commands/index.js';

export function createProgram(): Command {
  const program = new Command('bench')
    .description(
      "The experiments of 'Identity Mappings in Deep Residual Networks' (He et al., ECCV 2016) on TensorFlow.js.\n" +
        'With no command: a short real demonstration (Table 2, original vs full pre-activation unit, reduced).',
    )
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  for (const register of Object.values(commands)) register(program);
  return program;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(normalizeArgs(argv), { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    console.error(`error: ${(error as Error).message}`);
    if (process.env['RESNET_BENCH_DEBUG']) console.error(error);
    return 1;
  }
}

const code = await main();
// WebGPU's device and Dawn's instance are released before exiting (listBackends and 'auto' probe the adapter
// even when another backend runs). navigator.gpu exists only once @resnet/backend loaded Dawn, so commands that
// never loaded TensorFlow.js (list, --help) do not load it here.
if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined) {
  const { disposeWebgpu } = await import('@resnet/backend');
  await disposeWebgpu();
}
process.exit(code);
