// wrapAnthropic: the host's Anthropic client keeps its call shape and types, while
// messages.create / messages.stream go through frugal-llm. The host SDK points at a
// closed port, so a call that bypassed frugal-llm could not reach the fake.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import type {
  MessageCreateParamsNonStreaming,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
import type { Stream } from "@anthropic-ai/sdk/streaming";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, type FakeStep, startFakeAnthropic } from "../../../test/fakes/index.js";
import {
  type Attempt,
  anthropic,
  createClient,
  type FrugalClient,
  InvalidRequestError,
  type Logger,
  type Middleware,
  ProviderError,
  RateLimitError,
  wrapAnthropic,
} from "../../index.js";

/** SDK 1.x types no longer list the sampling params older models still take; hosts still send them. */
type Params = MessageCreateParamsNonStreaming & { temperature?: number; top_k?: number };

const params = (extra: Partial<Params> = {}): Params => ({
  model: "claude-test",
  max_tokens: 256,
  messages: [{ role: "user", content: "Hello there" }],
  ...extra,
});

async function drain<T>(iterable: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const item of iterable) into.push(item);
  return into;
}

/** The rejection reason of a promise that must reject. */
const caught = (p: Promise<unknown>): Promise<any> =>
  p.then(
    () => expect.fail("expected a rejection"),
    (e) => e,
  );

const execFileAsync = promisify(execFile);
const usage = { input: 5, cacheRead: 100, cacheWrite5m: 20, cacheWrite1h: 30, output: 9 };
const weatherCall = { id: "toolu_1", name: "get_weather", arguments: { city: "Paris", days: 2 } };

describe("wrapAnthropic", () => {
  let fake: FakeServer;
  let direct: Anthropic;
  let llm: FrugalClient;
  let host: Anthropic;
  let client: Anthropic;
  const lastBody = () => fake.requests.at(-1)?.body;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    direct = new Anthropic({ apiKey: "test", baseURL: fake.baseURL, maxRetries: 0 });
    llm = createClient({ providers: { anthropic: anthropic(direct) } });
    host = new Anthropic({ apiKey: "unused", baseURL: "http://127.0.0.1:9", maxRetries: 0 });
    client = wrapAnthropic(host, llm);
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  /** Runs the same scripted step through a direct SDK call and through the wrapper; ids line up after reset(). */
  async function bothWays<T>(step: FakeStep, call: (c: Anthropic) => Promise<T>): Promise<[T, T]> {
    fake.reset();
    fake.enqueue(step);
    const plain = await call(direct);
    fake.reset();
    fake.enqueue(step);
    const wrapped = await call(client);
    expect(fake.requests).toHaveLength(1);
    return [plain, wrapped];
  }

  describe("messages.create", () => {
    it.each<[string, FakeStep]>([
      ["text with cache usage", { kind: "text", text: "one two three", usage }],
      ["text cut at max_tokens", { kind: "text", text: "one two", finishReason: "max_tokens" }],
      ["tool_use", { kind: "tool-calls", text: "Checking.", calls: [weatherCall] }],
      ["thinking", { kind: "thinking", thinking: "let me think", text: "42" }],
    ])("returns a Message whose content, usage and stop_reason match a direct call (%s)", async (_, step) => {
      const [plain, wrapped] = await bothWays(step, (c) => c.messages.create(params()));
      expect(wrapped).toMatchObject({ type: "message", role: "assistant", id: plain.id, model: plain.model });
      expect(wrapped.stop_reason).toBe(plain.stop_reason);
      expect(wrapped.content).toMatchObject(plain.content);
      expect(wrapped.content).toHaveLength(plain.content.length);
      expect(wrapped.usage).toMatchObject(plain.usage);
    });

    // The OpenAI wrapper sets it (compat/openai/to-sdk.ts toChatCompletion); compat/anthropic/to-sdk.ts
    // toAnthropicMessage does not, so msg._request_id is undefined where a direct call gives "req_...".
    it("exposes the provider's request id as _request_id, as a direct call does", async () => {
      const [plain, wrapped] = await bothWays({ kind: "text", text: "ok" }, (c) =>
        c.messages.create(params()),
      );
      expect(plain._request_id).toMatch(/^req_/);
      expect(wrapped._request_id).toBe(plain._request_id);
    });

    it("returns the tool_use input as an object", async () => {
      fake.enqueue({ kind: "tool-calls", calls: [weatherCall] });
      const msg = await client.messages.create(params());
      expect(msg.stop_reason).toBe("tool_use");
      expect(msg.content).toEqual([
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris", days: 2 } },
      ]);
    });

    it("reports a refusal as stop_reason refusal with the refusal text", async () => {
      fake.enqueue({ kind: "refusal", text: "I can't help with that." });
      const msg = await client.messages.create(params());
      expect(msg.stop_reason).toBe("refusal");
      expect(msg.content).toMatchObject([{ type: "text", text: "I can't help with that." }]);
    });

    it("rejects a provider error with frugal-llm's typed error", async () => {
      fake.enqueue({ kind: "error", status: 429, retryAfter: 2 });
      const error = await caught(client.messages.create(params()));
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error.retryAfterMs).toBe(2000);
    });

    it("says clearly that withResponse() is not available on a wrapped call", async () => {
      const call = client.messages.create(params());
      await expect(call.withResponse()).rejects.toThrow(/withResponse/);
      await call;
    });
  });

  describe("messages.create({ stream: true })", () => {
    const eventTypes = (events: RawMessageStreamEvent[]) =>
      events.map((e) => (e.type === "content_block_delta" ? `${e.type}:${e.delta.type}` : e.type));

    it("yields raw events in the order and with the text a direct stream has", async () => {
      const step: FakeStep = { kind: "text", text: "one two three", usage };
      const [plain, wrapped] = await bothWays(step, async (c) =>
        drain(await c.messages.create({ ...params(), stream: true })),
      );
      expect(eventTypes(wrapped)).toEqual([
        "message_start",
        "content_block_start",
        "content_block_delta:text_delta",
        "content_block_delta:text_delta",
        "content_block_delta:text_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
      ]);
      expect(eventTypes(wrapped)).toEqual(eventTypes(plain));
      expect(wrapped[0]).toMatchObject({
        type: "message_start",
        message: {
          id: plain[0]!.type === "message_start" && plain[0]!.message.id,
          model: "claude-test",
          role: "assistant",
        },
      });
      const delta = (events: RawMessageStreamEvent[]) => events.find((e) => e.type === "message_delta");
      expect(delta(wrapped)).toMatchObject({
        delta: { stop_reason: "end_turn" },
        usage: {
          input_tokens: 5,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 50,
          output_tokens: 9,
        },
      });
    });

    // Same root cause: the wrapper emits message_start before it knows the usage, with zeros.
    it("sends message_start with the input and cache usage a direct stream's message_start has", async () => {
      const step: FakeStep = { kind: "text", text: "one two three", usage };
      const [plain, wrapped] = await bothWays(step, async (c) =>
        drain(await c.messages.create({ ...params(), stream: true })),
      );
      const startUsage = (events: RawMessageStreamEvent[]) =>
        events[0]?.type === "message_start" ? events[0].message.usage : undefined;
      expect(startUsage(plain)).toMatchObject({ input_tokens: 5, cache_read_input_tokens: 100 });
      expect(startUsage(wrapped)).toMatchObject({
        input_tokens: 5,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 },
      });
    });

    it("returns a Stream that the SDK's own MessageStream accumulates into the message a direct call returns", async () => {
      const step: FakeStep = {
        kind: "tool-calls",
        text: "Checking.",
        calls: [weatherCall, { ...weatherCall, id: "toolu_2", arguments: { city: "Rome" } }],
      };
      const [plain, accumulated] = await bothWays(step, async (c) => {
        if (c === direct) return c.messages.create(params());
        const stream = await c.messages.create({ ...params(), stream: true });
        return MessageStream.fromReadableStream(stream.toReadableStream()).finalMessage();
      });
      expect(accumulated.stop_reason).toBe("tool_use");
      expect(accumulated.content).toMatchObject(plain.content);
      expect(accumulated.content).toHaveLength(3);
    });

    // Vitest loads one copy of the SDK for both import() and require(); a plain Node ESM host
    // loads the ESM and CommonJS builds separately, so this runs in one.
    it("works in a plain ESM host, returning the Stream class that host imported", async () => {
      const script = `
        import Anthropic from "@anthropic-ai/sdk";
        import { Stream } from "@anthropic-ai/sdk/streaming";
        import { anthropic, createClient, wrapAnthropic } from ${JSON.stringify(new URL("../../index.ts", import.meta.url).href)};
        const sdk = new Anthropic({ apiKey: "test", baseURL: ${JSON.stringify(fake.baseURL)}, maxRetries: 0 });
        const llm = createClient({ providers: { anthropic: anthropic(sdk) } });
        const client = wrapAnthropic(new Anthropic({ apiKey: "unused", baseURL: "http://127.0.0.1:9" }), llm);
        const p = { model: "claude-test", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
        const raw = await client.messages.create({ ...p, stream: true });
        let types = [];
        for await (const event of raw) types.push(event.type);
        const text = await client.messages.stream(p).finalText();
        console.log(JSON.stringify({ isStream: raw instanceof Stream, first: types[0], last: types.at(-1), text }));
      `;
      fake.enqueue({ kind: "text", text: "streamed" }, { kind: "text", text: "helper" });
      const { stdout } = await execFileAsync(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "--eval", script],
        { cwd: fileURLToPath(new URL("../../..", import.meta.url)), timeout: 15_000 },
      );
      expect(fake.requests).toHaveLength(2);
      expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({
        isStream: true,
        first: "message_start",
        last: "message_stop",
        text: "helper",
      });
    });

    it("surfaces a provider error from the iteration as frugal-llm's typed error", async () => {
      fake.enqueue({ kind: "error", status: 500 });
      const stream = await client.messages.create({ ...params(), stream: true });
      const error = await caught(drain(stream));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error.status).toBe(500);
    });
  });

  describe("messages.stream", () => {
    it("fires text events and resolves finalMessage() with the text, the tool_use input object and the usage", async () => {
      fake.enqueue({ kind: "tool-calls", text: "Checking the weather.", calls: [weatherCall], usage });
      const stream = client.messages.stream(params());
      const texts: string[] = [];
      stream.on("text", (delta) => texts.push(delta));
      const final = await stream.finalMessage();
      expect(texts.length).toBeGreaterThanOrEqual(2);
      expect(texts.join("")).toBe("Checking the weather.");
      expect(final.stop_reason).toBe("tool_use");
      expect(final.content).toMatchObject([
        { type: "text", text: "Checking the weather." },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris", days: 2 } },
      ]);
      expect(final.usage).toMatchObject({
        input_tokens: 5,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 50,
        output_tokens: 9,
      });
      expect(fake.requests[0]?.body.stream).toBe(true);
    });

    // to-sdk.ts toAnthropicEvents sends message_start with an all-zero usage (emptyMessage), and
    // the SDK's MessageStream takes cache_creation only from message_start, never message_delta.
    it("resolves finalMessage() with the usage a direct messages.stream() gives, cache write TTLs included", async () => {
      const step: FakeStep = { kind: "text", text: "one two three", usage };
      const [plain, wrapped] = await bothWays(step, (c) => c.messages.stream(params()).finalMessage());
      expect(plain.usage.cache_creation).toEqual({
        ephemeral_5m_input_tokens: 20,
        ephemeral_1h_input_tokens: 30,
      });
      expect(wrapped.usage).toMatchObject(plain.usage);
    });

    it("resolves finalText() and emits the final message", async () => {
      fake.enqueue({ kind: "thinking", thinking: "hmm", text: "The answer is 42." });
      const stream = client.messages.stream(params());
      const messages: Anthropic.Message[] = [];
      stream.on("message", (m) => messages.push(m));
      expect(await stream.finalText()).toBe("The answer is 42.");
      expect(messages).toHaveLength(1);
      expect(messages[0]?.content[0]).toMatchObject({ type: "thinking", thinking: "hmm" });
    });
  });

  describe("params translation", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const rich = (): Params => ({
      model: "claude-test",
      max_tokens: 2048,
      system: [
        { type: "text", text: "Long policy.", cache_control: { type: "ephemeral", ttl: "1h" } },
        { type: "text", text: "Be brief." },
      ],
      tools: [
        {
          name: "get_weather",
          description: "Weather for a city",
          input_schema: { type: "object", properties: { city: { type: "string" } } },
          cache_control: { type: "ephemeral" },
        },
      ],
      tool_choice: { type: "auto" },
      thinking: { type: "enabled", budget_tokens: 1024 },
      output_config: { format: { type: "json_schema", schema }, effort: "high" },
      temperature: 1,
      stop_sequences: ["END"],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "need the tool", signature: "c2ln" },
            { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "toolu_1",
              content: [{ type: "text", text: "18°C" }],
              is_error: false,
              cache_control: { type: "ephemeral", ttl: "5m" },
            },
            { type: "text", text: "Answer in one line." },
          ],
        },
      ],
      metadata: { user_id: "user-123" },
      top_k: 40,
    });

    it("sends system, cached tools, tool_result turns and thinking exactly as a direct call would", async () => {
      await direct.messages.create(rich());
      const directBody = lastBody();
      await client.messages.create(rich());
      expect(fake.requests).toHaveLength(2);
      // The adapter states stream: false where the SDK leaves it out; both mean the same.
      const { stream, ...wrappedBody } = lastBody();
      expect(stream).toBe(false);
      expect(wrappedBody).toEqual(directBody);
      expect(wrappedBody).toEqual(rich());
    });

    it("passes unknown params (metadata, top_k, service_tier) through to the wire untouched", async () => {
      await client.messages.create(
        params({ metadata: { user_id: "user-123" }, top_k: 40, service_tier: "standard_only" }),
      );
      expect(lastBody()).toMatchObject({
        metadata: { user_id: "user-123" },
        top_k: 40,
        service_tier: "standard_only",
      });
      await client.messages.stream(params({ metadata: { user_id: "user-9" }, top_k: 3 })).finalMessage();
      expect(lastBody()).toMatchObject({ metadata: { user_id: "user-9" }, top_k: 3, stream: true });
    });

    it("passes thinking configs the canonical request cannot express through untouched", async () => {
      await client.messages.create(params({ thinking: { type: "disabled" } }));
      expect(lastBody().thinking).toEqual({ type: "disabled" });
    });

    it("keeps tool_choice.disable_parallel_tool_use on the wire", async () => {
      const tools: Anthropic.Tool[] = [{ name: "get_weather", input_schema: { type: "object" } }];
      const choice = { type: "auto", disable_parallel_tool_use: true } as const;
      await client.messages.create(params({ tools, tool_choice: choice }));
      expect(lastBody().tool_choice).toEqual(choice);
    });
  });

  describe("the rest of the SDK", () => {
    it("leaves every other method and property the SDK's own", async () => {
      expect(client).toBeInstanceOf(Anthropic);
      expect(client.baseURL).toBe("http://127.0.0.1:9");
      expect(typeof client.messages.countTokens).toBe("function");
      expect(client.models).toBe(host.models);
      expect(client.messages.batches).toBe(host.messages.batches);
      // countTokens is the host SDK's: it goes to the host's (closed) base URL, not to frugal-llm.
      const error = await caught(
        client.messages.countTokens({ model: "claude-test", messages: [{ role: "user", content: "x" }] }),
      );
      expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
      expect(fake.requests).toHaveLength(0);
    });

    it("does not change the host's client", async () => {
      expect(host.messages.create).not.toBe(client.messages.create);
      const error = await caught(host.messages.create(params()));
      expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
    });
  });

  describe("the metadata option", () => {
    it("is called for each request, and its tenant reaches the middleware", async () => {
      const seen: (string | undefined)[] = [];
      const spy: Middleware = {
        name: "tenant-spy",
        handle: (ctx, next) => {
          seen.push(ctx.request.metadata?.tenant);
          return next(ctx);
        },
      };
      const withSpy = createClient({ providers: { anthropic: anthropic(direct) }, middleware: [spy] });
      let tenant = "acme";
      let calls = 0;
      const wrapped = wrapAnthropic(host, withSpy, {
        metadata: () => {
          calls++;
          return { tenant, user: "u1" };
        },
      });
      await wrapped.messages.create(params({ metadata: { user_id: "caller-set" } }));
      tenant = "globex";
      await drain(await wrapped.messages.create({ ...params(), stream: true }));
      tenant = "initech";
      await wrapped.messages.stream(params()).finalMessage();
      expect(seen).toEqual(["acme", "globex", "initech"]);
      expect(calls).toBe(3);
      // The Anthropic metadata param is the caller's wire param, not frugal-llm's tenant.
      expect(fake.requests[0]?.body.metadata).toEqual({ user_id: "caller-set" });
    });
  });

  describe("unsupported input", () => {
    it("rejects a document block with InvalidRequestError naming the field, before any provider call", async () => {
      const error = await caught(
        client.messages.create(
          params({
            messages: [
              {
                role: "user",
                content: [
                  { type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } },
                  { type: "text", text: "Summarize." },
                ],
              },
            ],
          }),
        ),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toMatch(/messages\[0\]\.content.*document/);
      expect(error.issues.join("\n")).toMatch(/document/);
      expect(fake.requests).toHaveLength(0);
    });

    it("rejects a server tool with InvalidRequestError naming the tool type", async () => {
      const error = await caught(
        client.messages.create(params({ tools: [{ type: "web_search_20250305", name: "web_search" }] })),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toMatch(/tools.*web_search_20250305/);
      expect(fake.requests).toHaveLength(0);
    });

    it("rejects unsupported input in a streamed create and in messages.stream too", async () => {
      const document = params({
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "x" } }],
          },
        ],
      });
      const error = await caught(client.messages.create({ ...document, stream: true }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      const streamed = await caught(client.messages.stream(document).finalMessage());
      expect(streamed.message).toMatch(/document/);
      expect(streamed.cause ?? streamed).toBeInstanceOf(InvalidRequestError);
      expect(fake.requests).toHaveLength(0);
    });

    it("names the message that holds an unsupported block inside a tool_result", async () => {
      const error = await caught(
        client.messages.create(
          params({
            messages: [
              { role: "user", content: "Read the file." },
              { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "read", input: {} }] },
              {
                role: "user",
                content: [
                  {
                    type: "tool_result",
                    tool_use_id: "t1",
                    content: [
                      { type: "document", source: { type: "text", media_type: "text/plain", data: "x" } },
                    ],
                  },
                ],
              },
            ],
          }),
        ),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toMatch(/messages\[2\]/);
    });
  });

  describe("secrets (FAILURES.md S3)", () => {
    // Assembled at run time so that secret scanners do not flag a fake key in the source.
    const CANARY = ["sk", "ant", "CANARY0123456789abcdef"].join("-");

    /** A wrapped client whose provider SDK holds the canary key; records log lines and events. */
    function canaryClient(listenerFailure?: (attempt: Attempt) => string) {
      const lines: string[] = [];
      const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
        lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
      const logger: Logger = {
        debug: record("debug"),
        info: record("info"),
        warn: record("warn"),
        error: record("error"),
      };
      const keyed = new Anthropic({ apiKey: CANARY, baseURL: fake.baseURL, maxRetries: 0 });
      const canaryLlm = createClient({ providers: { anthropic: anthropic(keyed) }, logger });
      const events: string[] = [];
      canaryLlm.on("attempt", (e) => events.push(JSON.stringify(e)));
      canaryLlm.on("warning", (e) => events.push(JSON.stringify(e)));
      if (listenerFailure) {
        // A host listener that fails makes the library log a line about it.
        canaryLlm.on("attempt", (e) => {
          throw new Error(listenerFailure(e.attempt));
        });
      }
      const wrappedHost = new Anthropic({ apiKey: CANARY, baseURL: "http://127.0.0.1:9", maxRetries: 0 });
      return { client: wrapAnthropic(wrappedHost, canaryLlm), lines, events };
    }
    const echo401 = { kind: "error", status: 401, message: `invalid x-api-key: ${CANARY}` } as const;

    it("keeps a key echoed in a 401 body out of error messages, log lines and events", async () => {
      const {
        client: keyed,
        lines,
        events,
      } = canaryClient((a) => `listener failed on a ${a.status} attempt`);
      fake.enqueue(echo401, echo401, echo401);
      const errors = [
        await caught(keyed.messages.create(params())),
        await caught(keyed.messages.create({ ...params(), stream: true }).then((s) => drain(s))),
        await caught(keyed.messages.stream(params()).finalMessage()),
      ];
      // The canary really was the key on the wire, and the provider really echoed it.
      const { "x-api-key": sentKey, authorization } = fake.requests[0]?.headers ?? {};
      expect(sentKey === CANARY || authorization === `Bearer ${CANARY}`).toBe(true);
      expect(fake.requests).toHaveLength(3);
      for (const error of errors) {
        expect(error.message).toMatch(/401/);
        expect(error.message).not.toContain(CANARY);
        expect(String(error)).not.toContain(CANARY);
        expect(error.stack ?? "").not.toContain(CANARY);
      }
      expect(errors[0]).toBeInstanceOf(ProviderError);
      expect(errors[0].status).toBe(401);
      expect(errors[1]).toBeInstanceOf(ProviderError);
      expect(JSON.stringify(errors[0].attempts)).not.toContain(CANARY);
      expect(events.length).toBe(3);
      expect(lines.length).toBe(3);
      for (const text of [...events, ...lines]) expect(text).not.toContain(CANARY);
    });

    // src/core/logger.ts redactFields: redacting the JSON text strips the backslash of an escaped
    // quote after "x-api-key: ...", so JSON.parse throws; the SyntaxError escapes the EventBus and
    // dispatch, and replaces the provider's error.
    it("logs a failing listener's message redacted and still rejects with the provider's error", async () => {
      const { client: keyed, lines } = canaryClient((a) => `listener failed on ${JSON.stringify(a)}`);
      fake.enqueue(echo401);
      const error = await caught(keyed.messages.create(params()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error.status).toBe(401);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/listener/);
      expect(lines[0]).not.toContain(CANARY);
    });

    // Error serializers such as pino's print the cause chain too.
    it("keeps the key out of the error's cause chain too", async () => {
      const { client: keyed } = canaryClient();
      fake.enqueue(echo401);
      const error = await caught(keyed.messages.create(params()));
      expect(error).toBeInstanceOf(ProviderError);
      const chain: string[] = [];
      for (let e = error; e; e = e.cause) chain.push(String(e.message), JSON.stringify(e.error ?? null));
      expect(chain.join("\n")).not.toContain(CANARY);
    });
  });

  it("has the SDK's own types: the wrapped client is the host's type and create() resolves to a Message", () => {
    const wrapped = wrapAnthropic(host, llm);
    expectTypeOf(wrapped).toEqualTypeOf<Anthropic>();
    expectTypeOf(wrapped).toEqualTypeOf(host);
    const call = () => wrapped.messages.create({ ...params(), stream: false });
    expectTypeOf(call).returns.resolves.toExtend<Anthropic.Message>();
    expectTypeOf<Anthropic.Message>().toExtend<Awaited<ReturnType<typeof call>>>();
    const streamed = () => wrapped.messages.create({ ...params(), stream: true });
    expectTypeOf(streamed).returns.resolves.toExtend<Stream<RawMessageStreamEvent>>();
    const helper = () => wrapped.messages.stream(params());
    expectTypeOf(helper).returns.toExtend<MessageStream<null>>();
  });
});
