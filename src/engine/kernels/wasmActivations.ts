// A faster implementation of activations.ts's ActivationKernels: WebAssembly SIMD (f64x2),
// activations.wat. Bit-identical to the TypeScript (same operations in the same order), so
// switching never changes a result. `scratch` hands out a view of the module's memory, on
// which the rows are done in place with no copy (the cells write their pre-activations
// there); any other array, and a scratch larger than the memory holds (it is never grown:
// see wasmModule.ts's reservedMemory), is done in TypeScript. Installed with the matrix
// kernels by wasmGemm.ts's enableWasmKernels.

import { jsActivations, setActivationKernels, type ActivationKernels } from '../activations';
import { ACTIVATIONS_WASM_BASE64 } from './activationsWasm';
import { instantiateBase64, reservedMemory } from './wasmModule';

interface ActivationExports {
  /** Byte address where the caller's data may start (the constant table is before it). */
  data_start: WebAssembly.Global;
  tanh_rows(ptr: number, rows: number, width: number, stride: number): void;
  sigmoid_rows(ptr: number, rows: number, width: number, stride: number): void;
}

/** The module memory reserved up front (see reservedMemory): room for B × 3H = 1024 × 768 values and more. */
const INITIAL_BYTES = 16 * 2 ** 20;

/** WebAssembly SIMD activations, or null where WebAssembly SIMD is unavailable. */
export function createWasmActivations(options: { initialBytes?: number } = {}): ActivationKernels | null {
  const memory = reservedMemory(options.initialBytes ?? INITIAL_BYTES);
  const wasm = memory && instantiateBase64<ActivationExports>(ACTIVATIONS_WASM_BASE64, memory);
  if (!memory || !wasm) return null;
  const startByte = wasm.data_start.value as number;
  const room = (memory.buffer.byteLength - startByte) / 8; // doubles
  const view = new Float64Array(memory.buffer, startByte, room);

  const rows = (kind: 'tanhRows' | 'sigmoidRows', run: (ptr: number, rows: number, width: number, stride: number) => void): ActivationKernels['tanhRows'] =>
    (a, offset, count, width, stride) => {
      if (a.buffer !== memory.buffer) return jsActivations[kind](a, offset, count, width, stride);
      if (count > 0 && width > 0) run(a.byteOffset + offset * 8, count, width, stride * 8);
    };

  return {
    scratch: (n) => (n <= room ? view : jsActivations.scratch(n)),
    tanhRows: rows('tanhRows', wasm.tanh_rows),
    sigmoidRows: rows('sigmoidRows', wasm.sigmoid_rows),
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
