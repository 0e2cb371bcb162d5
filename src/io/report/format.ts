// Small text helpers shared by every report writer: escaping for XML/HTML and Markdown,
// number formatting, slugs and dates. Pure functions, no I/O.

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escape text for XML/HTML element content and attribute values. Also drops characters
 * XML 1.0 forbids (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/FFFF),
 * which would otherwise make an SVG file unparsable.
 */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/**
 * Escape text for Markdown inline content (table cells included) so it stays plain text in
 * VS Code's preview: backslash-escape what starts emphasis, code, links, tables, strikethrough
 * and math (backslash, backtick, * _ [ ] | ~ $), turn `<`/`&`/`>` into entities (no raw HTML reaches the
 * preview), escape a leading block marker (# + - = or "1."), and fold newlines, which
 * would break a table row or a bullet. Other punctuation is left alone to keep the source
 * readable: with `[` and `]` escaped no link can form, and breakAutolinks keeps URLs and
 * e-mail addresses in file or column names from becoming live links.
 */
export function escapeMarkdown(text: string): string {
  return breakAutolinks(String(text))
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/\s*(\r\n|\r|\n)\s*/g, ' ')
    .replace(/[\\`*_[\]|~$]/g, (c) => '\\' + c)
    .replace(/[&<>]/g, (c) => XML_ESCAPES[c]!)
    // Block markers only count when followed by a space (or alone): "- x", "# x", "1. x", "===".
    .replace(/^(\s*)(#{1,6}|[+\-]|\d{1,9}(?=[.)])|=+$)(?=[.)]?(\s|$))/, (_, space: string, mark: string) =>
      (/\d/.test(mark) ? `${space}${mark}\\` : `${space}\\${mark}`));
}

/** Zero-width space: invisible in the preview, but not part of any link in linkify-it's grammar. */
const ZWSP = '\u200B';

/**
 * Autolinks need no markup: VS Code's preview (markdown-it with linkify; schema links and
 * e-mail addresses) and GitHub (also `www.`) turn `http://…`, `//host`, `mailto:`, `a@b.c`
 * and `www.x` in plain text into live links, and backslash escapes do not stop that in the
 * markdown-it VS Code bundles (escaped characters rejoin the text before linkify runs).
 * So the text itself is changed where a link would start: a zero-width space goes between
 * the two slashes of `//`, before the colon of a scheme, before the `@` of an address and
 * after `www`. What the reader sees is unchanged.
 */
export function breakAutolinks(text: string): string {
  return text
    .replace(/\/\//g, `/${ZWSP}/`)
    .replace(/([a-z][a-z0-9+.-]*):(?=\/|[^\s]*@)/gi, `$1${ZWSP}:`)
    .replace(/@/g, `${ZWSP}@`)
    .replace(/\b(www)\./gi, `$1${ZWSP}.`);
}

/** Format a number for people: 4 significant digits, exponent form when very small/large. */
export function fmtNum(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '∞';
  if (value === -Infinity) return '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e6) return String(value);
  if (abs >= 1e-3 && abs < 1e6) {
    const s = value.toPrecision(digits);
    return s.includes('e') ? value.toExponential(digits - 1) : trimZeros(s);
  }
  const [mant, exp] = value.toExponential(digits - 1).split('e');
  return `${trimZeros(mant!)}e${Number(exp)}`;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Format a fraction as a percentage, e.g. 0.123 -> "12.3%". */
export function fmtPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return fmtNum(value ?? null);
  return `${trimZeros((value * 100).toFixed(1))}%`;
}

/** Label for a decade tick: 1e-9, 1e0, 1e3. */
export function decadeLabel(exponent: number): string {
  return `1e${exponent}`;
}

/** Folder-name-safe slug: lower-case ASCII letters, digits and single dashes; never empty. */
export function slugify(text: string, maxLength = 60): string {
  const slug = String(text)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/, '');
  return slug || 'report';
}

/** YYYY-MM-DD (UTC) of an ISO timestamp; today's date when it does not parse. */
export function isoDate(timestamp: string | undefined, now: Date = new Date()): string {
  const parsed = timestamp ? new Date(timestamp) : null;
  const date = parsed && Number.isFinite(parsed.getTime()) ? parsed : now;
  return date.toISOString().slice(0, 10);
}
