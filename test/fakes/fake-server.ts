// Shared plumbing for the wire-level fake providers: a loopback HTTP server,
// request recording, the scripted step queue, fault injection and an SSE writer,
// plus extension endpoints and the batch script book (per-item faults, poll
// progress, output order) that both providers' batch APIs share.
// Everything that knows what a provider's JSON looks like lives in
// fake-openai.ts / fake-anthropic.ts and their *-batch.ts; this file only moves bytes.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeServer {
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  enqueue(...steps: FakeStep[]): void;
  /** Scripts the batch endpoints (per-item faults, polls until a batch ends); kept until reset(). */
  scriptBatch(script: FakeBatchScript): void;
  /** What the batch endpoints received: batches created, item lines, polls. Cleared by reset(). */
  readonly batchLog: FakeBatchLog;
  /** Responses the client closed before they were finished (an aborted or abandoned call), since reset(). */
  abandoned(): number;
  reset(): void;
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string as received, without the leading "?". */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface FakeUsage {
  input?: number;
  cacheRead?: number;
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  output?: number;
  reasoning?: number;
}

export type FakeStep =
  | { kind: "text"; text: string; usage?: FakeUsage; finishReason?: string; model?: string }
  | {
      kind: "tool-calls";
      calls: { id?: string; name: string; arguments: unknown }[];
      text?: string;
      usage?: FakeUsage;
    }
  | { kind: "refusal"; text: string }
  | { kind: "thinking"; thinking: string; text: string; usage?: FakeUsage }
  | { kind: "error"; status: number; retryAfter?: number; message?: string; errorType?: string }
  | { kind: "slow-first-byte"; delayMs: number; next?: FakeStep }
  | { kind: "truncated-stream"; afterDeltas: number; text?: string }
  | { kind: "stall"; afterDeltas: number; text?: string }
  | { kind: "malformed-json" }
  | { kind: "reset" }
  | { kind: "hang" };

/** Steps that describe a successful model reply (as opposed to a fault). */
export type ContentStep = Extract<FakeStep, { kind: "text" | "tool-calls" | "refusal" | "thinking" }>;
export type ErrorStep = Extract<FakeStep, { kind: "error" }>;

/** One SSE event. `data` strings are written verbatim; anything else is JSON-encoded.
 *  `delta` marks content deltas, which is what truncated-stream/stall count. */
export interface SseEvent {
  event?: string;
  data: unknown;
  delta?: boolean;
}

export interface RouteContext {
  body: any;
  /** Deterministic per-server ids, e.g. id("chatcmpl-") → "chatcmpl-fake000001". */
  id(prefix: string): string;
}

export interface Route {
  /** Chat-style routes consume every step; others (embeddings) only consume fault steps,
   *  so content steps stay queued for the chat endpoint they were written for. */
  consumesContentSteps: boolean;
  json(step: ContentStep, ctx: RouteContext): unknown;
  sse?(step: ContentStep, ctx: RouteContext): SseEvent[];
}

export interface ProviderSpec {
  /** Appended to "http://127.0.0.1:PORT" to form baseURL. */
  basePath: string;
  requestIdHeader: string;
  /** Keyed by "METHOD /path". */
  routes: Record<string, Route>;
  /** Endpoints with path parameters or their own state (the batch APIs), tried before `routes`. */
  extensions?: FakeExtension[];
  errorBody(step: ErrorStep, requestId: string): unknown;
  /** The not-JSON line sent for a streamed malformed-json step (Anthropic needs an event name). */
  malformedEvent: SseEvent;
}

/** A request as an extension sees it: the parsed body (or the raw text when it is not JSON) and the raw text. */
export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  raw: string;
}

/** `json` is sent as JSON; `text` verbatim (a JSONL file), with `contentType`. */
export interface FakeResponse {
  status?: number;
  json?: unknown;
  text?: string;
  contentType?: string;
}

export interface FakeTools {
  id(prefix: string): string;
  requestId: string;
  /** "http://127.0.0.1:PORT", for URLs the fake hands out (Anthropic's results_url). */
  origin: string;
  /** The batch script and log shared by the batch endpoints of this server. */
  batch: FakeBatchBook;
  /** The live endpoints' default reply for a request body. */
  defaultStep(body: any): ContentStep;
}

/** Endpoints with their own state; `reset()` clears it with the server's. */
export interface FakeExtension {
  claims(method: string, path: string): boolean;
  handle(request: FakeRequest, tools: FakeTools): FakeResponse | Promise<FakeResponse>;
  reset(): void;
}

const EXTENSION_FAULTS = new Set<FakeStep["kind"]>(["error", "reset", "hang", "slow-first-byte"]);

const CONTENT_KINDS = new Set(["text", "tool-calls", "refusal", "thinking"]);
const isContent = (step: FakeStep): step is ContentStep => CONTENT_KINDS.has(step.kind);

export async function startFakeServer(
  spec: ProviderSpec,
  options: { defaultText?: (body: any) => string } = {},
): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const queue: FakeStep[] = [];
  const batchBook = createBatchBook();
  const sockets = new Set<Socket>();
  let counter = 0;
  const id = (prefix: string) => `${prefix}fake${String(++counter).padStart(6, "0")}`;
  const defaultText =
    options.defaultText ?? ((body: any) => `Fake reply to: ${lastUserText(body).slice(0, 40)}`);

  let abandoned = 0;
  const server = createServer((req, res) => {
    res.on("close", () => {
      if (!res.writableFinished) abandoned++;
    });
    handle(req, res).catch((err) => {
      // A bug in the fake must surface as a failed request, never as a hung test.
      if (!res.headersSent) res.writeHead(599).end(String(err?.stack ?? err));
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const body = parseJson(raw);
    requests.push({
      method: req.method ?? "GET",
      path,
      query: url.search.slice(1),
      headers: { ...req.headers },
      body,
    });

    const requestId = id("req_");
    res.setHeader(spec.requestIdHeader, requestId);
    const extension = spec.extensions?.find((e) => e.claims(req.method ?? "GET", path));
    if (extension) {
      const request = { method: req.method ?? "GET", path, headers: { ...req.headers }, body, raw };
      const tools: FakeTools = { id, requestId, origin, batch: batchBook, defaultStep };
      return runExtension(extension, request, tools, res);
    }
    const route = spec.routes[`${req.method} ${path}`];
    if (!route) {
      const notFound: ErrorStep = {
        kind: "error",
        status: 404,
        message: `Unknown route ${req.method} ${path}`,
      };
      return sendJson(res, 404, spec.errorBody(notFound, requestId));
    }
    const head = queue[0];
    const step = head && (route.consumesContentSteps || !isContent(head)) ? queue.shift() : undefined;
    await run(step ?? defaultStep(body), route, { body, id }, requestId, res);
  }

  function defaultStep(body: any): ContentStep {
    return { kind: "text", text: defaultText(body) };
  }

  /** Extension endpoints take only the fault steps at the head of the queue (error, reset, hang, delay). */
  async function runExtension(
    extension: FakeExtension,
    request: FakeRequest,
    tools: FakeTools,
    res: ServerResponse,
  ): Promise<void> {
    const head = queue[0];
    if (head && EXTENSION_FAULTS.has(head.kind)) {
      const step = queue.shift()!;
      if (step.kind === "reset") return void res.socket?.resetAndDestroy();
      if (step.kind === "hang") return;
      if (step.kind === "error") return sendJson(res, step.status, spec.errorBody(step, tools.requestId));
      if (step.kind === "slow-first-byte") {
        await new Promise((resolve) => setTimeout(resolve, step.delayMs).unref());
        if (isGone(res)) return;
      }
    }
    const answer = await extension.handle(request, tools);
    if (isGone(res)) return;
    const status = answer.status ?? 200;
    if (answer.text === undefined) return sendJson(res, status, answer.json);
    res.writeHead(status, {
      "content-type": answer.contentType ?? "application/octet-stream",
      "content-length": Buffer.byteLength(answer.text),
    });
    res.end(answer.text);
  }

  async function run(
    step: FakeStep,
    route: Route,
    ctx: RouteContext,
    requestId: string,
    res: ServerResponse,
  ) {
    const streaming = ctx.body?.stream === true && route.sse !== undefined;
    const events = (s: ContentStep) => route.sse?.(s, ctx) ?? [];
    switch (step.kind) {
      case "slow-first-byte":
        // Unref'd so a pending delay never keeps the process alive after close().
        await new Promise((resolve) => setTimeout(resolve, step.delayMs).unref());
        if (isGone(res)) return;
        return run(step.next ?? defaultStep(ctx.body), route, ctx, requestId, res);
      case "reset":
        res.socket?.resetAndDestroy();
        return;
      case "hang":
        return; // close() or the client's abort tears the socket down
      case "error": {
        const headers: Record<string, string> =
          step.retryAfter === undefined ? {} : { "retry-after": String(step.retryAfter) };
        return sendJson(res, step.status, spec.errorBody(step, requestId), headers);
      }
      case "malformed-json":
        if (streaming) {
          const all = events(defaultStep(ctx.body));
          await writeSse(res, [...all.slice(0, cutAfterDeltas(all, 0)), spec.malformedEvent]);
          res.end();
        } else {
          res.writeHead(200, { "content-type": "application/json" }).end('{"id": "broken", "choices": [');
        }
        return;
      case "truncated-stream":
      case "stall": {
        const content: ContentStep = { kind: "text", text: step.text ?? defaultText(ctx.body) };
        if (streaming) {
          const all = events(content);
          await writeSse(res, all.slice(0, cutAfterDeltas(all, step.afterDeltas)));
        } else {
          // Announce the full length, then deliver only half of it.
          const full = JSON.stringify(route.json(content, ctx));
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(full),
          });
          await write(res, full.slice(0, Math.floor(full.length / 2)));
        }
        if (step.kind === "truncated-stream") res.destroy();
        return;
      }
      default:
        if (streaming) {
          await writeSse(res, events(step));
          res.end();
        } else {
          sendJson(res, 200, route.json(step, ctx));
        }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseURL: `${origin}${spec.basePath}`,
    requests,
    enqueue: (...steps) => void queue.push(...steps),
    scriptBatch: (script) => batchBook.setScript(script),
    batchLog: batchBook.log,
    abandoned: () => abandoned,
    reset() {
      abandoned = 0;
      queue.length = 0;
      requests.length = 0;
      counter = 0;
      batchBook.reset();
      for (const extension of spec.extensions ?? []) extension.reset();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Writes events one at a time and stops as soon as the client goes away.
 *  Headers go out first even if there are no events (a stall at 0 deltas). */
async function writeSse(res: ServerResponse, events: SseEvent[]): Promise<void> {
  if (!res.headersSent) {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.flushHeaders();
  }
  for (const ev of events) {
    if (isGone(res)) return;
    const data = typeof ev.data === "string" ? ev.data : JSON.stringify(ev.data);
    await write(res, `${ev.event ? `event: ${ev.event}\n` : ""}data: ${data}\n\n`);
  }
}

/** Resolves once the chunk is handed to the socket, so a following destroy() cannot drop it
 *  and each SSE event reaches the client as its own chunk. */
function write(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

/** True once the client has disconnected, the server is closing, or the response is finished. */
const isGone = (res: ServerResponse) =>
  res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (isGone(res)) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Where to cut a stream so it holds exactly the first n content deltas: just before the
 *  (n+1)-th delta, or just after the last one, never reaching the finish/usage events. */
function cutAfterDeltas(events: SseEvent[], n: number): number {
  const deltas = events.flatMap((e, i) => (e.delta ? [i] : []));
  return deltas[n] ?? (deltas.at(-1) ?? events.length - 1) + 1;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(raw: string): any {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

// ---- helpers shared by both providers -------------------------------------------------

/** Text of the last user message; both providers use string or [{type:"text",text}] content. */
export function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m?.role === "user");
  const content = last?.content;
  if (!Array.isArray(content)) return typeof content === "string" ? content : "";
  return content.flatMap((p: any) => (p?.type === "text" ? [p.text] : [])).join(" ");
}

export const countWords = (text: string): number => text.split(/\s+/).filter(Boolean).length;

/** Splits on word boundaries keeping the whitespace, so the pieces concatenate back exactly. */
export function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Splits a string into `parts` roughly equal fragments (at least one, possibly empty). */
export function splitFragments(text: string, parts = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [""];
}

/** Fills the unspecified usage fields: input from a chars/4 estimate of the prompt,
 *  output from the word count of what the fake "generated", caches and reasoning 0. */
export function resolveUsage(
  given: FakeUsage | undefined,
  body: any,
  generated: string,
  reasoningText = "",
): Required<FakeUsage> {
  const promptChars = [body?.messages, body?.system, body?.tools]
    .filter((part) => part !== undefined)
    .reduce((sum: number, part) => sum + JSON.stringify(part).length, 0);
  const reasoning = given?.reasoning ?? countWords(reasoningText);
  return {
    input: given?.input ?? Math.ceil(promptChars / 4),
    cacheRead: given?.cacheRead ?? 0,
    cacheWrite5m: given?.cacheWrite5m ?? 0,
    cacheWrite1h: given?.cacheWrite1h ?? 0,
    output: given?.output ?? countWords(generated) + reasoning,
    reasoning,
  };
}

// ---- batch scripting shared by both providers' batch endpoints ------------------------

/** What happens to one item of a batch. */
export type FakeBatchFate = "ok" | "error" | "expire" | "duplicate";

export interface FakeBatchScript {
  /**
   * Status polls (GET of the batch) answered "in progress" before a batch ends. Read at each
   * poll, so a test can hold batches with Infinity and release them later. Default 0.
   */
  pollsUntilDone?: number;
  /** Each listing fails that custom id once (list an id twice to fail it twice), with `failStatus`. */
  failCustomIds?: string[];
  /** The HTTP status of a failed item. Default 500 (retryable). */
  failStatus?: number;
  /** Each listing expires that custom id once. */
  expireCustomIds?: string[];
  /** Each listing answers that custom id twice in the output. */
  duplicateCustomIds?: string[];
  /** Fates by predicate, asked after the lists; `seen` is 1 the first time the fake processes that id. */
  itemFault?: (item: { customId: string; body: any; seen: number }) => FakeBatchFate | undefined;
  /** The reply of an item that succeeds; default: the live endpoints' default reply. */
  replyFor?: (item: { customId: string; body: any }) => ContentStep | undefined;
  /** Output order. Default "shuffle" (seeded, so runs repeat): results never come back in input order. */
  order?: "shuffle" | "input";
}

export interface FakeBatchLog {
  /** Every batch created, in order, with the custom ids of its items. */
  readonly created: { id: string; customIds: string[] }[];
  /** Item lines received across every batch created. */
  lines: number;
  /** Status polls across every batch. */
  polls: number;
}

export interface FakeBatchBook {
  readonly log: FakeBatchLog;
  readonly script: FakeBatchScript;
  setScript(script: FakeBatchScript): void;
  created(id: string, customIds: string[]): void;
  /** Counts a poll of the batch; true once it has ended (it stays ended). */
  poll(id: string): boolean;
  fate(customId: string, body: any): FakeBatchFate;
  order<T>(items: T[]): T[];
  reset(): void;
}

export function createBatchBook(): FakeBatchBook {
  let script: FakeBatchScript = {};
  let lists = listsOf(script);
  const log: FakeBatchLog = { created: [], lines: 0, polls: 0 };
  const polls = new Map<string, number>();
  const ended = new Set<string>();
  const seen = new Map<string, number>();
  let seed = 1;
  return {
    log,
    get script() {
      return script;
    },
    setScript(next) {
      script = next;
      lists = listsOf(next);
    },
    created(id, customIds) {
      log.created.push({ id, customIds });
      log.lines += customIds.length;
    },
    poll(id) {
      log.polls++;
      const n = (polls.get(id) ?? 0) + 1;
      polls.set(id, n);
      if (n > (script.pollsUntilDone ?? 0)) ended.add(id);
      return ended.has(id);
    },
    fate(customId, body) {
      const count = (seen.get(customId) ?? 0) + 1;
      seen.set(customId, count);
      for (const [fate, ids] of lists) {
        const at = ids.indexOf(customId);
        if (at >= 0) {
          ids.splice(at, 1);
          return fate;
        }
      }
      return script.itemFault?.({ customId, body, seen: count }) ?? "ok";
    },
    order(items) {
      if (script.order === "input") return items;
      // Fisher-Yates over a small seeded generator (mulberry32).
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    reset() {
      script = {};
      lists = listsOf(script);
      log.created.length = 0;
      log.lines = 0;
      log.polls = 0;
      polls.clear();
      ended.clear();
      seen.clear();
      seed = 1;
    },
  };
}

function listsOf(script: FakeBatchScript): [FakeBatchFate, string[]][] {
  return [
    ["error", [...(script.failCustomIds ?? [])]],
    ["expire", [...(script.expireCustomIds ?? [])]],
    ["duplicate", [...(script.duplicateCustomIds ?? [])]],
  ];
}
