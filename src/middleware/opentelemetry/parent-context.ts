import type { Context, Span } from "@opentelemetry/api";

/**
 * The key under which `@opentelemetry/api` keeps a context's span. The API
 * builds its context keys with `Symbol.for(description)` on purpose, so that
 * several copies of the API in one process agree on them; that is what lets
 * this library parent the attempt spans it creates after the fact without
 * importing the API at run time (it is an optional peer: type imports only).
 */
const SPAN_KEY = Symbol.for("OpenTelemetry Context Key SPAN");

/** A context that holds `span` and nothing else: the parent for spans created after the fact. */
export function contextWithSpan(span: Span): Context {
  return new ValueContext(new Map([[SPAN_KEY, span]]));
}

/** An immutable context, as the API's `Context` interface requires. */
class ValueContext implements Context {
  constructor(private readonly values: ReadonlyMap<symbol, unknown>) {}

  getValue(key: symbol): unknown {
    return this.values.get(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new ValueContext(new Map(this.values).set(key, value));
  }

  deleteValue(key: symbol): Context {
    const values = new Map(this.values);
    values.delete(key);
    return new ValueContext(values);
  }
}
