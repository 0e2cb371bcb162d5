// CSV/TSV -> Table, with papaparse doing the parsing (quotes, delimiters, line endings).
// What is ours: choosing and validating the delimiter, header detection, line numbers.
import Papa from 'papaparse';
import { InputError } from './errors';
import { abbreviate, isMissingCell, isNumericCell, LineIndex, type Table } from './table';

export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

export interface CsvOptions {
  /** Force a delimiter (one of CSV_DELIMITERS); detected when absent. */
  delimiter?: string;
  /** Force header / no header; detected when absent (a first row that is text where the next row has numbers). */
  header?: boolean;
}

const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/** Parses CSV text (BOM already removed) into a rectangular table. Throws InputError. */
export function parseCsvTable(text: string, file: string, options: CsvOptions = {}): Table {
  const delimiter = options.delimiter || detectDelimiter(text); // empty means detect, as in papaparse
  if (!(CSV_DELIMITERS as readonly string[]).includes(delimiter)) {
    throw new InputError(file, null, `unsupported delimiter ${JSON.stringify(delimiter)}; expected comma, semicolon, tab or pipe`);
  }
  const lines = new LineIndex(text);
  const rows: string[][] = [];
  const rowLines: number[] = [];
  let cursor = 0;
  let failure: InputError | null = null;
  const parser = Papa.parse<string[]>(text, {
    delimiter,
    skipEmptyLines: true,
    // numpy.savetxt and others write '# ' header and comment lines.
    comments: '#',
    step: (result, handle) => {
      // papaparse skips empty and comment lines silently: the row starts after them.
      const start = skipBlankAndComments(text, cursor);
      cursor = result.meta.cursor;
      const line = lines.lineAt(start);
      if (result.errors.length > 0) {
        const e = result.errors[0];
        const where = typeof e.index === 'number' ? lines.lineAt(e.index) : line;
        failure = new InputError(file, where, csvErrorText(e));
        handle.abort();
        return;
      }
      const row = result.data;
      // A line holding only spaces is a blank line, not a row of one empty cell.
      if (row.length === 1 && row[0].trim() === '') return;
      rows.push(row);
      rowLines.push(line);
    },
  });
  void parser;
  if (failure) throw failure;
  if (rows.length === 0) throw new InputError(file, null, 'no data rows; expected numbers separated by commas, semicolons, tabs or pipes');

  const width = rows[0].length;
  for (let r = 1; r < rows.length; r++) {
    if (rows[r].length !== width) {
      throw new InputError(file, rowLines[r],
        `expected ${width} ${DELIMITER_NAMES[delimiter]}-separated field${width === 1 ? '' : 's'} (as on line ${rowLines[0]}), found ${rows[r].length}`);
    }
  }
  // A delimiter at the end of every line (some exporters) makes an empty last column: drop it.
  if (width > 1 && rows.every((row) => row[width - 1].trim() === '')) {
    for (const row of rows) row.pop();
  }
  const header = options.header ?? looksLikeHeader(rows);
  let columns: string[];
  if (header) {
    const head = rows.shift() as string[];
    rowLines.shift();
    columns = uniqueNames(head.map((name, i) => name.trim() || `column ${i + 1}`));
    if (rows.length === 0) throw new InputError(file, null, 'only a header row; expected data rows below it');
  } else {
    columns = rows[0].map((_, i) => `column ${i + 1}`);
  }
  if (columns.length === 1) keepInteriorBlankLines(text, rows, rowLines);
  return { columns, rows, lineOf: (row) => rowLines[row] ?? null, numbersOnly: false };
}

/**
 * In a one-column series a blank line between two values is a missing observation, not
 * formatting: dropping it would shift every later value by one step. Each becomes a row with
 * one empty cell, so the reader reports it with its line (or applies its missing-value rule).
 */
function keepInteriorBlankLines(text: string, rows: string[][], rowLines: number[]): void {
  if (rows.length < 2) return;
  let lines: string[] | null = null;
  for (let r = rows.length - 1; r > 0; r--) {
    if (rowLines[r] - rowLines[r - 1] < 2) continue;
    lines ??= text.split(/\r\n|\n|\r/);
    // A quoted value spanning lines has no blank line of its own after it in a one-column file.
    for (let line = rowLines[r] - 1; line > rowLines[r - 1]; line--) {
      if (lines[line - 1]!.trim() === '') {
        rows.splice(r, 0, ['']);
        rowLines.splice(r, 0, line);
      }
    }
  }
}

function skipBlankAndComments(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && (text[i] === '\n' || text[i] === '\r')) i++;
    if (text[i] !== '#') return i;
    while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  }
}

/**
 * papaparse's own detection, validated: it only reports a delimiter when field counts agree,
 * so when it gives up we pick the candidate that splits the first line most (or none: one column),
 * and let the field-count check report the first ragged line.
 */
function detectDelimiter(text: string): string {
  const preview = Papa.parse<string[]>(text, { preview: 50, skipEmptyLines: true, comments: '#', delimitersToGuess: [...CSV_DELIMITERS] });
  const undetected = preview.errors.some((e) => e.code === 'UndetectableDelimiter');
  if (!undetected && (CSV_DELIMITERS as readonly string[]).includes(preview.meta.delimiter)) return preview.meta.delimiter;
  const firstLine = text.split(/\r\n|\n|\r/).find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
  let best = ',';
  let bestCount = 0;
  for (const d of CSV_DELIMITERS) {
    const count = firstLine.split(d).length - 1;
    if (count > bestCount) { best = d; bestCount = count; }
  }
  return best;
}

/** A header when the first row has text in a column whose next row holds a number. */
function looksLikeHeader(rows: string[][]): boolean {
  const first = rows[0];
  if (rows.length === 1) return !first.some(isNumericCell);
  // A missing-value marker (empty, NA, n/a, -) in the first row is a gap in the data, not a name.
  return first.some((cell, i) => !isNumericCell(cell) && !isMissingCell(cell) && isNumericCell(rows[1][i]));
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name} (${n})`;
  });
}

function csvErrorText(e: Papa.ParseError): string {
  switch (e.code) {
    case 'MissingQuotes': return 'a quoted field is never closed; expected a closing double quote';
    case 'InvalidQuotes': return 'malformed quotes; expected a closing double quote right before a delimiter or line end';
    default: return `cannot parse CSV: ${abbreviate(e.message, 80)}`;
  }
}
