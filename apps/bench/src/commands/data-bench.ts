// `data-bench`: augmented training images per second on one core, from @resnet/data-cifar.
import type { Command } from 'commander';

export function dataBenchCommand(program: Command): Command {
  return program
    .command('data-bench')
    .description('augmented training images per second on one core (generated data unless --data-dir)')
    .option('--data-dir <dir>', 'a local copy of the extracted CIFAR-10 folder (cifar-10-batches-bin)')
    .option('--json', 'print an object with imagesPerSec')
    .action(async (options: { dataDir?: string; json?: boolean }) => {
      const { benchmarkData } = await import('../data.js');
      const result = await benchmarkData(options.dataDir);
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else
        console.log(
          `${Math.round(result.imagesPerSec).toLocaleString('en-US')} augmented images/s on one core (${result.source})`,
        );
    });
}
