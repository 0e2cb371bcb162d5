// Which columns of a CSV/TSV/JSON-table file could be the target, so Diagnose Sequence File can
// ask. Uses the project's own table readers (papaparse behind them); any problem with the file
// is left for readSequenceFile to report with its line number, so this never throws.
// The worker (src/worker/studyWorker.ts) runs this, off the extension host's main thread,
// because it parses the whole file.
import { parseCsvTable } from './csv';
import { readGuarded } from './guardedRead';
import { parseJsonInput } from './jsonSeries';
import { DEFAULT_SEQUENCE_LIMITS } from './sequences';
import { tableCellNumber, type Table } from './table';

/** Rows looked at to decide whether a column is numeric. */
const SAMPLE_ROWS = 50;

export interface ColumnChoice {
  name: string;
  /** 1-based position, as readSequenceFile accepts and its messages print. */
  position: number;
}

/** Columns whose first rows are numbers (a date column is not offered), in file order. */
export function numericColumns(table: Table): ColumnChoice[] {
  const rows = table.rows.slice(0, SAMPLE_ROWS);
  if (rows.length === 0) return [];
  const out: ColumnChoice[] = [];
  table.columns.forEach((name, c) => {
    if (rows.every((row) => tableCellNumber(table, row[c]).ok)) out.push({ name, position: c + 1 });
  });
  return out;
}

/** The numeric columns of a table-like sequence file; [] for text, {"x","y"} JSON, or unreadable files. */
export async function listTargetColumns(file: string): Promise<ColumnChoice[]> {
  const ext = /\.([^./\\]+)$/.exec(file)?.[1]?.toLowerCase();
  if (ext !== 'csv' && ext !== 'tsv' && ext !== 'json') return [];
  try {
    const bytes = await readGuarded(file, 'sequence', { maxBytes: DEFAULT_SEQUENCE_LIMITS.maxBytes });
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    if (ext === 'json') {
      const input = parseJsonInput(text, file, DEFAULT_SEQUENCE_LIMITS);
      return input.kind === 'table' ? numericColumns(input.table) : [];
    }
    return numericColumns(parseCsvTable(text, file, ext === 'tsv' ? { delimiter: '\t' } : {}));
  } catch {
    return [];
  }
}
