import { Tiktoken } from "js-tiktoken/lite";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import o200k from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import { isWhitespace, pieces } from "./split.js";

const reference = { o200k_base: new Tiktoken(o200k), cl100k_base: new Tiktoken(cl100k) };

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Text with every kind of character BPE pre-tokenizers treat differently, in short runs. */
function mixed(length: number, random: () => number): string {
  const atoms = [
    "the",
    " quick",
    "Brown",
    " fox",
    "'s",
    "'ll",
    "  ",
    "   ",
    "\t",
    "\n",
    "\n\n",
    " \n",
    "\r\n",
    "123",
    "45678",
    " 9",
    "!",
    "?!",
    " (",
    ")",
    "...",
    "//",
    "/*",
    "=>",
    "{",
    "}",
    "é",
    "ñandú",
    "日本語",
    "中文",
    "，",
    "。",
    "한국어",
    "😀",
    "👍🏽",
    "€",
    "\u00a0",
    "\u3000",
    "<|endoftext|>",
    "don't",
    "I'M",
  ];
  let out = "";
  while (out.length < length) out += atoms[Math.floor(random() * atoms.length)];
  return out;
}

const join = (text: string, options: { maxRunChars: number; chunkChars: number }) =>
  [...pieces(text, options)].map(([a, b]) => text.slice(a, b));

describe("pieces", () => {
  it("covers the text exactly, in order, with no empty piece", () => {
    const random = seeded(1);
    for (const length of [0, 1, 5, 300, 5_000]) {
      const text = mixed(length, random) + "x".repeat(length);
      const parts = join(text, { maxRunChars: 64, chunkChars: 256 });
      expect(parts.join("")).toBe(text);
      expect(parts.every((p) => p.length > 0)).toBe(true);
    }
  });

  it("leaves no run of whitespace or non-whitespace longer than maxRunChars", () => {
    const text = `${"a".repeat(10_000)}${" ".repeat(3_000)}${"日".repeat(2_000)}\n${"\t".repeat(700)}b`;
    for (const part of join(text, { maxRunChars: 100, chunkChars: 1_000 })) {
      let run = 1;
      for (let i = 1; i < part.length; i++) {
        run = isWhitespace(part.charCodeAt(i)) === isWhitespace(part.charCodeAt(i - 1)) ? run + 1 : 1;
        expect(run).toBeLessThanOrEqual(100);
      }
    }
  });

  it("never separates the halves of a surrogate pair", () => {
    const text = "😀".repeat(5_000) + "a😀".repeat(3_000);
    for (const maxRunChars of [16, 17, 100, 101]) {
      for (const part of join(text, { maxRunChars, chunkChars: 256 })) {
        expect(part.charCodeAt(0) >= 0xdc00 && part.charCodeAt(0) <= 0xdfff).toBe(false);
        const last = part.charCodeAt(part.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      }
    }
  });

  it("cuts ordinary text only where the token count is unchanged, for both encodings", () => {
    const random = seeded(7);
    for (let round = 0; round < 20; round++) {
      const text = mixed(6_000, random);
      const parts = join(text, { maxRunChars: 10_000, chunkChars: 256 });
      expect(parts.length).toBeGreaterThan(5);
      for (const encoder of Object.values(reference)) {
        const whole = encoder.encode(text, [], []).length;
        const sum = parts.reduce((n, p) => n + encoder.encode(p, [], []).length, 0);
        expect(sum).toBe(whole);
      }
    }
  });

  it("matches JavaScript's \\s for every BMP code point", () => {
    for (let c = 0; c < 0x10000; c++) {
      expect(isWhitespace(c), `U+${c.toString(16)}`).toBe(/\s/.test(String.fromCharCode(c)));
    }
  });

  it("runs in one pass: 4 MB of adversarial text splits in well under a second of work", () => {
    // No timing assertion (bench/ measures): this only has to finish.
    const text = `${"ab".repeat(1_000_000)}${" \n".repeat(1_000_000)}`;
    let count = 0;
    for (const _ of pieces(text, { maxRunChars: 256, chunkChars: 16_384 })) count++;
    expect(count).toBeGreaterThan(4_000_000 / 256 / 2);
  });
});
