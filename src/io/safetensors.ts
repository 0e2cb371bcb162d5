// The safetensors format (https://github.com/huggingface/safetensors), read and written
// by hand because it is tiny and ours to validate strictly:
//   8 bytes   N, unsigned 64-bit little-endian: the header length
//   N bytes   JSON header: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//             ..., "__metadata__": {"key": "string value"}}; may be padded with spaces
//   rest      the byte buffer; offsets are relative to its start, tensors are row-major
//             little-endian, and together they must cover it exactly, without overlap.
// Read: F64, F32, F16, BF16 (all widened to float64), and I64 on request (captures' `lengths`).
// Write: F64 or F32. A caller can check the header (names, dtypes, shapes) before any tensor
// is decoded, so a file with the wrong shapes costs no allocation (ReadOptions.checkHeader).
// Every malformed file is an InputError(file, null, detail) naming what is wrong.

import { InputError } from './errors';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64';

export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float64Array;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string> | null;
}

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8 };

/** A tensor's header entry, as checkHeader sees it (nothing decoded yet). */
export interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in the data buffer, as the header gives them (already checked). */
  dataOffsets: [number, number];
}

export interface ReadOptions {
  /** Accept I64 tensors (decoded to float64; values beyond ±2^53 are refused). Default false. */
  allowInt64?: boolean;
  /** Called after the header is validated and before any tensor is decoded; throws to refuse. */
  checkHeader?: (entries: HeaderEntry[], metadata: Record<string, string> | null) => void;
}
/** Refuse absurd headers before allocating a string for them (the reference reader caps at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export function readSafetensors(bytes: Uint8Array, file: string, options: ReadOptions = {}): SafetensorsFile {
  const fail = (detail: string): never => {
    throw new InputError(file, null, detail);
  };
  if (bytes.length < 8) fail(`not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes): truncated or not a safetensors file`);
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`header length ${n} is too short for a JSON object`);

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> | null = null;
  const spans: { name: string; begin: number; end: number }[] = [];
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry, fail);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`tensor '${name}': header entry is not an object`);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`tensor '${name}': unexpected header field '${key}'`);
    }
    const dtype = e.dtype;
    if (typeof dtype !== 'string') fail(`tensor '${name}': missing dtype`);
    if (!Object.hasOwn(BYTES, dtype as string) || (dtype === 'I64' && !options.allowInt64)) {
      fail(`tensor '${name}': unsupported dtype '${dtype}' (expected F64, F32, F16 or BF16${options.allowInt64 ? ', or I64' : ''})`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}': data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) fail(`tensor '${name}': data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer (file truncated?)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = numel * BYTES[dtype as SafetensorsDtype];
    if (end - begin !== expected) {
      fail(`tensor '${name}': shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${expected} bytes, data_offsets give ${end - begin}`);
    }
    spans.push({ name, begin, end });
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data buffer exactly: sorted by offset, each starts where the
  // previous ended, the first at 0 and the last at the end of the file.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin < cursor) fail(`tensor '${s.name}': data_offsets [${s.begin}, ${s.end}] overlap the previous tensor`);
    if (s.begin > cursor) fail(`bytes ${cursor}..${s.begin} of the data buffer belong to no tensor`);
    cursor = s.end;
  }
  if (cursor !== dataLength) fail(`the tensors cover ${cursor} bytes but the data buffer holds ${dataLength} (trailing bytes or truncated file)`);

  options.checkHeader?.(entries.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape.slice(), dataOffsets: [e.begin, e.end] })), metadata);
  for (const e of entries) {
    const data = decode(view, dataStart + e.begin, e.end - e.begin, e.dtype);
    if (e.dtype === 'I64' && data.some((v) => !Number.isSafeInteger(v))) fail(`tensor '${e.name}': an I64 value is beyond ±2^53`);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape.slice(), data });
  }
  return { tensors, metadata };
}

function parseMetadata(entry: unknown, fail: (d: string) => never): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`__metadata__ value for '${k}' is not a string`);
    out[k] = v as string;
  }
  return out;
}

function decode(view: DataView, offset: number, byteLength: number, dtype: SafetensorsDtype): Float64Array {
  const size = BYTES[dtype];
  const out = new Float64Array(byteLength / size);
  for (let k = 0; k < out.length; k++) {
    const at = offset + k * size;
    switch (dtype) {
      case 'F64':
        out[k] = view.getFloat64(at, true);
        break;
      case 'F32':
        out[k] = view.getFloat32(at, true);
        break;
      case 'F16':
        out[k] = halfToNumber(view.getUint16(at, true));
        break;
      case 'BF16':
        // bfloat16 is the top half of a float32.
        out[k] = bf16ToNumber(view.getUint16(at, true));
        break;
      case 'I64': {
        const v = view.getBigInt64(at, true);
        // Out-of-range values become NaN here and are refused by the caller.
        out[k] = v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(v);
        break;
      }
    }
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));
function bf16ToNumber(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal (and zero)
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export interface WriteOptions {
  dtype?: 'F64' | 'F32';
  metadata?: Record<string, string>;
}

/** Serialise tensors (in map order) to safetensors bytes; the header is space-padded to 8-byte alignment. */
export function writeSafetensors(tensors: Map<string, { shape: number[]; data: Float64Array }>, options: WriteOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'F64';
  const size = BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error("writeSafetensors: '__metadata__' is reserved");
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`writeSafetensors: '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + numel * size] };
    offset += numel * size;
  }
  let headerText = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(headerText);
  const padding = (8 - (headerBytes.length % 8)) % 8;
  if (padding) {
    headerText += ' '.repeat(padding);
    headerBytes = encoder.encode(headerText);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    for (let k = 0; k < t.data.length; k++, at += size) {
      if (dtype === 'F64') view.setFloat64(at, t.data[k], true);
      else view.setFloat32(at, t.data[k], true);
    }
  }
  return out;
}
