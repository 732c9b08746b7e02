// The bench's command line: `pnpm --filter bench start -- <command>`. Each command lives in its own file under
// commands/ and is registered by being exported from commands/index.ts.
import { Command, CommanderError } from 'commander';
import { normalizeArgs } from './cli-args.js';
import * as commands from './commands/index.js';
import { conciseMessage, exitOnEscapedErrors } from './process-errors.js';

// Before anything loads TensorFlow.js: an error that escapes is printed as one line (see process-errors.ts).
exitOnEscapedErrors();

/** Commands that take --allow-unofficial-data. */
const TAKES_UNOFFICIAL = new Set(['run', 'demo']);

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

/**
 * The message of a failed command. A data error from any command is worded with the CLI's flags, never the
 * library's option names (loaded only then: data-cifar brings TensorFlow.js, which `list` should not wait for).
 */
async function describeError(error: unknown, command: string): Promise<string> {
  if (error instanceof Error && error.name === 'CifarDataError') {
    const { CifarDataError } = await import('@resnet/data-cifar');
    const { cliDataMessage } = await import('./data.js');
    if (error instanceof CifarDataError) {
      return cliDataMessage(error, error.dataset ?? 'cifar10', { allowFlag: TAKES_UNOFFICIAL.has(command) });
    }
  }
  return conciseMessage(error);
}

/**
 * Resolves once everything written to `stream` so far has been handed to the system. A pipe takes 64 KiB
 * and the rest waits in Node's buffer while the reader is slow; `process.exit()` would drop it.
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const program = createProgram();
  const args = normalizeArgs(argv);
  try {
    await program.parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    console.error(`error: ${await describeError(error, args[0] ?? '')}`);
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
await drained(process.stdout);
await drained(process.stderr);
process.exit(code);
