// report.json writer. JSON has no NaN or Infinity, so every non-finite number is written
// as null, and parseReport reads a null where a number belongs back as NaN: inside series
// the kind of non-finite value (NaN, +Infinity, -Infinity) is not kept. The one place it
// matters, a run's `nonFinite` record (the first non-finite quantity), also carries
// `valueText` ("NaN", "Infinity" or "-Infinity") so the reader restores the exact value.
// Objects are indented for reading and diffing; arrays of numbers stay on one line so
// long series do not turn into thousands of lines.
import type { Report } from '../../study/types';

export const REPORT_SCHEMA = 'bptt-lens/report@1';

/** Serialise a Report to report.json text (ends with a newline). */
export function serializeReport(report: Report): string {
  const runs = report.runs.map((run) =>
    run.nonFinite && !Number.isFinite(run.nonFinite.value) ? { ...run, nonFinite: { ...run.nonFinite, valueText: String(run.nonFinite.value) } } : run);
  return stringify({ ...report, runs }, '') + '\n';
}

/** Like JSON.stringify(value, null, 2), but non-finite numbers become null and flat arrays stay on one line. */
export function stringify(value: unknown, indent: string): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return stringify(Array.from(value as unknown as ArrayLike<number>), indent);
  }
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every(isScalar)) return '[' + value.map((v) => stringify(v, '')).join(',') + ']';
    return '[\n' + value.map((v) => inner + stringify(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return stringify(withToJson.toJSON(), indent);
  const entries = Object.entries(value as Record<string, unknown>).filter(
    ([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol',
  );
  if (entries.length === 0) return '{}';
  // Small flat objects ({"kind": "norm", "threshold": 1}) read best on one line.
  if (entries.every(([, v]) => isScalar(v))) {
    const flat = '{' + entries.map(([k, v]) => `${JSON.stringify(k)}: ${stringify(v, '')}`).join(', ') + '}';
    if (flat.length <= 72) return flat;
  }
  return '{\n' + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringify(v, inner)}`).join(',\n') + '\n' + indent + '}';
}

function isScalar(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length < 40);
}
