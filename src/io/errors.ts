// Bad input is reported as one line that names the file, the line (when there is one)
// and what was expected. The CLI prints `message` and exits 2; the extension shows it.

export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(line === null ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = 'InputError';
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
