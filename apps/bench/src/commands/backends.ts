// `backends`: the TensorFlow.js backends this machine can see, and the one `auto` picks.
import type { Command } from 'commander';

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
      }
      console.log(`\nauto picks: ${auto.name} (${auto.package})`);
    });
}
