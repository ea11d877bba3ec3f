import { describe, expect, it } from "vitest";
import { anthropicImageTokens, imageSize, imageSizeFromUrl, openaiImageTokens } from "./images.js";

function png(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "latin1");
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

function jpeg(width: number, height: number): Buffer {
  const app0 = Buffer.from([
    0xff,
    0xe0,
    0x00,
    0x10,
    ...Buffer.from("JFIF\0", "latin1"),
    1,
    1,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
  ]);
  const exif = Buffer.concat([Buffer.from([0xff, 0xe1, 0x10, 0x00]), Buffer.alloc(0x1000 - 2)]);
  const sof = Buffer.alloc(19);
  sof.writeUInt16BE(0xffc2, 0); // progressive
  sof.writeUInt16BE(17, 2);
  sof[4] = 8;
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, exif, sof]);
}

function gif(width: number, height: number): Buffer {
  const b = Buffer.alloc(13);
  b.write("GIF89a", 0, "latin1");
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b;
}

function webp(chunk: "VP8X" | "VP8L" | "VP8 ", width: number, height: number): Buffer {
  const b = Buffer.alloc(30);
  b.write("RIFF", 0, "latin1");
  b.write("WEBP", 8, "latin1");
  b.write(chunk, 12, "latin1");
  if (chunk === "VP8X") {
    b.writeUIntLE(width - 1, 24, 3);
    b.writeUIntLE(height - 1, 27, 3);
  } else if (chunk === "VP8L") {
    b[20] = 0x2f;
    b.writeUInt32LE(((width - 1) | ((height - 1) << 14)) >>> 0, 21);
  } else {
    b.set([0x9d, 0x01, 0x2a], 23);
    b.writeUInt16LE(width, 26);
    b.writeUInt16LE(height, 28);
  }
  return b;
}

const dataUrl = (type: string, bytes: Buffer) => `data:image/${type};base64,${bytes.toString("base64")}`;

describe("image sizes from data URLs", () => {
  it("reads PNG, JPEG (past an EXIF segment), GIF and the three WebP kinds", () => {
    expect(imageSizeFromUrl(dataUrl("png", png(2048, 4096)))).toEqual({ width: 2048, height: 4096 });
    expect(imageSizeFromUrl(dataUrl("jpeg", jpeg(1920, 1080)))).toEqual({ width: 1920, height: 1080 });
    expect(imageSizeFromUrl(dataUrl("gif", gif(320, 200)))).toEqual({ width: 320, height: 200 });
    expect(imageSizeFromUrl(dataUrl("webp", webp("VP8X", 3000, 2000)))).toEqual({
      width: 3000,
      height: 2000,
    });
    expect(imageSizeFromUrl(dataUrl("webp", webp("VP8L", 800, 600)))).toEqual({ width: 800, height: 600 });
    expect(imageSizeFromUrl(dataUrl("webp", webp("VP8 ", 640, 480)))).toEqual({ width: 640, height: 480 });
  });

  it("gives up on remote URLs, other formats, truncated or malformed headers", () => {
    expect(imageSizeFromUrl("https://example.com/cat.png")).toBeUndefined();
    expect(imageSizeFromUrl("data:image/png,notbase64")).toBeUndefined();
    expect(imageSizeFromUrl(dataUrl("png", png(0, 10)))).toBeUndefined();
    expect(imageSizeFromUrl(dataUrl("png", png(10, 10).subarray(0, 20)))).toBeUndefined();
    expect(
      imageSize(Buffer.from([0xff, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])),
    ).toBeUndefined();
    expect(imageSize(Buffer.from("not an image at all, just text"))).toBeUndefined();
  });

  it("decodes only a bounded prefix of a large image", () => {
    const big = Buffer.concat([png(512, 512), Buffer.alloc(20 * 1024 * 1024)]);
    expect(imageSizeFromUrl(dataUrl("png", big))).toEqual({ width: 512, height: 512 });
  });
});

describe("OpenAI image tokens", () => {
  it("follows the tile formula of OpenAI's worked examples", () => {
    expect(openaiImageTokens("gpt-4o", "high", { width: 1024, height: 1024 }).tokens).toBe(765);
    expect(openaiImageTokens("gpt-4o", "high", { width: 2048, height: 4096 }).tokens).toBe(1105);
    expect(openaiImageTokens("gpt-4o", "low", { width: 4096, height: 8192 }).tokens).toBe(85);
    expect(openaiImageTokens("gpt-4o", "high", { width: 500, height: 500 }).tokens).toBe(255);
  });

  it("uses a fixed, documented estimate when the size is unknown, and a bound that holds for any size", () => {
    const unknown = openaiImageTokens("gpt-4o", "auto", undefined);
    expect(unknown).toEqual({ tokens: 765, upperBound: 85 + 8 * 170 });
    expect(openaiImageTokens("gpt-4o", "low", undefined)).toEqual({ tokens: 85, upperBound: 85 });
    for (const [w, h] of [
      [1, 1],
      [512, 513],
      [2048, 768],
      [10_000, 800],
      [800, 10_000],
      [4096, 4096],
    ] as const) {
      expect(openaiImageTokens("gpt-4o", "high", { width: w, height: h }).tokens).toBeLessThanOrEqual(
        unknown.upperBound,
      );
    }
  });

  it("prices models with their own figures: gpt-4o-mini tiles, o-series tiles, patch models", () => {
    expect(openaiImageTokens("gpt-4o-mini", "high", { width: 1024, height: 1024 }).tokens).toBe(
      2833 + 4 * 5667,
    );
    expect(openaiImageTokens("gpt-4o-mini", "low", undefined).tokens).toBe(2833);
    expect(openaiImageTokens("o1", "high", { width: 1024, height: 1024 }).tokens).toBe(75 + 4 * 150);
    // Patches: 1024 x 1024 is 32 x 32 = 1024 patches; gpt-4.1-mini multiplies by 1.62.
    expect(openaiImageTokens("gpt-4.1-mini", "high", { width: 1024, height: 1024 }).tokens).toBe(1659);
    // OpenAI's example: 1800 x 2400 is scaled to 1,452 patches (gpt-4.1-mini: x 1.62).
    expect(openaiImageTokens("gpt-4.1-mini", "high", { width: 1800, height: 2400 }).tokens).toBe(
      Math.ceil(1452 * 1.62),
    );
    expect(openaiImageTokens("gpt-4.1-nano", "low", undefined).upperBound).toBe(Math.ceil(1536 * 2.46));
  });
});

describe("Anthropic image tokens", () => {
  it("is width x height / 750, capped near 1,600, and the cap when the size is unknown", () => {
    expect(anthropicImageTokens({ width: 1000, height: 1000 }).tokens).toBe(1334);
    expect(anthropicImageTokens({ width: 200, height: 200 }).tokens).toBe(54);
    expect(anthropicImageTokens({ width: 8000, height: 8000 }).tokens).toBe(1600);
    expect(anthropicImageTokens(undefined)).toEqual({ tokens: 1600, upperBound: 1600 });
  });
});
