import type { z } from "zod";
import { ConfigError, describeZodError } from "../core/errors.js";

/**
 * Validates a storage factory's options, throwing a `ConfigError` whose
 * message names each bad option (`options.maxRecords: ...`) and the factory.
 */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, factory: string): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid ${factory} options:\n  ${describeZodError(parsed.error, "options").join("\n  ")}`,
    );
  }
  return parsed.data;
}
