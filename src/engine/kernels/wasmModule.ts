// Instantiates one of the engine's WebAssembly modules from its base64 text (gemmWasm.ts,
// activationsWasm.ts) on a memory the caller made (the modules import it as env.memory).
// Pure ECMAScript (WebAssembly and atob are globals in Node and browsers).

const PAGE_BYTES = 65536;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A module memory of `initialBytes` reserved up front, so that a pass rarely has to grow it.
 * Growing detaches the memory's old ArrayBuffer, and the first detach in a process makes V8
 * check every typed-array access for detachment from then on: the engine's TypeScript loops
 * over Float64Array ran 1.5x slower (0.56 → 0.85 ns per element in a plain loop; the
 * lstm-h64 bench pass 34.3 → 31.5 ms without it). The reservation is address space: pages
 * count toward the process's memory only once written (+3 MiB RSS measured for 256 MiB).
 * Falls back to one page where the reservation is refused.
 */
export function reservedMemory(initialBytes: number): WebAssembly.Memory | null {
  if (typeof WebAssembly !== 'object') return null;
  try {
    return new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(initialBytes / PAGE_BYTES)) });
  } catch {
    try {
      return new WebAssembly.Memory({ initial: 1 });
    } catch {
      return null;
    }
  }
}

/**
 * Grows `memory` to at least `bytes`. False when it cannot (wasm32 stops at 4 GiB, or the
 * allocation fails): the caller then falls back to TypeScript, which gives the same bits.
 * Growing detaches the old buffer, so callers re-make their views afterwards.
 */
export function growTo(memory: WebAssembly.Memory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    return true;
  } catch {
    return false;
  }
}

/** The module's exports, or null where WebAssembly (with SIMD) is unavailable. */
export function instantiateBase64<T>(b64: string, memory: WebAssembly.Memory): T | null {
  if (typeof WebAssembly !== 'object' || typeof atob !== 'function') return null;
  try {
    const module = new WebAssembly.Module(decodeBase64(b64));
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as T;
  } catch {
    return null; // no SIMD support (old runtime): keep the TypeScript implementation
  }
}
