// `backends`: the TensorFlow.js backends this machine can see, the WebGPU adapter, and the one `auto` picks.
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
    .action(async (options: { json?: boolean }) => {
      const { listBackends, resolveAutoBackend } = await import('@resnet/backend');
      const backends = await listBackends();
      const auto = await resolveAutoBackend();
      if (options.json) {
        console.log(JSON.stringify({ backends, auto }, null, 2));
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
    });
}
