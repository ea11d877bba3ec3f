/**
 * Masks credentials in text that may reach a log line, an error message, an
 * event or a cost record. Provider error bodies echo partial keys ("Incorrect
 * API key provided: sk-abc***xyz"), URLs carry `?key=`, and headers carry
 * `Authorization: Bearer`; all are masked here, in one place.
 *
 * Every pattern is linear (no nested quantifiers), so it is safe on long input.
 */
const PATTERNS: readonly RegExp[] = [
  // OpenAI / Anthropic style keys, including project and admin keys, masked or not.
  /\bsk-[A-Za-z0-9_\-*.]{6,}/g,
  // Bearer tokens in header dumps.
  /\b(Bearer)\s+[A-Za-z0-9_\-.~+/=*]{6,}/gi,
  // key=value pairs in query strings, JSON and header dumps; an authorization's scheme word
  // (`Basic`, `Digest`...) is kept and what follows it masked.
  /\b(api[_-]?key|x-api-key|authorization|access[_-]?token|token|secret)("?\s*[:=]\s*"?)((?:Basic|Bearer|Digest|Token)\s+)?[^\s"&,}]{4,}/gi,
  // A bare `key=` in a query string (Google-style API keys).
  /([?&]key=)[^\s"&#]{4,}/gi,
  // Credentials in a URL's userinfo (`https://user:password@host`).
  /(\/\/[^/\s:@]+:)[^@\s/]+@/g,
];

export function redactSecrets(text: string): string {
  let out = text;
  out = out.replace(PATTERNS[0]!, "sk-[REDACTED]");
  out = out.replace(PATTERNS[1]!, "$1 [REDACTED]");
  out = out.replace(PATTERNS[2]!, "$1$2$3[REDACTED]");
  out = out.replace(PATTERNS[3]!, "$1[REDACTED]");
  out = out.replace(PATTERNS[4]!, "$1[REDACTED]@");
  return out;
}
