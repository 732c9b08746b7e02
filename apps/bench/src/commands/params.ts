// `params`: every preset of @resnet/models with its parameter count, total and without BN parameters.
import type { Command } from 'commander';

interface ParamsRow {
  name: string;
  depth: number;
  params: number;
  paramsWithoutBN: number;
}

/** Millions as the paper rounds them (1.7M, 10.2M). */
function millions(n: number): string {
  return `${(n / 1e6).toFixed(1)}M`;
}

export function paramsCommand(program: Command): Command {
  return program
    .command('params')
    .description('every preset with its parameter count, total and without BN parameters')
    .option('--json', 'print an array of { name, depth, params, paramsWithoutBN }')
    .action(async (options: { json?: boolean }) => {
      // Counting needs no kernels worth speaking of: building a model only creates its weights.
      const { initBackend } = await import('@resnet/backend');
      const { countParameters, getPreset, listPresets, resnet } = await import('@resnet/models');
      await initBackend({ backend: 'cpu' });
      const rows: ParamsRow[] = [];
      for (const name of listPresets()) {
        const preset = getPreset(name);
        const model = resnet(preset.config);
        const counts = countParameters(model);
        model.dispose();
        rows.push({ name: preset.name, depth: preset.config.depth, ...counts });
        if (!options.json) {
          console.log(
            `${preset.name.padEnd(34)} depth ${String(preset.config.depth).padStart(4)}  ` +
              `${String(counts.params).padStart(10)} (${millions(counts.params)})  ` +
              `without BN ${String(counts.paramsWithoutBN).padStart(10)} (${millions(counts.paramsWithoutBN)})`,
          );
        }
      }
      if (options.json) console.log(JSON.stringify(rows, null, 2));
    });
}
