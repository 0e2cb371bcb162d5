// Shape checks for what the host posts. The host is ours, but the report it forwards may
// come from a report.json on disk that anyone could have edited, so every field the UI
// reads is checked here once; the views then trust the types. Non-finite numbers arrive
// as null (JSON), so number series are (number | null)[].
import type { HostToWebview } from '../src/protocol';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Caps that keep a hostile file from freezing the page. */
export const LIMITS = { runs: 2000, seriesLength: 1_000_000, strings: 20_000, evidence: 200, layers: 64, recorded: 100_000 };

class ShapeError extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new ShapeError(`${path}: expected ${what}`);
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object');
  return v as Obj;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length > LIMITS.strings) fail(path, 'a string');
  return v;
}

function optStr(v: unknown, path: string): void {
  if (v !== undefined) str(v, path);
}

/** A number or null (JSON's non-finite). */
function numOrNull(v: unknown, path: string): void {
  if (v !== null && typeof v !== 'number') fail(path, 'a number or null');
}

function optNumOrNull(v: unknown, path: string): void {
  if (v !== undefined) numOrNull(v, path);
}

function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) fail(path, `an array (at most ${max} items)`);
  return v;
}

function numArray(v: unknown, path: string): void {
  const a = arr(v, path, LIMITS.seriesLength);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x !== null && typeof x !== 'number') fail(`${path}[${i}]`, 'a number or null');
  }
}

function numArrayOrNull(v: unknown, path: string): void {
  if (v !== null && v !== undefined) numArray(v, path);
}

function seriesRecord(v: unknown, path: string): void {
  if (v === undefined) return;
  const o = obj(v, path);
  for (const k of Object.keys(o)) numArray(o[k], `${path}.${k}`);
}

function layer(v: unknown, path: string): void {
  const o = obj(v, path);
  if (!Number.isInteger(o.layer)) fail(`${path}.layer`, 'an integer');
  if (o.direction !== 'forward' && o.direction !== 'reverse') fail(`${path}.direction`, "'forward' or 'reverse'");
  numArray(o.gradNormH, `${path}.gradNormH`);
  numArrayOrNull(o.gradNormC, `${path}.gradNormC`);
  numArrayOrNull(o.weightGradByStep, `${path}.weightGradByStep`);
  numArrayOrNull(o.jacobianNorm, `${path}.jacobianNorm`);
  seriesRecord(o.gateGradNorm, `${path}.gateGradNorm`);
  seriesRecord(o.gateMean, `${path}.gateMean`);
  seriesRecord(o.gateSaturation, `${path}.gateSaturation`);
}

function layers(v: unknown, path: string): void {
  arr(v, path, LIMITS.layers).forEach((l, i) => layer(l, `${path}[${i}]`));
}

const VERDICTS = ['vanishing', 'exploding', 'healthy'];

function verdict(v: unknown, path: string): void {
  if (typeof v !== 'string' || !VERDICTS.includes(v)) fail(path, 'vanishing, exploding or healthy');
}

function diagnosis(v: unknown, path: string): void {
  if (v === null || v === undefined) return;
  const o = obj(v, path);
  numOrNull(o.decayPerStep, `${path}.decayPerStep`);
  numOrNull(o.horizon, `${path}.horizon`);
  verdict(o.verdict, `${path}.verdict`);
  arr(o.evidence, `${path}.evidence`, LIMITS.evidence).forEach((e, i) => str(e, `${path}.evidence[${i}]`));
  numArray(o.lagProfile, `${path}.lagProfile`);
}

function clip(v: unknown, path: string): void {
  if (v === undefined) return;
  const o = obj(v, path);
  if (o.kind === 'none') return;
  if (o.kind !== 'norm' && o.kind !== 'value') fail(`${path}.kind`, "'none', 'norm' or 'value'");
  numOrNull(o.threshold, `${path}.threshold`);
}

function recommendation(v: unknown, path: string): void {
  const o = obj(v, path);
  str(o.title, `${path}.title`);
  str(o.rationale, `${path}.rationale`);
  obj(o.change, `${path}.change`);
  if (o.check !== undefined && o.check !== null) {
    const c = obj(o.check, `${path}.check`);
    str(c.runId, `${path}.check.runId`);
    verdict(c.verdict, `${path}.check.verdict`);
    numOrNull(c.finalLoss, `${path}.check.finalLoss`);
    optNumOrNull(c.decayPerStep, `${path}.check.decayPerStep`);
    optNumOrNull(c.horizon, `${path}.check.horizon`);
  }
}

function spread(v: unknown, path: string): void {
  if (v === null || v === undefined) return;
  const o = obj(v, path);
  numOrNull(o.min, `${path}.min`);
  numOrNull(o.median, `${path}.median`);
  numOrNull(o.max, `${path}.max`);
}

function run(v: unknown, path: string): void {
  const o = obj(v, path);
  str(o.id, `${path}.id`);
  str(o.label, `${path}.label`);
  if (!Number.isInteger(o.timesteps) || (o.timesteps as number) < 0) fail(`${path}.timesteps`, 'a whole number');
  const config = obj(o.config, `${path}.config`);
  clip(config.clip, `${path}.config.clip`);
  optStr(config.cellChoice, `${path}.config.cellChoice`);
  optNumOrNull(config.learningRate, `${path}.config.learningRate`);
  layers(o.layers, `${path}.layers`);
  numArrayOrNull(o.inputGradNorm, `${path}.inputGradNorm`);
  optNumOrNull(o.loss, `${path}.loss`);
  optNumOrNull(o.globalGradNorm, `${path}.globalGradNorm`);
  optNumOrNull(o.clippedGradNorm, `${path}.clippedGradNorm`);
  if (o.nonFinite !== null && o.nonFinite !== undefined) {
    const nf = obj(o.nonFinite, `${path}.nonFinite`);
    str(nf.quantity, `${path}.nonFinite.quantity`);
  }
  if (o.itemized !== null && o.itemized !== undefined) {
    arr(o.itemized, `${path}.itemized`, LIMITS.layers * 1000).forEach((row, i) => numArray(row, `${path}.itemized[${i}]`));
  }
  diagnosis(o.diagnosis, `${path}.diagnosis`);
  diagnosis(o.initialDiagnosis, `${path}.initialDiagnosis`);
  const h = obj(o.history, `${path}.history`);
  numArray(h.loss, `${path}.history.loss`);
  numArray(h.preClipNorm, `${path}.history.preClipNorm`);
  numArray(h.postClipNorm, `${path}.history.postClipNorm`);
  numOrNull(h.clipRate, `${path}.history.clipRate`);
  optNumOrNull(h.stoppedAt, `${path}.history.stoppedAt`);
  arr(h.recorded, `${path}.history.recorded`, LIMITS.recorded).forEach((r, i) => {
    const p = `${path}.history.recorded[${i}]`;
    const ro = obj(r, p);
    if (typeof ro.iteration !== 'number') fail(`${p}.iteration`, 'a number');
    layers(ro.layers, `${p}.layers`);
    numArrayOrNull(ro.lagProfile, `${p}.lagProfile`);
  });
  arr(o.recommendations, `${path}.recommendations`, LIMITS.evidence).forEach((r, i) => recommendation(r, `${path}.recommendations[${i}]`));
  optStr(o.group, `${path}.group`);
  if (o.seedSpread !== null && o.seedSpread !== undefined) {
    const s = obj(o.seedSpread, `${path}.seedSpread`);
    spread(s.finalLoss, `${path}.seedSpread.finalLoss`);
    spread(s.decayPerStep, `${path}.seedSpread.decayPerStep`);
  }
}

function study(v: unknown, path: string): void {
  const o = obj(v, path);
  str(o.name, `${path}.name`);
  str(o.kind, `${path}.kind`);
  optStr(o.source, `${path}.source`);
  optStr(o.task, `${path}.task`);
  optStr(o.description, `${path}.description`);
  optStr(o.createdAt, `${path}.createdAt`);
}

function report(v: unknown, path: string): void {
  const o = obj(v, path);
  if (o.schema !== 'bptt-lens/report@1') fail(`${path}.schema`, "'bptt-lens/report@1'");
  study(o.study, `${path}.study`);
  arr(o.runs, `${path}.runs`, LIMITS.runs).forEach((r, i) => run(r, `${path}.runs[${i}]`));
}

const HOST_TYPES: readonly string[] = ['report', 'run', 'select', 'busy', 'error', 'clear', 'idle'] satisfies HostToWebview['type'][];

/** True when the value claims to be one of our messages (an object with a known `type`). */
export function isHostMessageType(v: unknown): boolean {
  try {
    return typeof v === 'object' && v !== null && HOST_TYPES.includes((v as { type?: unknown }).type as string);
  } catch {
    return false;
  }
}

/**
 * Accepts a host message when its shape matches `HostToWebview` for every field the UI
 * reads; otherwise says which field was wrong. Never throws.
 */
export function checkHostMessage(v: unknown): Checked<HostToWebview> {
  try {
    const o = obj(v, 'message');
    switch (o.type) {
      case 'report':
        report(o.report, 'report');
        if (o.selectedRunId !== undefined) str(o.selectedRunId, 'selectedRunId');
        break;
      case 'run':
        run(o.run, 'run');
        study(o.study, 'study');
        if (o.heatmap !== undefined) {
          const hm = obj(o.heatmap, 'heatmap');
          str(hm.kind, 'heatmap.kind');
          if (typeof hm.quantity !== 'string') fail('heatmap.quantity', 'a string');
        }
        break;
      case 'select':
        str(o.runId, 'runId');
        break;
      case 'busy':
        str(o.label, 'label');
        if (o.fraction !== null && typeof o.fraction !== 'number') fail('fraction', 'a number or null');
        break;
      case 'error':
        str(o.message, 'message');
        break;
      case 'clear':
      case 'idle':
        break;
      default:
        fail('message.type', 'a known message type');
    }
    return { ok: true, value: o as unknown as HostToWebview };
  } catch (e) {
    if (e instanceof ShapeError) return { ok: false, error: e.message };
    return { ok: false, error: 'message could not be read' };
  }
}
