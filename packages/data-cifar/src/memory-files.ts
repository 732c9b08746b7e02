// CIFAR from files in memory, with the checks loadCifar makes on disk: the official archive (.tar.gz) as a
// Blob (a File a browser page's user chose), or the extracted folder's files. The archive is gunzipped by the
// platform's DecompressionStream and untarred by modern-tar as it streams, only the dataset's known regular
// files kept, its MD5 computed in the same pass; every data file is hashed (MD5 and SHA-256, by
// @noble/hashes: Web Crypto has no MD5, and its SHA-256 exists only in secure contexts) and checked against
// the official checksums (checks.ts). Files that are not the official ones are refused unless allowUnofficial.
import { md5 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { unpackTar } from 'modern-tar';
import {
  type ArchiveFiles,
  checkFiles,
  type DataFileCheck,
  describeProblems,
  type HashedFile,
  isOfficial,
} from './checks.js';
import { type CifarName, type DatasetSpec, datasetSpec, requiredFiles } from './datasets.js';
import { CifarDataError } from './errors.js';
import { type CifarBuffers, cifarFromBuffers, type LabelKind, recordCount } from './parse.js';

/** What the readers take: a Blob or File (or anything with the same two methods). */
export interface BlobLike {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Options of {@link readCifarArchive}. */
export interface ReadCifarArchiveOptions {
  dataset: CifarName;
  /** The archive's name in messages (default the official archive's name). */
  name?: string;
}

/** The dataset's files found in an archive, and what the archive is. */
export interface CifarArchive {
  /** The dataset's known members (spec.members), by file name without the folder. */
  files: Map<string, Uint8Array>;
  /** MD5 of the whole archive, hex. */
  md5: string;
  /** Whether that is the official archive's MD5. */
  official: boolean;
  name: string;
}

/** Bytes hashed between yields to the event loop, so a page's worker stays responsive to messages. */
const HASH_CHUNK = 4 << 20;

const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Reads the dataset's archive (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`): its MD5, and the
 * dataset's files inside it. Members other than the dataset's known files (and anything but regular files)
 * are skipped unread. An archive that is not gzip-compressed tar fails with a CifarDataError ('malformed').
 */
export async function readCifarArchive(
  archive: BlobLike,
  options: ReadCifarArchiveOptions,
): Promise<CifarArchive> {
  const spec = datasetSpec(options.dataset);
  const name = options.name ?? spec.archiveName;
  const allowed = new Set(spec.members.map((member) => `${spec.folder}/${member}`));
  const [forHash, forTar] = archive.stream().tee();
  const hash = md5.create();
  const hashing = (async () => {
    const reader = forHash.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      hash.update(value);
    }
  })();
  let entries: Awaited<ReturnType<typeof unpackTar>>;
  try {
    // Node's and the DOM's declarations of DecompressionStream differ in their chunk types; both give bytes.
    const tarStream = forTar.pipeThrough(
      new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    entries = await unpackTar(tarStream, {
      strict: true,
      filter: (header) =>
        (header.type ?? 'file') === 'file' && allowed.has(header.name.replace(/^(\.\/)+/, '')),
    });
  } catch (error) {
    // The hashing branch would otherwise wait for a stream nobody reads to the end.
    await forHash.cancel().catch(() => {});
    throw new CifarDataError({
      dataset: spec.name,
      code: 'malformed',
      detail: `${name} is not a gzip-compressed tar archive, or it is cut short (${(error as Error).message}).`,
      hint: `Choose the official ${spec.archiveName} (${spec.archiveBytes.toLocaleString('en-US')} bytes) or the extracted ${spec.folder}/ folder.`,
      cause: error,
    });
  }
  await hashing;
  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    const base = entry.header.name.replace(/^(\.\/)+/, '').slice(spec.folder.length + 1);
    files.set(base, entry.data ?? new Uint8Array(0));
  }
  const digest = bytesToHex(hash.digest());
  return { files, md5: digest, official: digest === spec.archiveMd5, name };
}

/** Options of {@link cifarFromFiles}. */
export interface CifarFromFilesOptions {
  dataset: CifarName;
  /** CIFAR-100 only: 'fine' (100 classes, the default) or 'coarse' (20 superclasses). */
  labels?: LabelKind;
  /**
   * Use data files that differ from the official ones or that nothing can vouch for (as loadCifar's option).
   * Default false: such files are refused with a CifarDataError of code `unofficial`.
   */
  allowUnofficial?: boolean;
  /**
   * The archive the files came from ({@link readCifarArchive}): when its MD5 is the official archive's, its
   * members vouch for files that have no official checksum of their own (CIFAR-100's), compared by SHA-256,
   * as loadCifar compares a folder with the official archive in its cache.
   */
  archive?: Pick<CifarArchive, 'md5' | 'files' | 'name'>;
  /** Where the files came from, in messages and in the result (the archive's or the folder's name). */
  source?: string;
}

/** The splits of {@link cifarFromFiles}, with what loadCifar reports of the files. */
export interface CifarFromFiles extends CifarBuffers {
  classNames: string[];
  /** Every data file read (training files, then test files): records, SHA-256, MD5 and what its check found. */
  files: DataFileCheck[];
  /** True when every data file is verified as the official one. */
  official: boolean;
  source: string;
}

async function bytesOf(file: Uint8Array | BlobLike): Promise<Uint8Array> {
  return file instanceof Uint8Array ? file : new Uint8Array(await file.arrayBuffer());
}

async function hashFile(
  bytes: Uint8Array,
  spec: DatasetSpec,
  split: 'train' | 'test',
  name: string,
  where: string,
): Promise<HashedFile> {
  const records = recordCount(bytes.length, spec, where);
  const hashMd5 = md5.create();
  const hashSha = sha256.create();
  for (let at = 0; at < bytes.length; at += HASH_CHUNK) {
    const chunk = bytes.subarray(at, at + HASH_CHUNK);
    hashMd5.update(chunk);
    hashSha.update(chunk);
    await yieldNow();
  }
  return {
    split,
    name,
    bytes: bytes.length,
    records,
    sha256: bytesToHex(hashSha.digest()),
    md5: bytesToHex(hashMd5.digest()),
  };
}

/**
 * The SHA-256 of each data file inside `archive` when it is the official archive (its MD5 is the official
 * one), else undefined. A member that is the very buffer already read and hashed is not hashed again.
 */
async function officialMembers(
  spec: DatasetSpec,
  archive: CifarFromFilesOptions['archive'],
  read: ReadonlyArray<{ bytes: Uint8Array; hashed: HashedFile }>,
): Promise<ArchiveFiles | undefined> {
  if (archive?.md5 !== spec.archiveMd5) return undefined;
  const members: ArchiveFiles = new Map();
  for (const file of [...spec.trainFiles, ...spec.testFiles]) {
    const member = archive.files.get(file.name);
    if (!member) continue;
    const same = read.find((r) => r.bytes === member && r.hashed.name === file.name);
    const sha = same ? same.hashed.sha256 : await sha256Hex(member);
    members.set(file.name, { bytes: member.length, sha256: sha });
  }
  return members;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const hash = sha256.create();
  for (let at = 0; at < bytes.length; at += HASH_CHUNK) {
    hash.update(bytes.subarray(at, at + HASH_CHUNK));
    await yieldNow();
  }
  return bytesToHex(hash.digest());
}

/**
 * Parses a dataset folder's files held in memory (by file name: `data_batch_1.bin`, …, `batches.meta.txt`)
 * into the splits trainBatches and evalBatches take, after checking each data file against the official
 * checksums as loadCifar does: a missing file or a bad record is a CifarDataError ('malformed'), a file that
 * is not the official one ('unofficial') unless `allowUnofficial`.
 */
export async function cifarFromFiles(
  files: ReadonlyMap<string, Uint8Array | BlobLike>,
  options: CifarFromFilesOptions,
): Promise<CifarFromFiles> {
  const spec = datasetSpec(options.dataset);
  const labels: LabelKind = options.labels ?? 'fine';
  const source = options.source ?? options.archive?.name ?? spec.folder;
  const missing = requiredFiles(spec).filter((name) => !files.has(name));
  if (missing.length > 0) {
    throw new CifarDataError({
      dataset: spec.name,
      code: 'malformed',
      detail: `${source} lacks ${missing.join(', ')}: it is not a complete ${spec.folder}/ folder.`,
      hint: `Choose the official ${spec.archiveName} or the whole extracted ${spec.folder}/ folder.`,
    });
  }
  const read = async (split: 'train' | 'test') => {
    const list = split === 'train' ? spec.trainFiles : spec.testFiles;
    const out: Array<{ bytes: Uint8Array; hashed: HashedFile }> = [];
    for (const file of list) {
      const bytes = await bytesOf(files.get(file.name)!);
      out.push({ bytes, hashed: await hashFile(bytes, spec, split, file.name, `${source}/${file.name}`) });
    }
    return out;
  };
  const train = await read('train');
  const test = await read('test');
  const hashed = [...train, ...test].map((file) => file.hashed);
  const checks = checkFiles(spec, hashed, {
    archive: await officialMembers(spec, options.archive, [...train, ...test]),
  });
  const official = checks.every((check) => isOfficial(check.origin));
  if (!official && !options.allowUnofficial) {
    throw new CifarDataError({
      dataset: spec.name,
      code: 'unofficial',
      files: checks,
      detail: describeProblems(checks, (name) => `${source}/${name}`),
      hint: "To use these files anyway, pass allowUnofficial: true (the result's files then list each file's SHA-256 and origin, for your records).",
    });
  }
  const nameFile = labels === 'coarse' ? spec.nameFiles.coarse : spec.nameFiles.fine;
  const parsed = cifarFromBuffers({
    dataset: spec.name,
    labels,
    train: train.map((f) => f.bytes),
    test: test.map((f) => f.bytes),
    ...(nameFile ? { classNames: new TextDecoder().decode(await bytesOf(files.get(nameFile)!)) } : {}),
  });
  return { ...parsed, classNames: parsed.classNames!, files: checks, official, source };
}
