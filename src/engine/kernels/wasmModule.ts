// Instantiates one of the engine's WebAssembly modules from its base64 text (gemmWasm.ts,
// activationsWasm.ts). Pure ECMAScript (WebAssembly and atob are globals in Node and browsers).

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The module's exports, or null where WebAssembly (with SIMD) is unavailable. */
export function instantiateBase64<T>(b64: string): T | null {
  if (typeof WebAssembly !== 'object' || typeof atob !== 'function') return null;
  try {
    const module = new WebAssembly.Module(decodeBase64(b64));
    return new WebAssembly.Instance(module, {}).exports as unknown as T;
  } catch {
    return null; // no SIMD support (old runtime): keep the TypeScript implementation
  }
}
