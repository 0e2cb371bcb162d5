// Run records (design §6, schema `bptt-lens/run@1`): one pass's recorded quantities plus
// the configuration that produced them and the diagnosis.
//
// JSON has no NaN or Infinity. A non-finite number (a finding, e.g. an exploded gradient)
// is written as null, wherever it occurs; the record's `nonFinite` field says which
// quantity went non-finite first, at which layer and step (its `value` is null then too).
// Readers must therefore accept null in any numeric series.

import type { PassRecord } from '../engine/types';
import type { Diagnosis, RunRecord } from '../study/types';

export const RUN_SCHEMA = 'bptt-lens/run@1' as const;

export function toRunRecord(pass: PassRecord, config: RunRecord['config'], diagnosis: Diagnosis | null): RunRecord {
  return {
    schema: RUN_SCHEMA,
    config,
    timesteps: pass.timesteps,
    layers: pass.layers,
    inputGradNorm: pass.inputGradNorm,
    loss: pass.loss,
    globalGradNorm: pass.globalGradNorm,
    clippedGradNorm: pass.clippedGradNorm,
    nonFinite: pass.nonFinite,
    itemized: pass.itemized,
    diagnosis,
  };
}

/** JSON.stringify replacer: non-finite numbers (NaN, ±Infinity) become null. */
export function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/**
 * Serialise with 2-space indentation, but each array of numbers on one line (a series of
 * T values stays one readable line instead of T lines). Ends with a newline.
 */
export function serializeRunRecord(record: RunRecord): string {
  const text = JSON.stringify(record, finiteOrNull, 2);
  const NUMBER = '-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|null';
  const numericArray = new RegExp(`\\[\\s*((?:${NUMBER})(?:,\\s*(?:${NUMBER}))*)\\s*\\]`, 'g');
  return text.replace(numericArray, (_m, body: string) => `[${body.replace(/,\s+/g, ', ')}]`) + '\n';
}
