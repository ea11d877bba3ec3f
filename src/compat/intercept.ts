import { createRequire } from "node:module";
import { FrugalError } from "../core/errors.js";

/**
 * Returns a view of `root` in which the method at `path` (for example
 * `chat.completions.create`) is replaced and everything else is the SDK's
 * own: other resources, methods and properties behave exactly as before.
 */
export function interceptMethods<T extends object>(root: T, replacements: Record<string, Method>): T {
  const tree: Tree = new Map();
  for (const [path, fn] of Object.entries(replacements)) addPath(tree, path.split("."), fn);
  return view(root, tree);
}

type Method = (...args: never[]) => unknown;
type Tree = Map<string, Tree | Method>;

function addPath(tree: Tree, path: string[], fn: Method): void {
  const [head, ...rest] = path;
  if (rest.length === 0) {
    tree.set(head!, fn);
    return;
  }
  let child = tree.get(head!);
  if (!(child instanceof Map)) {
    child = new Map();
    tree.set(head!, child);
  }
  addPath(child, rest, fn);
}

function view<T extends object>(target: T, tree: Tree): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const entry = typeof prop === "string" ? tree.get(prop) : undefined;
      if (typeof entry === "function") return entry;
      const value = Reflect.get(obj, prop, obj);
      if (entry instanceof Map && value && typeof value === "object") return view(value, entry);
      // SDK methods use private fields, so they must run with the real object as `this`.
      return typeof value === "function" && receiver !== obj ? value.bind(obj) : value;
    },
  });
}

/**
 * The SDKs return `APIPromise`s; a wrapped call returns a plain promise, and
 * says so clearly if raw-response helpers are used on it.
 */
export function sdkLikePromise<T>(promise: Promise<T>, wrapper: string): Promise<T> {
  // A caller that only used .withResponse() never awaits the call itself; its failure must not crash the host.
  promise.catch(() => {});
  const unavailable = () =>
    Promise.reject(
      new FrugalError(`${wrapper}: .withResponse() and .asResponse() are not available on wrapped calls`),
    );
  return Object.assign(promise, { withResponse: unavailable, asResponse: unavailable });
}

const requireFromHere = createRequire(import.meta.url);

/** Loads an SDK module only when a wrapper needs it, so hosts without that SDK never load it. */
export function loadSdkModule<T>(specifier: string): T {
  return requireFromHere(specifier) as T;
}

/**
 * SDK helpers that would reach the provider without going through the
 * middleware (so without cost records, caches or budgets): they throw a clear
 * error instead of silently bypassing frugal-llm.
 */
export function notThroughFrugal(wrapper: string, method: string, instead: string): () => never {
  return () => {
    throw new FrugalError(`${wrapper}: ${method}() would bypass frugal-llm; use ${instead} instead`);
  };
}

/** An AbortSignal that fires when any of the given signals does (AbortSignal.any needs Node 20.3). */
export function anySignal(signals: readonly (AbortSignal | null | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s != null);
  if (present.length === 1) return present[0]!;
  if (typeof AbortSignal.any === "function") return AbortSignal.any(present);
  const controller = new AbortController();
  for (const signal of present) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), {
      once: true,
      signal: controller.signal,
    });
  }
  return controller.signal;
}
