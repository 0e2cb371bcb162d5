// A faster implementation of activations.ts's ActivationKernels: WebAssembly SIMD (f64x2),
// activations.wat. Bit-identical to the TypeScript (same operations in the same order), so
// switching never changes a result. `scratch` hands out a view of the module's memory, on
// which the rows are done in place with no copy (the cells write their pre-activations
// there). Any other array is copied: the block's span (first row to last, holes included)
// goes into the module's memory and back, the holes unchanged; spans too small to repay the
// copies stay in TypeScript. Installed with the matrix kernels by wasmGemm.ts's enableWasmKernels.

import { jsActivations, setActivationKernels, type ActivationKernels } from '../activations';
import { ACTIVATIONS_WASM_BASE64 } from './activationsWasm';
import { growTo, instantiateBase64, reservedMemory } from './wasmModule';

interface ActivationExports {
  /** Byte address where the caller's data may start (the constant table is before it). */
  data_start: WebAssembly.Global;
  tanh_rows(ptr: number, rows: number, width: number, stride: number): void;
  sigmoid_rows(ptr: number, rows: number, width: number, stride: number): void;
}

/** Below this many values a block costs less in TypeScript than its two copies and the call. */
const MIN_VALUES = 8;
/** The module memory reserved up front (see reservedMemory): scratch for B × 3H values. */
const INITIAL_BYTES = 16 * 2 ** 20;

/** WebAssembly SIMD activations, or null where WebAssembly SIMD is unavailable. `everything` sends every block to WebAssembly (for tests). */
export function createWasmActivations(options: { everything?: boolean; initialBytes?: number } = {}): ActivationKernels | null {
  const memory = reservedMemory(options.initialBytes ?? INITIAL_BYTES);
  const wasm = memory && instantiateBase64<ActivationExports>(ACTIVATIONS_WASM_BASE64, memory);
  if (!memory || !wasm) return null;
  const minValues = options.everything ? 1 : MIN_VALUES;
  let mem = new Float64Array(memory.buffer);
  const start = (wasm.data_start.value as number) / 8; // in doubles

  /** Room for `values` doubles from `start`; false when the memory cannot grow that far. */
  const reserve = (values: number): boolean => {
    if (!growTo(memory, (start + values) * 8)) return false;
    if (mem.buffer !== memory.buffer) mem = new Float64Array(memory.buffer);
    return true;
  };
  let view = new Float64Array(0);
  let fallbackScratch = new Float64Array(0);

  const run = (kind: 'tanh' | 'sigmoid', a: Float64Array, offset: number, rows: number, width: number, stride: number): void => {
    if (rows <= 0 || width <= 0) return;
    if (a.buffer === memory.buffer) {
      // A view handed out by scratch: in place, no copy.
      const ptr = a.byteOffset + offset * 8;
      if (kind === 'tanh') wasm.tanh_rows(ptr, rows, width, stride * 8);
      else wasm.sigmoid_rows(ptr, rows, width, stride * 8);
      return;
    }
    const span = (rows - 1) * stride + width;
    if (rows * width < minValues || !reserve(span)) {
      jsActivations[kind === 'tanh' ? 'tanhRows' : 'sigmoidRows'](a, offset, rows, width, stride);
      return;
    }
    mem.set(a.subarray(offset, offset + span), start);
    if (kind === 'tanh') wasm.tanh_rows(start * 8, rows, width, stride * 8);
    else wasm.sigmoid_rows(start * 8, rows, width, stride * 8);
    a.set(mem.subarray(start, start + span), offset);
  };

  return {
    scratch(n) {
      if (view.buffer === memory.buffer && view.length >= n) return view;
      if (!reserve(n)) {
        // The memory cannot grow: an ordinary array, which the rows functions copy (or do in TypeScript).
        if (fallbackScratch.length < n) fallbackScratch = new Float64Array(n);
        return fallbackScratch;
      }
      view = new Float64Array(memory.buffer, start * 8, n);
      return view;
    },
    tanhRows: (a, offset, rows, width, stride) => run('tanh', a, offset, rows, width, stride),
    sigmoidRows: (a, offset, rows, width, stride) => run('sigmoid', a, offset, rows, width, stride),
  };
}

let installed: ActivationKernels | null = null;

/** Route tanhRows / sigmoidRows through WebAssembly; false (TypeScript kept) where SIMD is unavailable. */
export function enableWasmActivations(): boolean {
  installed ??= createWasmActivations();
  if (!installed) return false;
  setActivationKernels(installed);
  return true;
}

export function disableWasmActivations(): void {
  setActivationKernels(jsActivations);
}
