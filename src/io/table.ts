// A table of cells read from a CSV or JSON file, before any column is interpreted, plus the
// helpers both readers need: strict number parsing and offset -> line number.

export interface Table {
  /** Column names: the header's, the JSON objects' keys, or `column 1`, `column 2`, ... */
  columns: string[];
  /** Cells, row-major, every row as long as `columns`: strings (CSV) or any JSON value. */
  rows: unknown[][];
  /** 1-based file line of a row (of a cell when `column` is given), null when unknown. */
  lineOf(row: number, column?: number): number | null;
  /** JSON: only JSON numbers count as numbers (a string "12" is text); CSV: numeric text does. */
  numbersOnly: boolean;
}

// Plain decimal or scientific notation, as written by spreadsheets, numpy and JS alike.
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Cell texts read as a missing value (case-insensitive, trimmed); a JSON null too. */
export const MISSING_MARKERS: readonly string[] = ['', 'na', 'n/a', '#n/a', 'nan', 'null', 'none', '-'];

export function isMissingCell(cell: unknown): boolean {
  return cell === null || (typeof cell === 'string' && MISSING_MARKERS.includes(cell.trim().toLowerCase()));
}

export type CellValue = { ok: true; value: number } | { ok: false; found: string };

/** A cell as a finite number, or a short description of what was found instead. */
export function cellNumber(cell: unknown): CellValue {
  if (typeof cell === 'number') {
    return Number.isFinite(cell) ? { ok: true, value: cell } : { ok: false, found: `${cell} (out of range)` };
  }
  if (typeof cell === 'string') {
    const s = cell.trim();
    if (s === '') return { ok: false, found: 'an empty cell' };
    if (!NUMBER.test(s)) {
      if (/^[+-]?\d+,\d+$/.test(s)) return { ok: false, found: `'${s}' (decimal comma? write '${s.replace(',', '.')}')` };
      return { ok: false, found: `'${abbreviate(s)}'` };
    }
    const value = Number(s);
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, found: `'${abbreviate(s)}' (out of range)` };
  }
  if (cell === null) return { ok: false, found: 'null' };
  if (cell === undefined) return { ok: false, found: 'nothing' };
  if (Array.isArray(cell)) return { ok: false, found: 'an array' };
  if (typeof cell === 'object') return { ok: false, found: 'an object' };
  return { ok: false, found: `${typeof cell} ${abbreviate(String(cell))}` };
}

/** cellNumber under the table's rule for strings. */
export function tableCellNumber(table: Table, cell: unknown): CellValue {
  if (table.numbersOnly && typeof cell === 'string') return { ok: false, found: `the string '${abbreviate(cell, 20)}'` };
  return cellNumber(cell);
}

export function isNumericCell(cell: unknown): boolean {
  return cellNumber(cell).ok;
}

/** Keeps messages one short line whatever the file holds (control characters shown escaped). */
export function abbreviate(s: string, max = 40): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Maps character offsets to 1-based line numbers; CRLF, LF and lone CR each end a line. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}
