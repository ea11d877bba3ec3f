import type { Attempt } from "./completion.js";

/**
 * Events by name. Middleware add their own by declaration merging:
 *
 * ```ts
 * declare module "frugal-llm" {
 *   interface EventMap { "route-decided": { requestId: string; model: string } }
 * }
 * ```
 */
export interface EventMap {
  /** A provider call ended, well or not. */
  attempt: { requestId: string; attempt: Attempt };
  /** Something the host should know but that did not fail the call. */
  warning: { requestId?: string; code: string; message: string };
}

export type EventName = keyof EventMap;
export type Listener<K extends EventName> = (payload: EventMap[K]) => void;

/**
 * A small typed emitter. A listener that throws is reported through the
 * logger and never fails the LLM call.
 */
export class EventBus {
  readonly #listeners = new Map<EventName, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown, event: EventName) => void) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<K extends EventName>(name: K, payload: EventMap[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<K>)(payload);
      } catch (error) {
        this.onListenerError(error, name);
      }
    }
  }
}
