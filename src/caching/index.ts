export { type AdmissionOptions, bypassReason, isStorable } from "./admission.js";
export { type CacheEntry, parseEntry, serializeEntry, toCacheEntry } from "./entry.js";
export { scopedKey, scopeOf, tenantPrefix, tenantScope } from "./scope.js";
