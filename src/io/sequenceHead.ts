// Reading the head of a sequence file that is over the size limit, when the user asks for it:
// the first `rows` lines (and never more than the byte limit) of a .csv, .tsv or .txt file,
// parsed like a whole file. JSON cannot be cut without breaking it, so it is refused.
import type { Dataset } from '../study/types';
import { InputError } from './errors';
import { readGuardedHead } from './guardedRead';
import { DEFAULT_SEQUENCE_LIMITS, parseSequenceText, type SequenceOptions } from './sequences';

/** What a file read may ask (the worker pool's readSequenceFile): `firstRows` reads only the head. */
export type FileReadOptions = SequenceOptions & { firstRows?: number };

/** Rows offered when a file is over the size limit. */
export const DEFAULT_HEAD_ROWS = 100_000;

/** "file is 30.2 MB; the limit is 20.0 MB" (and the guarded reader's wording): the size refusal. */
export function isSizeLimitError(e: unknown): e is InputError {
  return e instanceof InputError && /^file is [\d.]+ ?[KMG]?i?B; the limit (for [^;]* )?is /.test(e.detail);
}

export async function readSequenceFileHead(path: string, rows: number, options: SequenceOptions = {}): Promise<Dataset> {
  if (/\.json$/i.test(path)) throw new InputError(path, null, 'a JSON file cannot be read in part; save a shorter file, or the series as CSV');
  if (!Number.isInteger(rows) || rows < 2) throw new InputError(path, null, `cannot read the first ${rows} rows; expected a whole number of at least 2`);
  const maxBytes = options.maxBytes ?? DEFAULT_SEQUENCE_LIMITS.maxBytes;
  // The project's guarded reader: no waiting on a FIFO, regular files only, a deadline.
  const { bytes, size } = await readGuardedHead(path, 'sequence', { maxBytes });
  // Whole lines only: the cut may fall inside a line (or a UTF-8 sequence) at the byte limit.
  let text = new TextDecoder('utf-8').decode(bytes);
  if (bytes.length < size) text = text.slice(0, Math.max(0, text.lastIndexOf('\n')));
  // The header (if any) plus `rows` data lines; parsing decides which is which.
  let end = 0;
  for (let line = 0; line <= rows && end >= 0; line++) end = text.indexOf('\n', end) + (line === rows ? 0 : 1);
  const head = end > 0 && end < text.length ? text.slice(0, end) : text;
  const dataset = parseSequenceText(head, path, options);
  const lines = (head.match(/\n/g)?.length ?? 0) + 1;
  return { ...dataset, task: `${dataset.task} — only the first ${lines.toLocaleString('en')} lines of a ${(size / (1024 * 1024)).toFixed(1)} MB file` };
}
