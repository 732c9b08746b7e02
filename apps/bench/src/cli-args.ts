// How the bench reads its argv before commander parses it (kept apart from cli.ts, which runs on import).

/**
 * The arguments commander should parse. pnpm forwards the `--` of `pnpm start -- list` into argv, so a
 * leading one is dropped; no command (or only options) means the demo.
 */
export function normalizeArgs(args: readonly string[]): string[] {
  const rest = args[0] === '--' ? args.slice(1) : [...args];
  const first = rest[0];
  const asksForHelp = first === '-h' || first === '--help' || first === 'help';
  if (first === undefined || (first.startsWith('-') && !asksForHelp)) return ['demo', ...rest];
  return rest;
}
