/** Typed arrays in a model file: base64 of their bytes (little-endian, as every supported platform). */

export function toBase64(array: ArrayBufferView): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");
}

/** Decodes base64 into a fresh, aligned ArrayBuffer (a Buffer's own may be a misaligned slice of a pool). */
export function fromBase64(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, "base64");
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}
