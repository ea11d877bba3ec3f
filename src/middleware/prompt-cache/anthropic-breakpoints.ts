import type { CacheControl, ChatRequest } from "../../core/request.js";
import { type CacheEconomics, netPerToken } from "./cache-economics.js";
import { expectedReads, favoursOneHour, type Reuse } from "./prefix-history.js";
import { applyMarkerEdits, type MarkerEdit, type PromptBlock, promptBlocks } from "./prompt-blocks.js";

/** Anthropic answers 400 to a request with more `cache_control` markers than this. */
export const MAX_BREAKPOINTS = 4;

export type Ttl = "5m" | "1h";
export type TtlMode = "auto" | Ttl;
/** Why a breakpoint is where it is. `caller` is a marker the request came with. */
export type BreakpointKind = "tools" | "system" | "document" | "conversation" | "caller";

/** One breakpoint of the request as sent, in prefix order. */
export interface Breakpoint {
  kind: BreakpointKind;
  /** `added` by promptCache, or the `caller`'s own. */
  source: "added" | "caller";
  ttl: Ttl;
  /** Where: `system[0]`, `messages[2].content[1]`, or `request` for a top-level `cache_control`. */
  at: string;
  /** Estimated tokens of the prefix the breakpoint closes. */
  prefixTokens: number;
  /** For an added breakpoint: the reads one write is expected to serve. */
  expectedReads?: number;
}

export interface BreakpointPlanInput {
  request: ChatRequest;
  /** Scopes prefix hashes: tenant, provider and model. */
  seed: string;
  /** The model's minimum cacheable prefix, in tokens. */
  minTokens: number;
  /** A user text part of at least this many tokens is a document worth its own breakpoint; `false`: none. */
  documentMinTokens: number | false;
  ttl: TtlMode;
  economics: CacheEconomics;
  /** How a prefix came back before (the prefix history); called once per candidate. */
  reuse(hash: string): Reuse;
  /** The chance assumed that a prefix never seen comes back within its TTL. */
  priorHitRate: number;
}

export interface BreakpointPlan {
  /** The request to send: the input itself when nothing changed. */
  request: ChatRequest;
  breakpoints: Breakpoint[];
  /** Caller markers removed because the request came with more than four. */
  trimmed: number;
  /**
   * The caller's own markers put a 5m breakpoint before a 1h one, which
   * Anthropic rejects; promptCache never reorders them, and adds nothing
   * between them.
   */
  callerTtlOutOfOrder: boolean;
}

/** Markers promptCache created and why, so a second pass knows them as its own. */
const ADDED = new WeakMap<CacheControl, Exclude<BreakpointKind, "caller">>();

/**
 * Places Anthropic cache breakpoints. A pure function of its input (the
 * history is read through `reuse`): running it on its own output adds
 * nothing, so applying it twice is applying it once.
 *
 * 1. Every marker the request carries counts toward the cap of four,
 *    including a top-level `cache_control` in `providerOptions.anthropic`.
 *    Over four, caller markers are trimmed, closest to the previous one
 *    first, so the request never gets a 400.
 * 2. Candidates, in prefix order: the end of the tools, the end of the
 *    system prompt, each large user text part, and the end of the
 *    conversation before the newest user turn.
 * 3. A candidate is kept when its prefix reaches the model's minimum and a
 *    write is expected to pay for itself in reads at the chosen TTL.
 * 4. 1h breakpoints must precede 5m ones: the caller's markers are fixed,
 *    added ones take the TTL the order requires (or are left out when the
 *    caller's own order makes every TTL invalid).
 * 5. The most valuable candidates fill the free slots.
 */
export function planBreakpoints(input: BreakpointPlanInput): BreakpointPlan {
  const { request } = input;
  const blocks = promptBlocks(request, input.seed);
  const automatic = topLevelMarker(request);
  const fixed = blockMarkers(blocks);
  const edits: MarkerEdit[] = [];

  const room = MAX_BREAKPOINTS - (automatic ? 1 : 0);
  let trimmed = 0;
  while (fixed.length > room) {
    const drop = closestToPrevious(fixed);
    const [removed] = fixed.splice(drop, 1);
    edits.push({ block: removed!.block, nested: removed!.nested, control: undefined });
    trimmed++;
  }

  const fixedPositions = fixed.map((m) => ({ position: m.block.index, ttl: ttlOf(m.control) }));
  if (automatic) fixedPositions.push({ position: Number.POSITIVE_INFINITY, ttl: ttlOf(automatic) });
  const marked = new Set(fixed.map((m) => m.block.index));
  // Trimmed blocks are not offered again: the caller chose them, and a second pass must agree with the first.
  for (const edit of edits) marked.add(edit.block.index);

  const chosen: Chosen[] = [];
  for (const candidate of candidates(blocks, request, input.documentMinTokens)) {
    if (marked.has(candidate.block.index) || candidate.block.prefixTokens < input.minTokens) continue;
    const reuse = input.reuse(candidate.block.hash);
    const position = candidate.block.index;
    const mustBeOneHour = fixedPositions.some((m) => m.position > position && m.ttl === "1h");
    const mustBeFiveMinutes = fixedPositions.some((m) => m.position < position && m.ttl === "5m");
    if (mustBeOneHour && mustBeFiveMinutes) continue;
    const decided = decideTtl(input, reuse, mustBeFiveMinutes ? "5m" : input.ttl);
    if (!decided) continue;
    // Under a later 1h breakpoint the whole prefix is written at 1h anyway: a 1h marker here costs
    // nothing more, so it is valued at the TTL it would have had and sent at 1h.
    chosen.push({
      ...candidate,
      ...decided,
      valuedAt: decided.ttl,
      ...(mustBeOneHour && { ttl: "1h" }),
      value: 0,
    });
  }

  // Value: the tokens a breakpoint adds over the one before it, times what each token earns.
  const starts = [...fixed.map((m) => m.block), ...chosen.map((c) => c.block)].sort(
    (a, b) => a.index - b.index,
  );
  for (const c of chosen) {
    const before = starts.filter((b) => b.index < c.block.index).at(-1);
    const segment = c.block.prefixTokens - (before?.prefixTokens ?? 0);
    c.value = segment * netPerToken(input.economics, c.valuedAt, c.reads);
  }
  const free = Math.max(0, room - fixed.length);
  const kept = chosen
    .slice()
    .sort((a, b) => b.value - a.value || a.block.index - b.block.index)
    .slice(0, free)
    .sort((a, b) => a.block.index - b.block.index);
  let laterOneHour = false;
  for (let i = kept.length - 1; i >= 0; i--) {
    if (laterOneHour) kept[i]!.ttl = "1h";
    laterOneHour ||= kept[i]!.ttl === "1h";
  }

  for (const c of kept) {
    const control: CacheControl = c.ttl === "1h" ? { ttl: "1h" } : {};
    ADDED.set(control, c.kind);
    edits.push({ block: c.block, control });
  }
  const breakpoints = describe(fixed, kept, automatic, blocks.at(-1)?.prefixTokens ?? 0);
  const callerTtlOutOfOrder = fixedPositions.some(
    (a) => a.ttl === "5m" && fixedPositions.some((b) => b.position > a.position && b.ttl === "1h"),
  );
  return { request: applyMarkerEdits(request, edits), breakpoints, trimmed, callerTtlOutOfOrder };
}

interface Candidate {
  kind: Exclude<BreakpointKind, "caller">;
  block: PromptBlock;
}
interface Chosen extends Candidate {
  ttl: Ttl;
  reads: number;
  /** The TTL the reads were estimated for (before the order rule forced 1h). */
  valuedAt: Ttl;
  value: number;
}
interface FixedMarker {
  block: PromptBlock;
  nested?: number;
  control: CacheControl;
}

/** The TTL a write pays at, with the reads it is expected to serve; undefined when none pays. */
function decideTtl(
  input: BreakpointPlanInput,
  reuse: Reuse,
  mode: TtlMode,
): { ttl: Ttl; reads: number } | undefined {
  const pays = (ttl: Ttl) => {
    const reads = expectedReads(reuse, ttl, input.priorHitRate);
    return netPerToken(input.economics, ttl, reads) > 0 ? { ttl, reads } : undefined;
  };
  if (mode !== "auto") return pays(mode);
  return (favoursOneHour(reuse) && pays("1h")) || pays("5m");
}

/** Candidate positions in prefix order, one per block, each named by its strongest reason. */
function candidates(
  blocks: readonly PromptBlock[],
  request: ChatRequest,
  documentMinTokens: number | false,
): Candidate[] {
  const byBlock = new Map<number, Candidate>();
  const offer = (kind: Candidate["kind"], block: PromptBlock | undefined) => {
    if (block?.markable) byBlock.set(block.index, { kind, block });
  };
  offer(
    "tools",
    blocks.findLast((b) => b.path.section === "tools"),
  );
  offer(
    "system",
    blocks.findLast((b) => b.path.section === "system" && b.markable),
  );
  if (documentMinTokens !== false) {
    for (const b of blocks) if (b.userText && b.tokens >= documentMinTokens) offer("document", b);
  }
  // The conversation so far: everything before the trailing run of user-side turns (the newest question
  // and its tool results), so the next turn finds it cached.
  let newest = request.messages.length;
  // A trailing assistant message is a prefill: part of the newest turn.
  if (request.messages.at(-1)?.role === "assistant") newest--;
  while (newest > 0 && request.messages[newest - 1]!.role !== "assistant") newest--;
  if (newest > 0) {
    offer(
      "conversation",
      blocks.findLast((b) => b.path.section === "messages" && b.path.message < newest && b.markable),
    );
  }
  return [...byBlock.values()].sort((a, b) => a.block.index - b.block.index);
}

function blockMarkers(blocks: readonly PromptBlock[]): FixedMarker[] {
  return blocks.flatMap((block) =>
    block.markers.map((m) => ({
      block,
      control: m.control,
      ...(m.nested !== undefined && { nested: m.nested }),
    })),
  );
}

/** The marker whose prefix adds the fewest tokens over the marker before it (the earliest on a tie). */
function closestToPrevious(markers: readonly FixedMarker[]): number {
  let best = 0;
  let bestGap = Number.POSITIVE_INFINITY;
  markers.forEach((m, i) => {
    const gap = m.block.prefixTokens - (i > 0 ? markers[i - 1]!.block.prefixTokens : 0);
    if (gap < bestGap) {
      best = i;
      bestGap = gap;
    }
  });
  return best;
}

/** `providerOptions.anthropic.cache_control`: Anthropic's automatic caching, which takes one of the four slots. */
function topLevelMarker(request: ChatRequest): CacheControl | undefined {
  const raw = request.providerOptions?.anthropic?.cache_control as { ttl?: unknown } | undefined;
  if (raw === undefined || raw === null || typeof raw !== "object") return undefined;
  return raw.ttl === "1h" ? { ttl: "1h" } : {};
}

const ttlOf = (control: CacheControl): Ttl => control.ttl ?? "5m";

function describe(
  fixed: readonly FixedMarker[],
  kept: readonly Chosen[],
  automatic: CacheControl | undefined,
  totalTokens: number,
): Breakpoint[] {
  const all: (Breakpoint & { order: number })[] = [
    ...fixed.map((m) => ({
      order: m.block.index,
      kind: ADDED.get(m.control) ?? ("caller" as const),
      source: ADDED.has(m.control) ? ("added" as const) : ("caller" as const),
      ttl: ttlOf(m.control),
      at: m.nested === undefined ? m.block.label : `${m.block.label}.content[${m.nested}]`,
      prefixTokens: m.block.prefixTokens,
    })),
    ...kept.map((c) => ({
      order: c.block.index,
      kind: c.kind,
      source: "added" as const,
      ttl: c.ttl,
      at: c.block.label,
      prefixTokens: c.block.prefixTokens,
      expectedReads: Math.round(c.reads * 100) / 100,
    })),
  ];
  if (automatic) {
    all.push({
      order: Number.POSITIVE_INFINITY,
      kind: "caller",
      source: "caller",
      ttl: ttlOf(automatic),
      at: "request",
      prefixTokens: totalTokens,
    });
  }
  return all.sort((a, b) => a.order - b.order).map(({ order: _order, ...b }) => b);
}
