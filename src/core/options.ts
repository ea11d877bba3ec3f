import type { z } from "zod";
import { ConfigError, describeZodError } from "./errors.js";

/**
 * Validates the options of a factory (`costTracker`, `priceBook`, a ledger),
 * throwing a `ConfigError` whose message names the factory and each bad
 * option with what it expected (`options.maxRecords: ...`).
 */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  options: unknown,
  factory: string,
  root = "options",
): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid ${factory} options:\n  ${describeZodError(parsed.error, root).join("\n  ")}`,
    );
  }
  return parsed.data;
}
