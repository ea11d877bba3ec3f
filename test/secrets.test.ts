import { inspect } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type FrugalClient, type Logger } from "../src/index.js";
import { anthropic } from "../src/providers/anthropic/index.js";
import { openai } from "../src/providers/openai/index.js";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "./fakes/index.js";

// FAILURES.md S3: canary credentials planted in the key, a header, a query string and a body never
// appear in a log line, an error (message, stack, cause, inspection), an event or a completion.
const KEY = {
  openai: "sk-proj-CANARYopenai0123456789abcdef",
  anthropic: "sk-ant-api03-CANARYanthropic0123456789",
};
const HEADER = "hdr-CANARY-7f3a9c";
const QUERY = "qry-CANARY-19be77";
const CANARIES = [KEY.openai, KEY.anthropic, "CANARYopenai", "CANARYanthropic", HEADER, QUERY];

let fakeOpenAI: FakeServer;
let fakeAnthropic: FakeServer;
const seen: string[] = [];
const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
  seen.push(`${level} ${message} ${inspect(fields, { depth: 20 })}`);
const logger: Logger = {
  debug: record("debug"),
  info: record("info"),
  warn: record("warn"),
  error: record("error"),
};
let llm: FrugalClient;

beforeAll(async () => {
  fakeOpenAI = await startFakeOpenAI();
  fakeAnthropic = await startFakeAnthropic();
  const sdkOptions = {
    defaultHeaders: { "x-tenant-secret": HEADER },
    defaultQuery: { sig: QUERY },
    maxRetries: 0,
  };
  llm = createClient({
    providers: {
      openai: openai(new OpenAI({ apiKey: KEY.openai, baseURL: fakeOpenAI.baseURL, ...sdkOptions })),
      anthropic: anthropic(
        new Anthropic({ apiKey: KEY.anthropic, baseURL: fakeAnthropic.baseURL, ...sdkOptions }),
      ),
    },
    logger,
  });
  llm.on("attempt", (payload) => seen.push(`event ${inspect(payload, { depth: 20 })}`));
  llm.on("warning", (payload) => seen.push(`event ${inspect(payload, { depth: 20 })}`));
  llm.on("attempt", () => {
    throw new Error(`a listener that fails while holding ${KEY.openai}`);
  });
});
afterAll(async () => {
  await fakeOpenAI.close();
  await fakeAnthropic.close();
});

function expose(value: unknown): string {
  return `${inspect(value, { depth: 20, showHidden: true })} ${value instanceof Error ? value.stack : ""} ${
    value instanceof Error && value.cause instanceof Error ? value.cause.stack : ""
  }`;
}

function expectNoCanary(text: string): void {
  for (const canary of CANARIES) expect(text).not.toContain(canary);
}

describe.each([
  ["openai", () => fakeOpenAI, KEY.openai],
  ["anthropic", () => fakeAnthropic, KEY.anthropic],
] as const)("%s: credentials never leak", (provider, fake, key) => {
  const request = { model: `${provider}:some-model`, messages: [{ role: "user" as const, content: "hi" }] };

  it("the canaries really reach the provider, so the test can fail", async () => {
    await llm.chat(request);
    const sent = fake().requests.at(-1)!;
    expect(inspect(sent.headers)).toContain(HEADER);
    expect(inspect(sent.headers)).toContain(key.slice(0, 20));
    expect(sent.query).toContain(QUERY);
  });

  it("on success: completion, attempts, events and logs", async () => {
    const res = await llm.chat({
      ...request,
      providerOptions: { [provider]: { metadata: { note: HEADER } } },
    });
    expectNoCanary(expose({ ...res, raw: undefined }));
    expectNoCanary(seen.join("\n"));
  });

  it("on a 401 that echoes the key: error message, stack, cause and attempts", async () => {
    fake().enqueue({
      kind: "error",
      status: 401,
      message: `Incorrect API key provided: ${key}`,
      errorType: "authentication_error",
    });
    const error = await llm.chat(request).catch((e) => e);
    expect(error.status).toBe(401);
    expectNoCanary(expose(error));
    expectNoCanary(JSON.stringify(error));
    expectNoCanary(seen.join("\n"));
  });

  it("on a stream cut short and a connection reset", async () => {
    fake().enqueue({ kind: "truncated-stream", afterDeltas: 1 }, { kind: "reset" });
    const stream = llm.stream(request);
    const cut = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    const reset = await llm.chat(request).catch((e) => e);
    for (const error of [cut, reset]) expectNoCanary(expose(error));
    expectNoCanary(seen.join("\n"));
  });
});
