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
