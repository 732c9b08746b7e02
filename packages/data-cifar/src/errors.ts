// The one error type loadCifar throws for problems with the data itself, with its parts kept apart: what is
// wrong (`detail`, which names the file) and what to do in terms of this library's API (`hint`). An
// application with its own interface (a CLI) words its own advice from `code` and `origin` instead of
// passing option names such as `dataDir` on to its users.

import type { DataFileCheck } from './checks.js';
import type { CifarName } from './datasets.js';

/**
 * - `not-found`: the folder named by `dataDir`, the environment variable or the cache lacks the dataset;
 * - `download-failed`: the archive could not be fetched;
 * - `malformed`: a file is not a whole number of records, has a label out of range, or is missing;
 * - `unofficial`: a file differs from the official one, or nothing can vouch for it (see `files`).
 */
export type CifarErrorCode = 'not-found' | 'download-failed' | 'malformed' | 'unofficial';

/** Where the folder came from: the `dataDir` option, the dataset's environment variable, or the cache. */
export type DataOrigin = 'dataDir' | 'env' | 'cache';

export interface CifarDataErrorArgs {
  code: CifarErrorCode;
  /** The dataset being loaded. */
  dataset?: CifarName;
  detail: string;
  hint: string;
  origin?: DataOrigin;
  /** The folder concerned. */
  folder?: string;
  /** `unofficial`: every data file with what its check found (the offending ones have a `problem`). */
  files?: DataFileCheck[];
  cause?: unknown;
}

export class CifarDataError extends Error {
  readonly code: CifarErrorCode;
  readonly dataset?: CifarName;
  /** What is wrong, naming the file or folder; no advice. */
  readonly detail: string;
  /** What to do, in terms of loadCifar's options. */
  readonly hint: string;
  readonly origin?: DataOrigin;
  readonly folder?: string;
  readonly files?: DataFileCheck[];

  constructor(args: CifarDataErrorArgs) {
    super(args.hint ? `${args.detail} ${args.hint}` : args.detail, { cause: args.cause });
    this.name = 'CifarDataError';
    this.code = args.code;
    if (args.dataset) this.dataset = args.dataset;
    this.detail = args.detail;
    this.hint = args.hint;
    if (args.origin) this.origin = args.origin;
    if (args.folder) this.folder = args.folder;
    if (args.files) this.files = args.files;
  }
}
