/**
 * The entries of the change stream that keeps every instance's in-process
 * index in step with the vectors stored in Redis. An entry says what
 * changed, never to what: a reader fetches the current value from the hash,
 * so concurrent writers converge on what Redis holds, whatever order their
 * entries arrive in.
 *
 * - `op c ns <namespace> id <id> [id <id> ...]`: these ids changed (written or deleted).
 * - `op x ns <namespace>`: the namespace was deleted.
 */
export type Change =
  | { readonly op: "changed"; readonly namespace: string; readonly ids: readonly string[] }
  | { readonly op: "dropped"; readonly namespace: string };

/** Ids per stream entry at most, so that one entry stays small. */
export const IDS_PER_ENTRY = 500;

/** The field-value list of an XADD for `change`. */
export function changeFields(change: Change): string[] {
  if (change.op === "dropped") return ["op", "x", "ns", change.namespace];
  const fields = ["op", "c", "ns", change.namespace];
  for (const id of change.ids) fields.push("id", id);
  return fields;
}

/** The change of a stream entry's fields, or undefined for an entry this code did not write. */
export function parseChange(fields: readonly string[]): Change | undefined {
  let op: string | undefined;
  let namespace: string | undefined;
  const ids: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case "op":
        op = value;
        break;
      case "ns":
        namespace = value;
        break;
      case "id":
        ids.push(value);
        break;
    }
  }
  if (namespace === undefined) return undefined;
  if (op === "x") return { op: "dropped", namespace };
  if (op === "c") return { op: "changed", namespace, ids };
  return undefined;
}

/** Orders stream ids (`<ms>-<seq>`, both 64-bit): negative, zero or positive, like a sort comparator. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = splitId(a);
  const [bMs, bSeq] = splitId(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

function splitId(id: string): [bigint, bigint] {
  const dash = id.indexOf("-");
  if (dash < 0) return [BigInt(id), 0n];
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** A field of `XINFO STREAM`'s reply (a flat field-value list). */
export function streamInfoField(info: readonly unknown[], name: string): unknown {
  for (let i = 0; i + 1 < info.length; i += 2) if (info[i] === name) return info[i + 1];
  return undefined;
}

/**
 * Whether a reader that has applied every entry up to `lastId` missed some,
 * from `XINFO STREAM`'s reply: entries after `lastId` were trimmed or
 * deleted before it read them. Trimming (`MAXLEN`, `XTRIM`) removes the
 * oldest entries first, so nothing after `lastId` is gone while the first
 * entry left is at or before it; if the first entry left is past it (or the
 * stream is empty) while newer entries were added, some may have been lost,
 * and that counts as a miss: a reload too many is safe, an update missed is
 * not. `max-deleted-entry-id` (Redis >= 7.0) catches an XDEL in the middle.
 */
export function missedEntries(info: readonly unknown[], lastId: string): boolean {
  const maxDeleted = streamInfoField(info, "max-deleted-entry-id");
  if (typeof maxDeleted === "string" && compareStreamIds(maxDeleted, lastId) > 0) return true;
  const lastGenerated = streamInfoField(info, "last-generated-id");
  if (typeof lastGenerated !== "string" || compareStreamIds(lastGenerated, lastId) <= 0) return false;
  const first = streamInfoField(info, "first-entry");
  const firstId = Array.isArray(first) ? first[0] : undefined;
  return typeof firstId !== "string" || compareStreamIds(firstId, lastId) > 0;
}
