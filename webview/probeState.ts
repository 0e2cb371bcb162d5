// The probe editor's header state as the host posts it, checked field by field before the
// view draws it (the host is ours, but the view then trusts the types). No DOM: unit-tested.
import type { ProbeState } from '../src/extension/probeProtocol';

const isStr = (v: unknown, max = 4000): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** The host's ProbeState, checked field by field (the host is ours, but the views then trust the types). Null when malformed. */
export function checkProbeState(v: unknown): ProbeState | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.type !== 'probeState' || !isStr(o.weights) || !isStr(o.folder) || !(o.input === null || isStr(o.input))) return null;
  if (o.loss !== 'mse' && o.loss !== 'xent') return null;
  if (!(o.error === null || isStr(o.error, 20_000)) || !(o.note === null || isStr(o.note)) || typeof o.hasResult !== 'boolean') return null;
  const b = o.busy as Record<string, unknown> | null;
  if (!(b === null || (typeof b === 'object' && isStr(b.label) && typeof b.since === 'number'))) return null;
  const s = o.summary as Record<string, unknown> | null;
  if (s !== null) {
    if (typeof s !== 'object' || !isStr(s.cell, 40) || !Array.isArray(s.cells) || s.cells.length > 64 || !s.cells.every((c) => isStr(c, 40))) return null;
    if (typeof s.bidirectional !== 'boolean') return null;
    for (const k of ['numLayers', 'hiddenSize', 'inputSize', 'outputSize', 'parameterCount', 'bytes']) if (!isCount(s[k])) return null;
  }
  return o as unknown as ProbeState;
}

