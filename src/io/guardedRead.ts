// The one way the project reads a file it did not write itself (sequence files, safetensors
// weights, the CLI's input JSON, report.json, capture files). Every read:
//   - opens the path (symlinks are followed) without blocking: a FIFO or a device can
//     neither hang the open nor stream forever;
//   - refuses anything that is not a regular file once opened (FIFOs, sockets, character and
//     block devices such as /dev/zero, directories), checked on the open descriptor so a
//     swap between check and read changes nothing;
//   - refuses files larger than the cap of their kind, before reading, naming the cap;
//   - reads at most the size it saw (plus one byte, to notice a file that grows meanwhile),
//     so memory is the file's size and time is one pass over it, with a wall-clock deadline.
// Every failure is one InputError line naming the file.
//
// API (small on purpose; the captures reader uses it too):
//   readGuarded(path, kind, options?)      -> Promise<Buffer>
//   readGuardedSync(path, kind, options?)  -> Buffer
//   READ_CAPS[kind]                        the default cap in bytes
//   describeBytes(n)                       "20 MB", as the messages print sizes
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileReadError, InputError } from './errors';

/** What the file is; decides the default cap and how messages name the expected file. */
export type FileKind = 'sequence' | 'weights' | 'input' | 'report' | 'capture';

/** Default size caps (bytes). Chosen well above anything the project writes or documents. */
export const READ_CAPS: Readonly<Record<FileKind, number>> = Object.freeze({
  /** A user's .csv/.tsv/.json/.txt series (the value limits of sequences.ts bite long before). */
  sequence: 20 * 1024 * 1024,
  /** safetensors weights for `gradients`; a 1024-unit, 8-layer LSTM in F64 is ~270 MB. */
  weights: 512 * 1024 * 1024,
  /** The `gradients` input JSON (50 million values at most, see batchJson.ts). */
  input: 256 * 1024 * 1024,
  /** report.json (a study's is a few MB). */
  report: 256 * 1024 * 1024,
  /** One captured step of a real model (weights, inputs and upstream gradients of a few examples). */
  capture: 1024 * 1024 * 1024,
});

const EXPECTED: Record<FileKind, string> = {
  sequence: 'a .csv, .tsv, .json or .txt file',
  weights: 'a .safetensors file',
  input: 'an input .json file',
  report: 'a report.json file',
  capture: 'a .capture.safetensors file',
};

export interface GuardedReadOptions {
  /** Override the kind's cap (bytes). */
  maxBytes?: number;
  /** Give up after this many milliseconds (default 60 s); checked between chunks. */
  timeoutMs?: number;
}

const CHUNK = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
// O_NONBLOCK: opening a FIFO for reading must not wait for a writer. Absent on Windows,
// where there are no FIFOs to open by path.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export function describeBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  if (n < 1024 * 1024 * 1024) {
    const mb = n / (1024 * 1024);
    return `${mb < 10 && !Number.isInteger(mb) ? mb.toFixed(1) : Math.round(mb)} MB`;
  }
  const gb = n / (1024 * 1024 * 1024);
  return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
}

/** What a file that is not a regular file is, for messages. */
export function kindOfStats(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'something else';
}

/** The checks made on the open descriptor; returns the number of bytes to read. */
function checkStats(path: string, kind: FileKind, s: Stats, cap: number): number {
  checkRegular(path, kind, s);
  if (s.size > cap) {
    throw new InputError(path, null, `file is ${describeBytes(s.size)}; the limit for ${EXPECTED[kind]} is ${describeBytes(cap)}`);
  }
  return s.size;
}

function checkRegular(path: string, kind: FileKind, s: Stats): Stats {
  if (!s.isFile()) throw new InputError(path, null, `not a regular file (${kindOfStats(s)}); expected ${EXPECTED[kind]}`);
  return s;
}

function capOf(kind: FileKind, options: GuardedReadOptions): number {
  return options.maxBytes ?? READ_CAPS[kind];
}

function grewError(path: string, kind: FileKind, cap: number, size: number): InputError {
  return new InputError(path, null, `the file grew while it was read (was ${describeBytes(size)}); expected ${EXPECTED[kind]} that stays put, at most ${describeBytes(cap)}`);
}

function timeoutError(path: string, ms: number): InputError {
  return new InputError(path, null, `cannot read: still reading after ${Math.round(ms / 1000)} s (a slow or remote file system?)`);
}

/** Reads a whole regular file under the guards above. Throws only InputError. */
export async function readGuarded(path: string, kind: FileKind, options: GuardedReadOptions = {}): Promise<Buffer> {
  return (await readOpened(path, kind, options, false)).bytes;
}

/**
 * The first `maxBytes` (default: the kind's cap) of a regular file of any size, under the same
 * guards (no waiting on a FIFO, regular files only, the deadline), and the file's whole size.
 */
export async function readGuardedHead(path: string, kind: FileKind, options: GuardedReadOptions = {}): Promise<{ bytes: Buffer; size: number }> {
  return readOpened(path, kind, options, true);
}

async function readOpened(path: string, kind: FileKind, options: GuardedReadOptions, head: boolean): Promise<{ bytes: Buffer; size: number }> {
  const cap = capOf(kind, options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    throw fileReadError(path, e);
  }
  try {
    const stats = await handle.stat();
    const size = head ? checkRegular(path, kind, stats).size : checkStats(path, kind, stats, cap);
    // Whole file: one spare byte tells a file that grew since fstat from one that did not.
    const buffer = Buffer.allocUnsafe(head ? Math.min(size, cap) : size + 1);
    let filled = 0;
    for (;;) {
      if (Date.now() - started > timeoutMs) throw timeoutError(path, timeoutMs);
      const want = Math.min(CHUNK, buffer.length - filled);
      if (want === 0) {
        if (head) break;
        throw grewError(path, kind, cap, size);
      }
      const { bytesRead } = await handle.read(buffer, filled, want, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: buffer.subarray(0, filled), size };
  } catch (e) {
    throw fileReadError(path, e);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The synchronous twin of readGuarded, for the CLI. Throws only InputError. */
export function readGuardedSync(path: string, kind: FileKind, options: GuardedReadOptions = {}): Buffer {
  const cap = capOf(kind, options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw fileReadError(path, e);
  }
  try {
    const size = checkStats(path, kind, fstatSync(fd), cap);
    const buffer = Buffer.allocUnsafe(size + 1);
    let filled = 0;
    for (;;) {
      if (Date.now() - started > timeoutMs) throw timeoutError(path, timeoutMs);
      const want = Math.min(CHUNK, buffer.length - filled);
      if (want === 0) throw grewError(path, kind, cap, size);
      const bytesRead = readSync(fd, buffer, filled, want, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } catch (e) {
    throw fileReadError(path, e);
  } finally {
    closeSync(fd);
  }
}
