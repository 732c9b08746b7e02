// `perf`: training and inference speed of whole networks on the active TensorFlow.js backend, with an optional
// PyTorch reference run in the same invocation, so that a ratio ours/PyTorch is measured side by side on the
// same machine. The command line only; the measurement lives in ../perf/.
import { cpus } from 'node:os';
import type { BackendChoice } from '@resnet/backend';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { modelConfig } from '../perf/models.js';
import { runPerf } from '../perf/run.js';
import { formatTable } from '../perf/table.js';
import type { PerfOptions } from '../perf/types.js';
import { backendChoices, parseList, parsePositiveInt } from './shared.js';

function parseBackend(value: string): BackendChoice {
  if (!(backendChoices as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${backendChoices.join(', ')}, got '${value}'`);
  return value as BackendChoice;
}

function parseModels(value: string): string[] {
  const names = parseList(value);
  for (const name of names) {
    try {
      modelConfig(name);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  return names;
}

/** Registers `perf` on the bench CLI. */
export function perfCommand(program: Command): Command {
  return program
    .command('perf')
    .description(
      'training and inference images/s of whole networks (median step after warm-up), peak memory, and with ' +
        '--vs-pytorch the same measurement in PyTorch on the same machine and the ratio ours/PyTorch',
    )
    .option(
      '--models <presets>',
      'comma-separated presets of @resnet/models (or preact-resnet<depth>)',
      parseModels,
      ['preact-resnet20', 'preact-resnet110'],
    )
    .option('--batch <n>', 'mini-batch size', parsePositiveInt, 128)
    .addOption(
      new Option('--backend <name>', backendChoices.join(' | ')).default('auto').argParser(parseBackend),
    )
    .option('--steps <n>', 'timed steps per measurement (the median is reported)', parsePositiveInt, 5)
    .option('--warmup <n>', 'untimed steps before timing', parsePositiveInt, 2)
    .option(
      '--rounds <n>',
      'measurements per model, alternating with PyTorch under --vs-pytorch; medians are reported',
      parsePositiveInt,
      1,
    )
    .option('--threads <n>', 'wasm threads (default: every core, at most 8)', parsePositiveInt)
    .option(
      '--stock',
      'tfjs as shipped: composed BN gradient, copying Identity, no native kernels, single-threaded wasm',
      false,
    )
    .option('--vs-pytorch', 'also run the PyTorch reference (python3 with torch) and print the ratio', false)
    .option('--python <paths>', 'Python interpreters to try for --vs-pytorch', parseList, [
      'python3',
      '/usr/bin/python3',
    ])
    .option('--pytorch-device <device>', 'torch device of the PyTorch reference: cpu, cuda, cuda:1, …', 'cpu')
    .option(
      '--profile',
      'also time each kernel of one training step (tf.profile) and print the slowest',
      false,
    )
    .option('--json', 'print the results as a JSON array', false)
    .action(async (raw: PerfOptions & { json: boolean }) => {
      const options: PerfOptions = { ...raw, threads: raw.stock ? 1 : raw.threads };
      const results = await runPerf(options, raw.json ? undefined : (line) => console.log(line));
      if (raw.json) {
        console.log(JSON.stringify(results, null, 2));
        return;
      }
      console.log(`\n${formatTable(results)}`);
      for (const row of results.filter((r) => r.profile !== undefined)) {
        const top = row.profile!.slice(0, 12).map((k) => `${k.kernel} ${(100 * k.share).toFixed(1)}%`);
        console.log(`\n${row.model}, one training step by kernel: ${top.join(', ')}`);
      }
      const note = results.find((r) => r.pytorchNote !== null)?.pytorchNote;
      if (note) console.log(`\n${note}`);
      const cpu = cpus();
      console.log(
        `\nmachine: ${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}; Node ${process.version}`,
      );
    });
}
