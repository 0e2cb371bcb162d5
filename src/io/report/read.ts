// Reads report.json back (the extension's "Open Saved Report" redraws every chart from it).
// Every problem becomes an InputError naming the file, the line when JSON.parse reports a
// position, and the JSON path of the offending value; nothing else is ever thrown.
// A null inside a number series (how report.json stores NaN/Infinity) is read back as NaN.
// Four stages, each naming the first problem: keys that could reach a prototype are refused;
// the Reader below checks types and builds the Report; the published JSON Schema
// (schemas/report.schema.json, Ajv) checks ranges (norms >= 0, rates in [0, 1], ...); and
// semantics.ts checks what no schema can say (series of length T, itemized lower-triangular,
// layer indices that fit the config, horizon <= T). The extension runs this in a worker.
import { findNodeAtLocation, parse as parseJsonc, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { InputError } from '../errors';
import { readGuarded } from '../guardedRead';
import type { LayerRecord, NonFinite } from '../../engine/types';
import type {
  RunRecord, Diagnosis, DiagnosisThresholds, Recommendation, RecordedIteration, Report, ReportRun, SeedSpread, Spread, StudyInfo, ReportKind, TrainingHistory, Verdict,
} from '../../study/types';
import { REPORT_SCHEMA } from './json';
import { schemaProblem, type SchemaName } from '../schemas';
import { checkReportSemantics, checkRunSemantics, SemanticError } from './semantics';

const MAX_CONFIG_DEPTH = 8;
/** The longest sequence anything in BPTT Lens records (the CLI's input limit). */
const MAX_TIMESTEPS = 1_000_000;
/** How report.json spells the value of a nonFinite record that JSON cannot hold. */
const NON_FINITE_TEXT: readonly unknown[] = ['NaN', 'Infinity', '-Infinity'];
const VERDICTS: readonly Verdict[] = ['vanishing', 'exploding', 'healthy'];
const STUDY_KINDS: readonly ReportKind[] = ['diagnosis', 'clipping', 'gates', 'captures', 'probe'];

/** Parse and validate report.json text. Throws only InputError. */
export function parseReport(text: string, file: string): Report {
  return parseChecked(text, file, 'report', (raw, source) => {
    // Walking every value for prototype keys costs seconds on a big report: only when the
    // text could spell one (the key itself, or any \u escape, which could spell it too).
    if (MAYBE_PROTOTYPE_KEY.test(source)) {
      const hostile = schemaProblem('report', raw, { prototypeKeysOnly: true });
      if (hostile) throw new PathError(hostile.path, hostile.message);
    }
    const report = new Reader().report(raw);
    // Sizes first (cheap, and they refuse a 3000 x 3000 matrix before anything walks it), then ranges.
    checkReportSemantics(report);
    checkSchema('report', raw, { prototypeKeysChecked: true });
    return report;
  });
}

/** Reads (guarded: a regular file within the report cap) and validates a report.json. Throws only InputError. */
export async function readReportFile(file: string): Promise<Report> {
  return parseReport((await readGuarded(file, 'report')).toString('utf8'), file);
}

/**
 * A run record file (`bptt-lens gradients` output, schema bptt-lens/run@1), checked against
 * schemas/run.schema.json and the same semantic checks as a report's runs.
 */
export function parseRunRecordText(text: string, file: string): RunRecord {
  return parseChecked(text, file, 'run record', (raw) => {
    checkSchema('run', raw);
    const record = raw as RunRecord;
    checkRunSemantics(record, '');
    return record;
  });
}

/**
 * JSON.parse, then `check`; every failure becomes one InputError naming the file, and the
 * line of the JSON path where there is one.
 */
function parseChecked<T>(text: string, file: string, noun: 'report' | 'run record', check: (raw: unknown, source: string) => T): T {
  const source = typeof text === 'string' ? text.replace(/^\uFEFF/, '') : String(text);
  let raw: unknown;
  try {
    raw = JSON.parse(source);
  } catch (e) {
    throw syntaxError(source, file, e);
  }
  try {
    return check(raw, source);
  } catch (e) {
    if (e instanceof PathError || e instanceof SemanticError) {
      const path = e.path.replace(/^\./, '');
      throw new InputError(file, lineOfPath(source, path), `${path || (noun === 'report' ? 'report' : 'record')}: ${e.message}`);
    }
    // A bug in the checks must still surface as a clear input message.
    throw new InputError(file, null, `could not read the ${noun} (${e instanceof Error ? e.message : String(e)})`);
  }
}

const MAYBE_PROTOTYPE_KEY = /"(?:__proto__|constructor|prototype)"|\\u/;

function checkSchema(name: SchemaName, raw: unknown, options: { prototypeKeysChecked?: boolean } = {}): void {
  const problem = schemaProblem(name, raw, { skipPrototypeKeys: options.prototypeKeysChecked });
  if (problem) throw new PathError(problem.path, problem.message);
}

/** A validation failure at a JSON path such as runs[2].history.loss[7]. */
class PathError {
  constructor(readonly path: string, readonly message: string) {}
}

// Keyed by jsonc-parser's printParseErrorCode names (its enum is const, unusable here).
const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':'",
  CommaExpected: "expected ',' or a closing bracket",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in report.json',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** JSON.parse says what is wrong but rarely where; jsonc-parser (strict options) gives the offset. */
function syntaxError(text: string, file: string, cause: unknown): InputError {
  const errors: ParseError[] = [];
  try {
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  } catch {
    // jsonc-parser recurses per nesting level; absurdly deep input overflows it.
    return new InputError(file, null, 'not valid JSON (nested too deeply)');
  }
  const first = errors[0];
  if (first) return new InputError(file, lineAt(text, first.offset), `not valid JSON: ${SYNTAX_MESSAGES[printParseErrorCode(first.error)] ?? 'syntax error'}`);
  const message = cause instanceof Error ? cause.message : String(cause);
  return new InputError(file, null, `not valid JSON (${truncate(message, 160)})`);
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(offset, text.length); i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Above this, finding the line of a path (jsonc-parser's tree: ~200 ms per MB) is not worth it: the path names the place. */
const MAX_TEXT_FOR_LINES = 4 * 1024 * 1024;

/** Line of the value at a path like runs[2].history.loss[7], or null. */
function lineOfPath(text: string, path: string): number | null {
  if (text.length > MAX_TEXT_FOR_LINES) return null;
  try {
    const root = parseTree(text);
    if (!root) return null;
    const segments: (string | number)[] = [];
    for (const m of path.replace(/^report\.?/, '').matchAll(/\[(\d+)\]|\.?([^.[\]]+)/g)) segments.push(m[1] !== undefined ? Number(m[1]) : m[2]!);
    // The deepest existing node: a missing field is reported where its parent starts.
    for (let n = segments.length; n >= 0; n--) {
      const node = findNodeAtLocation(root, segments.slice(0, n));
      if (node) return lineAt(text, node.offset);
    }
    return null;
  } catch {
    return null;
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(truncate(v, 40))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

type Obj = Record<string, unknown>;

class Reader {
  private fail(path: string, expected: string, got: unknown): never {
    throw new PathError(path, `expected ${expected}, got ${describe(got)}`);
  }

  private obj(v: unknown, path: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Obj;
  }

  /** An object kept as it is (run configs): bounded nesting, so writing it back cannot overflow the stack. */
  private shallow(v: unknown, path: string): Obj {
    const o = this.obj(v, path);
    const depth = (x: unknown, d: number): void => {
      if (x === null || typeof x !== 'object') return;
      if (d > MAX_CONFIG_DEPTH) throw new PathError(path, `nested more than ${MAX_CONFIG_DEPTH} levels deep`);
      for (const y of Object.values(x)) depth(y, d + 1);
    };
    depth(o, 1);
    return o;
  }

  private arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'an array', v);
    return v;
  }

  private str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'a string', v);
    return v;
  }

  /** A number; null (a non-finite value in report.json) reads as NaN. */
  private num(v: unknown, path: string): number {
    if (v === null) return NaN;
    if (typeof v !== 'number') this.fail(path, 'a number', v);
    return v;
  }

  private numOrNull(v: unknown, path: string): number | null {
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number') this.fail(path, 'a number or null', v);
    return v;
  }

  private int(v: unknown, path: string, min = 0, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(path, max === Infinity ? `an integer >= ${min}` : `an integer >= ${min} and <= ${max}`, v);
    return v;
  }

  private intOrNull(v: unknown, path: string): number | null {
    return v === null || v === undefined ? null : this.int(v, path);
  }

  private series(v: unknown, path: string): number[] {
    const a = this.arr(v, path);
    const out = new Array<number>(a.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (x === null) out[i] = NaN;
      else if (typeof x === 'number') out[i] = x;
      else this.fail(`${path}[${i}]`, 'a number or null', x);
    }
    return out;
  }

  private seriesOrNull(v: unknown, path: string): number[] | null {
    return v === null || v === undefined ? null : this.series(v, path);
  }

  private seriesMap(v: unknown, path: string): Record<string, number[]> {
    const o = this.obj(v ?? {}, path);
    // Keys come from the file: define them as own properties (never through a setter such as
    // __proto__'s), and such keys are refused before this anyway.
    const out: Record<string, number[]> = {};
    for (const [k, s] of Object.entries(o)) Object.defineProperty(out, k, { value: this.series(s, `${path}.${k}`), enumerable: true, writable: true, configurable: true });
    return out;
  }

  private lengthIs(series: number[], n: number, path: string): void {
    if (series.length !== n) throw new PathError(path, `expected ${n} values (one per timestep), got ${series.length}`);
  }

  /**
   * The validated fields in `known`, plus every other field of `o` kept as it is (depth-
   * bounded), in the order of `o`: newer writers' additions survive a read and re-save.
   */
  private merge<T extends object>(o: Obj, known: T, path: string): T {
    const out: Record<string, unknown> = {};
    const put = (k: string, v: unknown) => { if (k !== '__proto__' && v !== undefined) out[k] = v; };
    for (const k of Object.keys(o)) put(k, k in known ? (known as Record<string, unknown>)[k] : this.bounded(o[k], `${path}.${k}`));
    for (const [k, v] of Object.entries(known)) if (!(k in out)) put(k, v);
    return out as T;
  }

  private bounded(v: unknown, path: string): unknown {
    if (v !== null && typeof v === 'object') this.shallow({ v }, path);
    return v;
  }

  report(raw: unknown): Report {
    const o = this.obj(raw, 'report');
    if (o.schema !== REPORT_SCHEMA) {
      throw new PathError('schema', `expected "${REPORT_SCHEMA}", got ${describe(o.schema)} (not a BPTT Lens report, or a newer version)`);
    }
    const study = this.study(o.study, 'study');
    const runs = this.arr(o.runs, 'runs').map((r, i) => this.run(r, `runs[${i}]`));
    const ids = new Set<string>();
    runs.forEach((r, i) => {
      if (ids.has(r.id)) throw new PathError(`runs[${i}].id`, `"${truncate(r.id, 40)}" is already used by an earlier run`);
      ids.add(r.id);
    });
    return this.merge(o, { schema: REPORT_SCHEMA, study, runs } as Report, 'report');
  }

  private study(v: unknown, path: string): StudyInfo {
    const o = this.obj(v, path);
    const kind = o.kind;
    if (!STUDY_KINDS.includes(kind as ReportKind)) this.fail(`${path}.kind`, STUDY_KINDS.map((k) => `"${k}"`).join(' | '), kind);
    return this.merge(o, {
      kind: kind as ReportKind,
      name: this.str(o.name, `${path}.name`),
      source: this.str(o.source, `${path}.source`),
      description: this.str(o.description ?? '', `${path}.description`),
      task: this.str(o.task ?? '', `${path}.task`),
      createdAt: this.str(o.createdAt, `${path}.createdAt`),
      thresholds: this.thresholds(o.thresholds, `${path}.thresholds`),
    }, path);
  }

  private thresholds(v: unknown, path: string): DiagnosisThresholds {
    const o = this.obj(v, path);
    return this.merge(o, {
      explodeGrowth: this.num(o.explodeGrowth, `${path}.explodeGrowth`),
      vanishEpsilon: this.num(o.vanishEpsilon, `${path}.vanishEpsilon`),
      rhoDelta: this.num(o.rhoDelta, `${path}.rhoDelta`),
    }, path);
  }

  private run(v: unknown, path: string): ReportRun {
    const o = this.obj(v, path);
    if (o.schema !== undefined && o.schema !== 'bptt-lens/run@1') this.fail(`${path}.schema`, '"bptt-lens/run@1"', o.schema);
    const config = this.shallow(o.config, `${path}.config`);
    const clip = config.clip;
    if (clip !== undefined) this.clip(clip, `${path}.config.clip`);
    const timesteps = this.int(o.timesteps, `${path}.timesteps`, 0, MAX_TIMESTEPS);
    const optionalDiagnosis = (d: unknown, p: string) => (d === null ? null : d === undefined ? undefined : this.diagnosis(d, p));
    const known: ReportRun = {
      schema: 'bptt-lens/run@1',
      id: this.str(o.id, `${path}.id`),
      label: this.str(o.label, `${path}.label`),
      config: { ...config },
      timesteps,
      layers: this.layers(o.layers, `${path}.layers`, timesteps),
      inputGradNorm: this.series(o.inputGradNorm ?? [], `${path}.inputGradNorm`),
      loss: this.num(o.loss, `${path}.loss`),
      globalGradNorm: this.num(o.globalGradNorm, `${path}.globalGradNorm`),
      clippedGradNorm: this.num(o.clippedGradNorm, `${path}.clippedGradNorm`),
      nonFinite: o.nonFinite === null || o.nonFinite === undefined ? null : this.nonFinite(o.nonFinite, `${path}.nonFinite`),
      itemized: o.itemized === null || o.itemized === undefined
        ? null
        : this.arr(o.itemized, `${path}.itemized`).map((row, s) => this.series(row, `${path}.itemized[${s}]`)),
      diagnosis: optionalDiagnosis(o.diagnosis, `${path}.diagnosis`) ?? null,
      history: this.history(o.history, `${path}.history`, timesteps),
      recommendations: this.arr(o.recommendations ?? [], `${path}.recommendations`).map((r, i) => this.recommendation(r, `${path}.recommendations[${i}]`)),
      seeds: o.seeds === undefined ? undefined : this.series(o.seeds, `${path}.seeds`),
      initialDiagnosis: optionalDiagnosis(o.initialDiagnosis, `${path}.initialDiagnosis`),
      group: o.group === undefined ? undefined : this.str(o.group, `${path}.group`),
      seedSpread: o.seedSpread === undefined ? undefined : o.seedSpread === null ? null : this.seedSpread(o.seedSpread, `${path}.seedSpread`),
    };
    return this.merge(o, known, path);
  }

  private seedSpread(v: unknown, path: string): SeedSpread {
    const o = this.obj(v, path);
    return this.merge(o, {
      finalLoss: this.spread(o.finalLoss, `${path}.finalLoss`),
      decayPerStep: o.decayPerStep === null || o.decayPerStep === undefined ? null : this.spread(o.decayPerStep, `${path}.decayPerStep`),
    }, path);
  }

  private spread(v: unknown, path: string): Spread {
    const o = this.obj(v, path);
    return this.merge(o, { min: this.num(o.min, `${path}.min`), median: this.num(o.median, `${path}.median`), max: this.num(o.max, `${path}.max`) }, path);
  }

  private clip(v: unknown, path: string): void {
    const o = this.obj(v, path);
    if (o.kind === 'none') return;
    if (o.kind !== 'norm' && o.kind !== 'value') this.fail(`${path}.kind`, '"none" | "norm" | "value"', o.kind);
    this.num(o.threshold, `${path}.threshold`);
  }

  private layers(v: unknown, path: string, timesteps: number): LayerRecord[] {
    return this.arr(v, path).map((l, i) => this.layer(l, `${path}[${i}]`, timesteps));
  }

  private layer(v: unknown, path: string, timesteps: number): LayerRecord {
    const o = this.obj(v, path);
    const direction = o.direction ?? 'forward';
    if (direction !== 'forward' && direction !== 'reverse') this.fail(`${path}.direction`, '"forward" | "reverse"', direction);
    const gradNormH = this.series(o.gradNormH, `${path}.gradNormH`);
    this.lengthIs(gradNormH, timesteps, `${path}.gradNormH`);
    return this.merge(o, {
      layer: this.int(o.layer, `${path}.layer`),
      direction,
      gradNormH,
      gradNormC: this.seriesOrNull(o.gradNormC, `${path}.gradNormC`),
      gateGradNorm: this.seriesMap(o.gateGradNorm, `${path}.gateGradNorm`),
      gateMean: this.seriesMap(o.gateMean, `${path}.gateMean`),
      gateSaturation: this.seriesMap(o.gateSaturation, `${path}.gateSaturation`),
      weightGradByStep: this.series(o.weightGradByStep ?? [], `${path}.weightGradByStep`),
      jacobianNorm: this.seriesOrNull(o.jacobianNorm, `${path}.jacobianNorm`),
    }, path);
  }

  private nonFinite(v: unknown, path: string): NonFinite {
    const o = this.obj(v, path);
    const { valueText, ...rest } = o;
    return this.merge(rest, {
      quantity: this.str(o.quantity, `${path}.quantity`),
      layer: this.intOrNull(o.layer, `${path}.layer`),
      t: this.intOrNull(o.t, `${path}.t`),
      // serializeReport writes the kind of a non-finite value beside its null.
      value: o.value === null && NON_FINITE_TEXT.includes(valueText) ? Number(valueText) : this.num(o.value ?? null, `${path}.value`),
    }, path);
  }

  private diagnosis(v: unknown, path: string): Diagnosis {
    const o = this.obj(v, path);
    const verdict = o.verdict;
    if (!VERDICTS.includes(verdict as Verdict)) this.fail(`${path}.verdict`, VERDICTS.map((k) => `"${k}"`).join(' | '), verdict);
    return this.merge(o, {
      decayPerStep: this.numOrNull(o.decayPerStep, `${path}.decayPerStep`),
      horizon: this.intOrNull(o.horizon, `${path}.horizon`),
      verdict: verdict as Verdict,
      evidence: this.arr(o.evidence ?? [], `${path}.evidence`).map((e, i) => this.str(e, `${path}.evidence[${i}]`)),
      lagProfile: this.series(o.lagProfile ?? [], `${path}.lagProfile`),
    }, path);
  }

  private history(v: unknown, path: string, timesteps: number): TrainingHistory {
    const o = this.obj(v, path);
    return this.merge(o, {
      loss: this.series(o.loss, `${path}.loss`),
      preClipNorm: this.series(o.preClipNorm, `${path}.preClipNorm`),
      postClipNorm: this.series(o.postClipNorm, `${path}.postClipNorm`),
      clipRate: this.num(o.clipRate ?? null, `${path}.clipRate`),
      recorded: this.arr(o.recorded ?? [], `${path}.recorded`).map((r, i) => this.recorded(r, `${path}.recorded[${i}]`, timesteps)),
      stoppedAt: o.stoppedAt === undefined ? undefined : this.intOrNull(o.stoppedAt, `${path}.stoppedAt`),
    }, path);
  }

  private recorded(v: unknown, path: string, timesteps: number): RecordedIteration {
    const o = this.obj(v, path);
    return this.merge(o, {
      iteration: this.int(o.iteration, `${path}.iteration`),
      layers: this.layers(o.layers, `${path}.layers`, timesteps),
      inputGradNorm: this.series(o.inputGradNorm ?? [], `${path}.inputGradNorm`),
      lagProfile: this.series(o.lagProfile ?? [], `${path}.lagProfile`),
      loss: o.loss === undefined ? undefined : this.num(o.loss, `${path}.loss`),
    }, path);
  }

  private recommendation(v: unknown, path: string): Recommendation {
    const o = this.obj(v, path);
    const known: Recommendation = {
      title: this.str(o.title, `${path}.title`),
      rationale: this.str(o.rationale ?? '', `${path}.rationale`),
      change: { ...this.shallow(o.change ?? {}, `${path}.change`) },
      check: o.check === undefined ? undefined : o.check === null ? null : this.check(o.check, `${path}.check`),
    };
    return this.merge(o, known, path);
  }

  private check(v: unknown, path: string): NonNullable<Recommendation['check']> {
    const c = this.obj(v, path);
    const verdict = c.verdict;
    if (!VERDICTS.includes(verdict as Verdict)) this.fail(`${path}.verdict`, VERDICTS.map((k) => `"${k}"`).join(' | '), verdict);
    return this.merge(c, {
      runId: this.str(c.runId, `${path}.runId`),
      verdict: verdict as Verdict,
      finalLoss: this.num(c.finalLoss, `${path}.finalLoss`),
      decayPerStep: c.decayPerStep === undefined ? undefined : this.numOrNull(c.decayPerStep, `${path}.decayPerStep`),
      horizon: c.horizon === undefined ? undefined : this.intOrNull(c.horizon, `${path}.horizon`),
    }, path);
  }
}
