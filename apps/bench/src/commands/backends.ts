// `backends`: the TensorFlow.js backends this machine can see, the WebGPU adapter, and the one `auto` picks;
// with --verbose, also what @resnet/backend changes in TensorFlow.js and why (its override table).
import type { WebgpuAdapter } from '@resnet/backend';
import type { Command } from 'commander';

/** The adapter's lines: what it is, whether auto may take it, and the limits a big batch meets first. */
export function formatAdapter(adapter: WebgpuAdapter): string[] {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const limits = Object.entries(adapter.limits).map(([name, value]) =>
    /Size$/.test(name) && value >= 2 ** 20 ? `${name} ${mib(value)}` : `${name} ${value}`,
  );
  return [
    `  adapter: ${adapter.description || adapter.device} (vendor ${adapter.vendor || '?'}, architecture ${adapter.architecture || '?'}, device ${adapter.device || '?'})`,
    `  ${adapter.software ? 'software rasteriser: auto never picks it' : 'hardware'}; ${adapter.runtime === 'node' ? 'Dawn (webgpu package)' : 'browser WebGPU'}; timestamp-query ${adapter.features.includes('timestamp-query') ? 'yes' : 'no'}`,
    `  limits: ${limits.join(', ')}`,
  ];
}

export function backendsCommand(program: Command): Command {
  return program
    .command('backends')
    .description('the TensorFlow.js backends installed here, and the one --backend auto picks')
    .option('--json', 'print them as JSON')
    .option(
      '--verbose',
      "also print @resnet/backend's override table: what it replaces in TensorFlow.js, and why",
    )
    .action(async (options: { json?: boolean; verbose?: boolean }) => {
      const { describeOverrides, listBackends, resolveAutoBackend } = await import('@resnet/backend');
      const backends = await listBackends();
      const auto = await resolveAutoBackend();
      const overrides = options.verbose ? describeOverrides() : undefined;
      if (options.json) {
        console.log(JSON.stringify({ backends, auto, ...(overrides ? { overrides } : {}) }, null, 2));
        return;
      }
      const width = Math.max(...backends.map((b) => b.package.length));
      for (const b of backends) {
        const state = b.usable ? 'usable' : b.installed ? 'installed, not usable' : 'not installed';
        console.log(
          `${b.name.padEnd(10)} ${b.package.padEnd(width)}  ${state}${b.gpu ? ', GPU' : ''}  ${b.detail ?? ''}`,
        );
        if (b.adapter !== undefined) for (const line of formatAdapter(b.adapter)) console.log(line);
      }
      console.log(`\nauto picks: ${auto.name} (${auto.package})`);
      if (overrides === undefined) return;
      console.log(
        '\nWhat @resnet/backend replaces in TensorFlow.js (initBackend installs the rows whose switch is on;' +
          ' `fast: false` only the "always" ones):\n',
      );
      const targetWidth = Math.max(...overrides.map((o) => o.target.length));
      for (const o of overrides) {
        console.log(
          `${o.target.padEnd(targetWidth)}  ${o.kind.padEnd(8)} ${o.backend.padEnd(4)}  when: ${o.when}`,
        );
        console.log(`${''.padEnd(targetWidth)}  why: ${o.why}`);
      }
    });
}
