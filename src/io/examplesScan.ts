// A one-pass reader for the design §5 examples object {"x": [B][T][I], "y": [B][T][O] | [B][O]}
// straight from the file's bytes into Float64Arrays. JSON.parse builds one JS array per
// innermost row and one heap number per value: an 88 MB input took 42 s and 3 GB that way.
// Here memory is the output (8 bytes per value, grown by doubling) and time is one pass.
//
// Numbers are decoded exactly as Number() would: plain integers and decimals of at most 15
// significant digits with a decimal exponent within ±22 are one exact integer and one exact
// power of ten, so a single IEEE division or multiplication gives the correctly rounded
// value (Clinger's fast path); anything else goes through Number() on the token's text.
//
// Errors are ScanErrors carrying the byte offset and the JSON path; the caller turns them
// into one InputError line (batchJson.ts).

export class ScanError {
  constructor(
    readonly offset: number,
    readonly path: string,
    readonly detail: string,
  ) {}
}

export interface ScannedArray {
  shape: number[];
  values: Float64Array;
}

export interface ScanLimits {
  maxValues: number;
}

const SPACE = 0x20, TAB = 0x09, LF = 0x0a, CR = 0x0d;
const LBRACKET = 0x5b, RBRACKET = 0x5d, LBRACE = 0x7b, RBRACE = 0x7d, COMMA = 0x2c, COLON = 0x3a, QUOTE = 0x22;
const MINUS = 0x2d, PLUS = 0x2b, DOT = 0x2e, ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45;
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const LATIN1 = new TextDecoder('latin1');

/** Reads the whole object; `arrays` maps "x" and "y" to their depth (y: 2 or 3, decided by its shape). */
export class ExamplesScanner {
  private at = 0;
  private readonly index: number[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: ScanLimits,
  ) {}

  /** The object's fields in file order; every value must be a nested array of numbers. */
  scanObject(): Map<string, ScannedArray> {
    const b = this.bytes;
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.at = 3; // UTF-8 BOM
    this.space();
    if (b[this.at] !== LBRACE) this.fail('', this.at === b.length ? 'empty file; expected a JSON object {"x": ..., "y": ...}' : 'expected a JSON object {"x": ..., "y": ...}');
    this.at++;
    const out = new Map<string, ScannedArray>();
    this.space();
    if (b[this.at] === RBRACE) {
      this.at++;
    } else {
      for (;;) {
        this.space();
        const key = this.key();
        if (out.has(key)) this.fail(key, `field "${key}" appears twice`);
        this.space();
        if (b[this.at] !== COLON) this.fail(key, "invalid JSON: expected ':'");
        this.at++;
        this.space();
        out.set(key, this.array(key));
        this.space();
        if (b[this.at] === COMMA) { this.at++; continue; }
        if (b[this.at] === RBRACE) { this.at++; break; }
        this.fail(key, "invalid JSON: expected ',' or '}'");
      }
    }
    this.space();
    if (this.at !== b.length) this.fail('', 'invalid JSON: unexpected text after the end of the object');
    return out;
  }

  private fail(path: string, detail: string): never {
    throw new ScanError(Math.min(this.at, this.bytes.length), path, detail);
  }

  private space(): void {
    const b = this.bytes;
    let i = this.at;
    while (i < b.length) {
      const c = b[i];
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      i++;
    }
    this.at = i;
  }

  /** A key without escapes (only "x" and "y" mean anything; anything else is reported by name). */
  private key(): string {
    const b = this.bytes;
    if (b[this.at] !== QUOTE) this.fail('', 'invalid JSON: expected a property name in double quotes');
    const start = ++this.at;
    while (this.at < b.length && b[this.at] !== QUOTE) {
      if (b[this.at] === 0x5c || b[this.at] < 0x20 || b[this.at] >= 0x80) this.fail('', 'unexpected field name; expected only "x" and "y"');
      this.at++;
      if (this.at - start > 64) this.fail('', 'unexpected field name; expected only "x" and "y"');
    }
    if (this.at >= b.length) this.fail('', 'invalid JSON: string never closed');
    const key = LATIN1.decode(b.subarray(start, this.at));
    this.at++;
    return key;
  }

  private pathText(name: string, depth: number): string {
    let s = name;
    for (let d = 0; d < depth; d++) s += `[${this.index[d]}]`;
    return s;
  }

  /**
   * A rectangular nested array of finite numbers. The first array met at each depth fixes
   * that depth's length; numbers may only appear at the depth where the first one did.
   */
  private array(name: string): ScannedArray {
    const b = this.bytes;
    const shape: number[] = [];
    let leafDepth = -1;
    let values = new Float64Array(1024);
    let count = 0;
    let depth = 0;
    this.index.length = 0;
    if (b[this.at] !== LBRACKET) this.fail(name, `${name}: expected an array, found ${this.describeHere()}`);
    // An explicit stack (index[] holds the position at each open depth): no recursion, so
    // nesting depth cannot overflow anything.
    this.at++;
    this.index[0] = 0;
    depth = 1;
    for (;;) {
      this.space();
      const c = b[this.at];
      if (c === RBRACKET) {
        const length = this.index[depth - 1];
        const d = depth - 1;
        if (length === 0) this.fail(name, `${this.pathText(name, d)}: empty array; expected at least one element`);
        if (shape[d] === undefined) shape[d] = length;
        else if (shape[d] !== length) this.fail(name, `${this.pathText(name, d)}: expected ${shape[d]} elements (as in the first), found ${length}`);
        this.at++;
        depth--;
        if (depth === 0) break;
        this.afterElement(name, depth);
        continue;
      }
      const d = depth; // the depth of the element that starts here
      const i = this.index[d - 1];
      if (shape[d - 1] !== undefined && i >= shape[d - 1]) {
        this.fail(name, `${this.pathText(name, d - 1)}: expected ${shape[d - 1]} elements (as in the first), found more`);
      }
      if (c === LBRACKET) {
        if (leafDepth !== -1 && d >= leafDepth) {
          this.index[d - 1] = i;
          this.fail(name, `${this.pathText(name, d)}: expected a finite number, found an array`);
        }
        this.at++;
        this.index[d] = 0;
        depth++;
        continue;
      }
      // A number (or something that is not one).
      if (leafDepth === -1) leafDepth = d;
      else if (d !== leafDepth) this.fail(name, `${this.pathText(name, d)}: expected an array of ${shape[d] ?? 'numbers'}, found ${this.describeHere()}`);
      const v = this.number(name, d);
      if (count === values.length) {
        if (count >= this.limits.maxValues) this.fail(name, `${name} holds more than ${this.limits.maxValues} values; the limit is ${this.limits.maxValues}`);
        const grown = new Float64Array(Math.min(values.length * 2, this.limits.maxValues));
        grown.set(values);
        values = grown;
      }
      values[count++] = v;
      this.afterElement(name, depth);
    }
    if (leafDepth === -1) this.fail(name, `${name}: expected numbers inside the arrays, found none`);
    return { shape: shape.slice(0, leafDepth), values: values.subarray(0, count) };
  }

  /** After an element at `depth`: a comma (then another element) or the closing bracket. */
  private afterElement(name: string, depth: number): void {
    const b = this.bytes;
    this.space();
    this.index[depth - 1]++;
    if (b[this.at] === COMMA) {
      this.at++;
      this.space();
      if (b[this.at] === RBRACKET) this.fail(name, 'invalid JSON: trailing comma');
    } else if (b[this.at] !== RBRACKET) {
      this.fail(name, this.at >= b.length ? 'invalid JSON: the file ends inside an array' : "invalid JSON: expected ',' or ']'");
    }
  }

  private describeHere(): string {
    const c = this.bytes[this.at];
    if (c === undefined) return 'the end of the file';
    if (c === QUOTE) return 'a string';
    if (c === LBRACE) return 'an object';
    if (c === LBRACKET) return 'an array';
    if (c === 0x6e) return 'null';
    if (c === 0x74 || c === 0x66) return 'a boolean';
    return `'${LATIN1.decode(this.bytes.subarray(this.at, Math.min(this.at + 12, this.bytes.length))).replace(/[^\x20-\x7e]/g, '?')}'`;
  }

  /** One JSON number, checked finite. */
  private number(name: string, depth: number): number {
    const b = this.bytes;
    const start = this.at;
    let i = start;
    let negative = false;
    if (b[i] === MINUS) { negative = true; i++; }
    const intStart = i;
    let mantissa = 0;
    let digits = 0; // significant digits in the mantissa
    if (b[i] === ZERO) {
      i++;
    } else if (b[i] > ZERO && b[i] <= NINE) {
      while (b[i] >= ZERO && b[i] <= NINE) {
        if (digits < 16) mantissa = mantissa * 10 + (b[i] - ZERO);
        digits++;
        i++;
      }
    } else {
      this.at = start;
      this.fail(name, `${this.pathText(name, depth)}: expected a finite number, found ${this.describeHere()}`);
    }
    let scale = 0;
    if (b[i] === DOT) {
      i++;
      if (!(b[i] >= ZERO && b[i] <= NINE)) { this.at = i; this.fail(name, 'invalid JSON: malformed number'); }
      while (b[i] >= ZERO && b[i] <= NINE) {
        if (digits === 0 && b[i] === ZERO) { scale--; i++; continue; } // leading zeros of 0.000123
        if (digits < 16) { mantissa = mantissa * 10 + (b[i] - ZERO); scale--; }
        digits++;
        i++;
      }
    }
    let exponent = 0;
    let exponentDigits = 0;
    if (b[i] === LOWER_E || b[i] === UPPER_E) {
      i++;
      let expNegative = false;
      if (b[i] === PLUS || b[i] === MINUS) { expNegative = b[i] === MINUS; i++; }
      if (!(b[i] >= ZERO && b[i] <= NINE)) { this.at = i; this.fail(name, 'invalid JSON: malformed number'); }
      while (b[i] >= ZERO && b[i] <= NINE) {
        if (exponentDigits < 9) exponent = exponent * 10 + (b[i] - ZERO);
        exponentDigits++;
        i++;
      }
      if (expNegative) exponent = -exponent;
    }
    this.at = i;
    if (i === intStart) this.fail(name, 'invalid JSON: malformed number');
    let value: number;
    const e10 = scale + exponent;
    if (digits <= 15 && exponentDigits < 9 && e10 >= -22 && e10 <= 22) {
      // Exact mantissa, exact power of ten: one correctly rounded operation.
      value = e10 < 0 ? mantissa / POW10[-e10] : mantissa * POW10[e10];
      if (negative) value = -value;
    } else {
      value = Number(tokenText(b, start, i));
    }
    if (!Number.isFinite(value)) {
      this.at = start;
      this.fail(name, `${this.pathText(name, depth)}: expected a finite number, found ${LATIN1.decode(b.subarray(start, Math.min(i, start + 24)))} (out of range)`);
    }
    return value;
  }
}

/** A short ASCII token as a string (cheaper than a TextDecoder call per number). */
function tokenText(b: Uint8Array, start: number, end: number): string {
  if (end - start > 64) return LATIN1.decode(b.subarray(start, end));
  let s = '';
  for (let k = start; k < end; k++) s += String.fromCharCode(b[k]);
  return s;
}

/** 1-based line of a byte offset (LF, CRLF and lone CR each end a line). */
export function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    if (bytes[i] === LF) line++;
    else if (bytes[i] === CR && bytes[i + 1] !== LF) line++;
  }
  return line;
}
