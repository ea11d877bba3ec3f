/**
 * Reproducible vectors for the vector index suites and the benchmark:
 * seeded uniform and Gaussian draws, unit vectors, clustered data sets
 * (Gaussian clusters around random centres on the unit sphere) and queries
 * that perturb stored vectors (a paraphrase of a stored prompt).
 */

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seeded standard normal generator (Box-Muller, both values used). */
export function gaussian(seed: number): () => number {
  const next = uniform(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = 1 - next(); // (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * next();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * A seeded normal generator fast enough for 100k x 1,536 data sets (~150M
 * draws): each draw picks one of 65,536 Box-Muller values at random
 * (xorshift32), a few nanoseconds instead of a logarithm and a cosine.
 */
export function fastGaussian(seed: number): () => number {
  const table = Float64Array.from({ length: 65_536 }, gaussian(seed));
  let x = (seed ^ 0x2545f491) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return table[(x >>> 0) >>> 16]!;
  };
}

export function normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! * scale;
  return vector;
}

/** A random direction: uniform on the unit sphere. */
export function randomUnit(dims: number, normal: () => number): Float32Array {
  return normalize(Float32Array.from({ length: dims }, normal));
}

/**
 * `base` plus isotropic Gaussian noise of norm ~`noise`, normalized: its
 * cosine to `base` is about 1 / sqrt(1 + noise^2) (0.5 -> 0.89, 1 -> 0.71).
 */
export function perturb(base: Float32Array, noise: number, normal: () => number): Float32Array {
  const scale = noise / Math.sqrt(base.length);
  return normalize(Float32Array.from(base, (x) => x + scale * normal()));
}

export interface ClusteredOptions {
  readonly count: number;
  readonly dims: number;
  readonly clusters: number;
  /** Noise norm around a centre: members' cosine to their centre is ~1 / sqrt(1 + spread^2). */
  readonly spread: number;
  readonly seed: number;
}

/** `count` unit vectors drawn from `clusters` Gaussian clusters with random centres on the sphere. */
export function clustered(options: ClusteredOptions): Float32Array[] {
  const normal = fastGaussian(options.seed);
  const pick = uniform(options.seed ^ 0x9e3779b9);
  const centres = Array.from({ length: options.clusters }, () => randomUnit(options.dims, normal));
  return Array.from({ length: options.count }, () =>
    perturb(centres[Math.floor(pick() * centres.length)]!, options.spread, normal),
  );
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
