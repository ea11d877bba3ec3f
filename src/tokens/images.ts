import type { ModelFamily } from "./models.js";

/**
 * Image input tokens. An image is never tokenized as text: its cost follows
 * the provider's published formula from its pixel size. The size is read from
 * the header of a `data:` URL (PNG, GIF, WebP, JPEG) when there is one; for a
 * remote URL it is unknown and a documented fixed estimate is used.
 */

export type ImageDetail = "auto" | "low" | "high";

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

export interface ImageTokens {
  /** The estimate: the formula at the real size, or at a typical 1024 x 1024 when unknown. */
  readonly tokens: number;
  /** The most the image can cost whatever its size. */
  readonly upperBound: number;
}

/** OpenAI's tile pricing: `base + tile x (512 px tiles)` after resizing (`detail: low` is `base` only). */
interface TileModel {
  readonly kind: "tiles";
  readonly base: number;
  readonly tile: number;
}
/** OpenAI's patch pricing: 32 px patches, capped at 1,536, times a per-model multiplier. */
interface PatchModel {
  readonly kind: "patches";
  readonly multiplier: number;
}

/**
 * Per OpenAI's "Images and vision" guide (calculating costs). Models not
 * listed use the GPT-4o figures (85 + 170 per tile).
 */
const OPENAI_IMAGE_MODELS: readonly (readonly [prefix: string, model: TileModel | PatchModel])[] = [
  ["gpt-5-mini", { kind: "patches", multiplier: 1.62 }],
  ["gpt-5-nano", { kind: "patches", multiplier: 2.46 }],
  ["gpt-5", { kind: "tiles", base: 70, tile: 140 }],
  ["gpt-4.1-mini", { kind: "patches", multiplier: 1.62 }],
  ["gpt-4.1-nano", { kind: "patches", multiplier: 2.46 }],
  ["o4-mini", { kind: "patches", multiplier: 1.72 }],
  ["gpt-4o-mini", { kind: "tiles", base: 2833, tile: 5667 }],
  ["o1", { kind: "tiles", base: 75, tile: 150 }],
  ["o3", { kind: "tiles", base: 75, tile: 150 }],
];
const OPENAI_DEFAULT: TileModel = { kind: "tiles", base: 85, tile: 170 };

/** The size assumed when an image's size is unknown: a typical photo or screenshot. */
export const TYPICAL_IMAGE: ImageSize = { width: 1024, height: 1024 };

/** Tiles after OpenAI's resize: fit in 2048 x 2048, then the short side down to 768. */
function tiles(size: ImageSize): number {
  let { width: w, height: h } = size;
  let s = Math.min(1, 2048 / Math.max(w, h));
  w *= s;
  h *= s;
  s = Math.min(1, 768 / Math.min(w, h));
  w *= s;
  h *= s;
  return Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** The most tiles any image can have after the resize: 2048 x 768 -> 4 x 2. */
const MAX_TILES = 8;
const MAX_PATCHES = 1536;

function patches(size: ImageSize): number {
  const { width: w, height: h } = size;
  const raw = Math.ceil(w / 32) * Math.ceil(h / 32);
  if (raw <= MAX_PATCHES) return raw;
  // OpenAI: shrink to fit the patch budget, then so that a whole number of patches fits the width.
  const shrink = Math.sqrt((MAX_PATCHES * 32 * 32) / (w * h));
  const fit = Math.min(Math.floor((w * shrink) / 32) / ((w * shrink) / 32), 1);
  const w2 = Math.floor(w * shrink * fit);
  const h2 = Math.floor(h * shrink * fit);
  return Math.min(MAX_PATCHES, Math.ceil(w2 / 32) * Math.ceil(h2 / 32));
}

function openaiModel(base: string): TileModel | PatchModel {
  for (const [prefix, model] of OPENAI_IMAGE_MODELS) if (base.startsWith(prefix)) return model;
  return OPENAI_DEFAULT;
}

/** OpenAI image tokens by model, detail and (when known) size. `auto` counts as `high`. */
export function openaiImageTokens(
  base: string,
  detail: ImageDetail,
  size: ImageSize | undefined,
): ImageTokens {
  const model = openaiModel(base);
  if (model.kind === "patches") {
    const upperBound = Math.ceil(MAX_PATCHES * model.multiplier);
    return { tokens: Math.ceil(patches(size ?? TYPICAL_IMAGE) * model.multiplier), upperBound };
  }
  if (detail === "low") return { tokens: model.base, upperBound: model.base };
  return {
    tokens: model.base + model.tile * tiles(size ?? TYPICAL_IMAGE),
    upperBound: model.base + model.tile * MAX_TILES,
  };
}

/**
 * Anthropic (Vision guide): `width x height / 750` tokens, after a resize
 * that keeps the long edge within 1,568 px and the cost near 1,600 tokens.
 * An image of unknown size is charged that maximum.
 */
export const ANTHROPIC_MAX_IMAGE_TOKENS = 1600;

export function anthropicImageTokens(size: ImageSize | undefined): ImageTokens {
  if (!size) return { tokens: ANTHROPIC_MAX_IMAGE_TOKENS, upperBound: ANTHROPIC_MAX_IMAGE_TOKENS };
  const s = Math.min(1, 1568 / Math.max(size.width, size.height));
  const tokens = Math.min(ANTHROPIC_MAX_IMAGE_TOKENS, Math.ceil((size.width * s * size.height * s) / 750));
  return { tokens, upperBound: ANTHROPIC_MAX_IMAGE_TOKENS };
}

export function imageTokens(
  family: ModelFamily,
  base: string,
  detail: ImageDetail,
  size: ImageSize | undefined,
): ImageTokens {
  return family === "anthropic" ? anthropicImageTokens(size) : openaiImageTokens(base, detail, size);
}

/** Base64 characters decoded at most to find a size: 64 KiB of image, enough for JPEG headers with EXIF. */
const MAX_HEADER_CHARS = 87_384;

/**
 * The pixel size from a `data:image/...;base64,` URL's header, or undefined
 * (a remote URL, an unknown format, a header beyond the first 64 KiB).
 * Decodes a bounded prefix only, so a large image costs no more than a small one.
 */
export function imageSizeFromUrl(url: string): ImageSize | undefined {
  if (!url.startsWith("data:")) return undefined;
  const comma = url.indexOf(",", 5);
  if (comma < 0 || comma > 256 || !url.slice(5, comma).endsWith(";base64")) return undefined;
  const end = Math.min(url.length, comma + 1 + MAX_HEADER_CHARS);
  const bytes = Buffer.from(url.slice(comma + 1, end), "base64");
  return imageSize(bytes);
}

/** Reads width and height from the first bytes of a PNG, GIF, WebP or JPEG file. */
export function imageSize(b: Uint8Array): ImageSize | undefined {
  const u16be = (o: number) => (b[o]! << 8) | b[o + 1]!;
  const u16le = (o: number) => b[o]! | (b[o + 1]! << 8);
  const u24le = (o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
  const u32be = (o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  const ascii = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  const valid = (s: ImageSize) => (s.width > 0 && s.height > 0 ? s : undefined);

  // PNG: signature, then the IHDR chunk with big-endian width and height.
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === "PNG" && ascii(12, 4) === "IHDR") {
    return valid({ width: u32be(16), height: u32be(20) });
  }
  // GIF87a / GIF89a: logical screen size, little-endian.
  if (b.length >= 10 && ascii(0, 4) === "GIF8") return valid({ width: u16le(6), height: u16le(8) });
  // WebP: RIFF container with a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk.
  if (b.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") {
    const chunk = ascii(12, 4);
    if (chunk === "VP8 ") return valid({ width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff });
    if (chunk === "VP8L") {
      const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
      return valid({ width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 });
    }
    if (chunk === "VP8X") return valid({ width: u24le(24) + 1, height: u24le(27) + 1 });
    return undefined;
  }
  // JPEG: walk the segments to the first start-of-frame marker.
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return undefined;
      const marker = b[o + 1]!;
      if (marker === 0xff) {
        o += 1; // fill byte
        continue;
      }
      const isFrame =
        marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) return valid({ width: u16be(o + 7), height: u16be(o + 5) });
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        o += 2; // markers without a length
        continue;
      }
      o += 2 + u16be(o + 2);
    }
  }
  return undefined;
}
