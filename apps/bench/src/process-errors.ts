// What a bench process prints when an error escapes every handler (an unhandled rejection in a library, an
// exception thrown from a callback): one line naming it, never the source line Node prints above an uncaught
// exception. tfjs-backend-wasm's Emscripten glue rethrows every unhandled rejection from its own handler, and
// the line Node would show for it is the glue's minified code, 54 KB on one line.

/** At most this many characters of one line of a message (a minified source line is cut). */
const LINE_LIMIT = 2000;

/** An error's message as one can read it: every line cut to {@link LINE_LIMIT} characters. */
export function conciseMessage(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text
    .split('\n')
    .map((line) =>
      line.length > LINE_LIMIT
        ? `${line.slice(0, LINE_LIMIT)}… (${line.length - LINE_LIMIT} more characters)`
        : line,
    )
    .join('\n');
}

/**
 * Prints an error that escaped as `error: <message>` (the stack too with RESNET_BENCH_DEBUG) and ends the
 * process with status 1. Installed before TensorFlow.js loads, so these listeners run before the wasm glue's.
 */
export function exitOnEscapedErrors(): void {
  const fail = (error: unknown) => {
    process.stderr.write(`error: ${conciseMessage(error)}\n`);
    if (process.env['RESNET_BENCH_DEBUG'] && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}
