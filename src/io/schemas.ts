// The published JSON Schemas (schemas/*.schema.json, draft-07) enforced with Ajv, plus a
// walk that refuses keys which would reach an object's prototype. Used by the report reader
// (worker side), by the captures reader for a capture's header, and by anyone holding a run
// record. The first problem comes back as { path, message }, the path in the reader's own
// notation (runs[2].layers[0].gradNormH[7]) so the caller can name the line.
//
// Ajv compiles each schema to a function once, on first use (a few milliseconds).
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import captureSchema from '../../schemas/capture.schema.json';
import reportSchema from '../../schemas/report.schema.json';
import runSchema from '../../schemas/run.schema.json';

export type SchemaName = 'run' | 'report' | 'capture';

export interface SchemaProblem {
  /** JSON path in reader notation ('' for the document itself). */
  path: string;
  message: string;
}

const SCHEMAS: Record<SchemaName, { $id: string }> = { run: runSchema, report: reportSchema, capture: captureSchema };
let ajv: Ajv | null = null;

/** The compiled validator of one schema (each compiled on first use). */
function validator(name: SchemaName): ValidateFunction {
  if (!ajv) {
    ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
    // The report schema refers to the run schema's definitions by its $id.
    ajv.addSchema(runSchema);
  }
  const found = ajv.getSchema(SCHEMAS[name].$id);
  if (found) return found;
  return ajv.compile(SCHEMAS[name]);
}

/** The published schemas, for tests and tools. */
export function publishedSchema(name: SchemaName): object {
  return SCHEMAS[name];
}

/** Keys that would reach or replace a prototype if a reader ever assigned them. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first problem of `value` against schema `name`, or null when it conforms. */
export function schemaProblem(name: SchemaName, value: unknown, options: { prototypeKeysOnly?: boolean; skipPrototypeKeys?: boolean } = {}): SchemaProblem | null {
  const hostile = options.skipPrototypeKeys ? null : prototypeKey(value);
  if (hostile || options.prototypeKeysOnly) return hostile;
  const validate = validator(name);
  if (validate(value)) return null;
  return describeErrors(validate.errors ?? [], value);
}

/** Walks every object (numbers in arrays are skipped cheaply) looking for __proto__ & co. */
function prototypeKey(root: unknown): SchemaProblem | null {
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (v !== null && typeof v === 'object') stack.push({ value: v, path: `${path}[${i}]` });
      }
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const at = path ? `${path}.${key}` : key;
        if (PROTOTYPE_KEYS.has(key)) return { path: at, message: `the key "${key}" is not allowed (it could reach an object's prototype)` };
        const v = (value as Record<string, unknown>)[key];
        if (v !== null && typeof v === 'object') stack.push({ value: v, path: at });
      }
    }
  }
  return null;
}

/** "/runs/2/layers/0" -> "runs[2].layers[0]" */
function readerPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

function at(value: unknown, pointer: string): unknown {
  let v = value;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

const TYPE_NAMES: Record<string, string> = { number: 'a number', integer: 'an integer', string: 'a string', object: 'an object', array: 'an array', boolean: 'true or false', null: 'null' };

/** One readable sentence from Ajv's errors: the deepest path, and what was expected there. */
function describeErrors(errors: ErrorObject[], root: unknown): SchemaProblem {
  const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'required' ? 1 : 0);
  const deepest = Math.max(...errors.map(depth).slice(0, 50), 0);
  const here = errors.filter((e) => depth(e) === deepest && e.keyword !== 'anyOf' && e.keyword !== 'allOf' && e.keyword !== 'if');
  const first = here.find((e) => e.keyword !== 'type') ?? here[0] ?? errors[0]!;
  const pointer = first.instancePath;
  const value = at(root, pointer);
  const p = first.params as Record<string, unknown>;
  let message: string;
  switch (first.keyword) {
    case 'required':
      return { path: readerPath(`${pointer}/${String(p.missingProperty)}`), message: 'expected this field, but it is missing' };
    case 'type': {
      const types = here.filter((e) => e.keyword === 'type').flatMap((e) => String((e.params as { type: string }).type).split(','));
      message = `expected ${[...new Set(types)].map((t) => TYPE_NAMES[t] ?? t).join(' or ')}, got ${shown(value)}`;
      break;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      message = `${shown(value)} is out of range: it ${first.message}`;
      break;
    case 'const':
      message = `expected ${JSON.stringify(p.allowedValue)}, got ${shown(value)}`;
      break;
    case 'enum':
      message = `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${shown(value)}`;
      break;
    case 'minItems':
    case 'maxItems':
      message = `${shown(value)}: ${first.message}`;
      break;
    default:
      message = `${first.message ?? first.keyword}, got ${shown(value)}`;
  }
  return { path: readerPath(pointer), message };
}
