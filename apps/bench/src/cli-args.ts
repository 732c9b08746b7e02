// How the bench reads its argv before commander parses it (kept apart from cli.ts, which runs on import):
// the `--` pnpm forwards, the default command, and folder arguments resolved against the folder the user ran
// the command from (pnpm runs the script in apps/bench/, and names the caller's folder in INIT_CWD).
import { isAbsolute, resolve } from 'node:path';

/**
 * The arguments commander should parse. pnpm forwards the `--` of `pnpm start -- list` into argv, so a
 * leading one is dropped; no command (or only options) means the demo. Relative folders given to `--out`
 * and `--data-dir` are made absolute against {@link callerDir}.
 */
export function normalizeArgs(args: readonly string[], base: string = callerDir()): string[] {
  const rest = resolveFolderArgs(args[0] === '--' ? args.slice(1) : [...args], base);
  const first = rest[0];
  const asksForHelp = first === '-h' || first === '--help' || first === 'help';
  if (first === undefined || (first.startsWith('-') && !asksForHelp)) return ['demo', ...rest];
  return rest;
}

/** Options whose value is a folder. */
const FOLDER_OPTIONS = ['--out', '--data-dir'];

/**
 * The folder the user ran the command from. Under `pnpm --filter bench start` (or `pnpm start` in
 * apps/bench) the process runs in apps/bench/ and pnpm sets INIT_CWD to the caller's folder; elsewhere
 * (tsx or node run directly, a test's child process) it is the working folder. INIT_CWD is taken only for
 * this package's own `start` script, since child processes of any pnpm script inherit it.
 */
export function callerDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const byPnpm = env['npm_lifecycle_event'] === 'start' && env['npm_package_name'] === 'bench';
  return byPnpm && env['INIT_CWD'] ? env['INIT_CWD'] : cwd;
}

/** `args` with the values of `--out DIR`, `--out=DIR`, `--data-dir DIR`, … made absolute against `base`. */
export function resolveFolderArgs(args: readonly string[], base: string): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const arg = out[i]!;
    if (arg === '--') break;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!FOLDER_OPTIONS.includes(name)) continue;
    if (eq > 0) {
      out[i] = `${name}=${absolute(arg.slice(eq + 1), base)}`;
    } else if (i + 1 < out.length && !out[i + 1]!.startsWith('-')) {
      out[i + 1] = absolute(out[i + 1]!, base);
      i++;
    }
  }
  return out;
}

function absolute(path: string, base: string): string {
  return path === '' || isAbsolute(path) ? path : resolve(base, path);
}
