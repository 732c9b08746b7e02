// A failed write named by its file: Node's errors for write() and fsync() carry no path ("ENOSPC: no space
// left on device, write"), which leaves a user of a long run guessing which disk filled up.

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EIO: 'an input/output error',
  EACCES: 'permission denied',
};

/** `error` with the file it was writing named (its `code` kept); other errors as they are. */
export function namedWriteError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !REASONS[code]) return error;
  return Object.assign(
    new Error(
      `cannot write ${path}: ${REASONS[code]} (${code}). Make room or fix the folder, then resume the run: ` +
        'its last checkpoint is whole',
      { cause: error },
    ),
    { code },
  );
}
