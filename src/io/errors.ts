// Bad input is reported as one line that names the file, the line (when there is one)
// and what was expected. The CLI prints `message` and exits 2; the extension shows it.

export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(oneLine(line === null ? `${file}: ${detail}` : `${file}:${line}: ${detail}`));
    this.name = 'InputError';
  }
}

/**
 * Control characters from the file (a CR inside a CSV header, a newline in a tensor name)
 * are shown escaped, so the message stays the one line the contract promises.
 */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}

/** A failed read of `path` as one InputError line ("no such file", "permission denied", ...). */
export function fileReadError(path: string, e: unknown): InputError {
  if (e instanceof InputError) return e;
  const code = (e as { code?: string } | null)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied',
    EISDIR: 'is a directory; expected a file', ENOTDIR: 'a part of the path is not a directory',
  };
  return new InputError(path, null, `cannot read: ${code && reasons[code] ? reasons[code] : e instanceof Error ? e.message : String(e)}`);
}

/** A message on one line (newlines and the spaces around them become one space). */
export function joinLines(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/** Any error as one line; an InputError names its file by base name (and the line): "x.json:3: expected ...". */
export function errorLine(e: unknown): string {
  if (isInputError(e)) return `${e.file.split(/[\\/]/).pop()}${e.line === null ? '' : `:${e.line}`}: ${e.detail}`;
  return joinLines(e instanceof Error ? e.message : String(e));
}
