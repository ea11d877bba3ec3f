import { InvalidRequestError } from "../../core/errors.js";

/** Dimensions accepted, at most (the largest embedding models use 4,096). */
export const MAX_DIMENSIONS = 65_536;

/**
 * A unit-length copy of `vector`, for a stored row or a query. A vector
 * already of unit length (within float rounding) is copied unchanged, so
 * normalizing is idempotent: a vector read back from a store and written
 * again keeps its exact bits, and "identical" (score 1) stays identical.
 * Throws an `InvalidRequestError` naming `field` for anything that has no
 * direction: empty, zero, NaN or infinite components.
 */
export function unitVector(vector: Float32Array, field: string): Float32Array {
  if (!(vector instanceof Float32Array)) {
    throw new InvalidRequestError(`${field}: expected a Float32Array`, [`${field}: expected a Float32Array`]);
  }
  if (vector.length === 0 || vector.length > MAX_DIMENSIONS) {
    const issue = `${field}: expected 1 to ${MAX_DIMENSIONS} dimensions, got ${vector.length}`;
    throw new InvalidRequestError(issue, [issue]);
  }
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
  if (!(norm > 0 && Number.isFinite(norm))) {
    const issue = `${field}: expected a non-zero vector of finite numbers`;
    throw new InvalidRequestError(issue, [issue]);
  }
  if (Math.abs(norm - 1) <= 1e-6) return vector.slice();
  const scale = 1 / Math.sqrt(norm);
  return Float32Array.from(vector, (x) => x * scale);
}

/** Base64 of the float32 values, little-endian: the stored form in Redis. */
export function encodeVector(vector: Float32Array): string {
  const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  return (isLittleEndian ? bytes : swap32(Buffer.from(bytes))).toString("base64");
}

/** The vector of `encodeVector`'s output, or undefined when the text is not one. */
export function decodeVector(text: string): Float32Array | undefined {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
  const copy = new Uint8Array(bytes.length); // aligned, and owned
  copy.set(isLittleEndian ? bytes : swap32(bytes));
  return new Float32Array(copy.buffer);
}

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swap32(bytes: Buffer): Buffer {
  return bytes.swap32();
}

/** Namespaces, ids and prefixes are strings; anything else is a caller's bug, reported as an `InvalidRequestError`. */
export function checkKeys(...keys: unknown[]): void {
  for (const key of keys) {
    if (typeof key === "string") continue;
    const issue = `vector index: expected a string namespace, id or prefix, got ${key === null ? "null" : typeof key}`;
    throw new InvalidRequestError(issue, [issue]);
  }
}
