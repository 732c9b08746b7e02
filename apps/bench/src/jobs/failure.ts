// How a failed job is worded for the bench's users: a data error with the CLI's flags (never the library's
// option names), anything else by its message, cut to what can be read.
import { conciseMessage } from '../process-errors.js';

export async function describeFailure(error: unknown): Promise<string> {
  if (error instanceof Error && error.name === 'CifarDataError') {
    const { CifarDataError } = await import('@resnet/data-cifar');
    const { cliDataMessage } = await import('../data.js');
    if (error instanceof CifarDataError) return cliDataMessage(error, error.dataset ?? 'cifar10');
  }
  return conciseMessage(error);
}
