// Plain text -> character-level next-character prediction (one-hot, many-to-many xent).
import { InputError } from './errors';
import { LineIndex } from './table';

export interface TextSeries {
  /** Vocabulary in code-point order; index = one-hot position. */
  vocabulary: string[];
  /** The text as vocabulary indices, one per character (code point). */
  codes: Int32Array;
}

/**
 * Reads the characters of `text` (BOM removed; CRLF and CR become LF so line endings are
 * one symbol). Refuses control characters other than tab and newline (a binary file) and
 * vocabularies larger than `maxVocab`.
 */
export function parseTextSeries(text: string, file: string, limits: { maxVocab: number; maxValues: number }): TextSeries {
  const body = text.replace(/\r\n?/g, '\n');
  // A character is one or two UTF-16 units: refuse clearly-too-long text before splitting it.
  if (body.length > 2 * limits.maxValues) {
    throw new InputError(file, null, `more than ${limits.maxValues} characters; the limit is ${limits.maxValues}`);
  }
  const chars = Array.from(body);
  if (chars.length === 0) throw new InputError(file, null, 'empty file; expected text');
  if (chars.length > limits.maxValues) {
    throw new InputError(file, null, `${chars.length} characters; the limit is ${limits.maxValues}`);
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000b-\u001f\u007f]/.exec(body);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase();
    throw new InputError(file, new LineIndex(body).lineAt(control.index), `control character U+${code}; expected plain text (is this a binary file?)`);
  }
  const vocabulary = [...new Set(chars)].sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
  if (vocabulary.length > limits.maxVocab) {
    throw new InputError(file, null, `${vocabulary.length} distinct characters; the limit is ${limits.maxVocab} (one-hot inputs)`);
  }
  const index = new Map(vocabulary.map((ch, i) => [ch, i]));
  const codes = Int32Array.from(chars, (ch) => index.get(ch) as number);
  return { vocabulary, codes };
}
