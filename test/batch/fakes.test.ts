// Drives the fakes' batch endpoints through the real SDKs: if these pass, the SDKs accept the
// fakes' batch wire format, and the scripted faults (shuffle, errors, expiry, duplicates) work.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeServer, startFakeAnthropic, startFakeOpenAI } from "../fakes/index.js";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `item-${i}`);

describe("fake OpenAI Batch API", () => {
  let fake: FakeServer;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = new OpenAI({ apiKey: "sk-test", baseURL: fake.baseURL, maxRetries: 0 });
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  async function submit(customIds: string[], model = "gpt-4o-mini") {
    const jsonl = customIds
      .map((custom_id) =>
        JSON.stringify({
          custom_id,
          method: "POST",
          url: "/v1/chat/completions",
          body: { model, messages: [{ role: "user", content: `question ${custom_id}` }] },
        }),
      )
      .join("\n");
    const file = await client.files.create({ file: new File([jsonl], "in.jsonl"), purpose: "batch" });
    return client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
  }

  async function lines(fileId: string | null | undefined): Promise<any[]> {
    if (!fileId) return [];
    const text = await (await client.files.content(fileId)).text();
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  it("uploads, creates, polls to completed and serves the output in shuffled order", async () => {
    fake.scriptBatch({ pollsUntilDone: 2 });
    const batch = await submit(ids(20));
    expect(batch).toMatchObject({ status: "validating", endpoint: "/v1/chat/completions" });
    expect((await client.batches.retrieve(batch.id)).status).toBe("in_progress");
    expect((await client.batches.retrieve(batch.id)).status).toBe("in_progress");
    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({
      status: "completed",
      request_counts: { total: 20, completed: 20, failed: 0 },
    });
    expect(done.error_file_id).toBeNull();
    const output = await lines(done.output_file_id);
    expect(output.map((l) => l.custom_id).sort()).toEqual(ids(20).sort());
    expect(output.map((l) => l.custom_id)).not.toEqual(ids(20));
    const first = output.find((l) => l.custom_id === "item-3");
    expect(first.response.status_code).toBe(200);
    expect(first.response.body.choices[0].message.content).toBe("Fake reply to: question item-3");
    expect(first.response.body.usage.completion_tokens).toBeGreaterThan(0);
    expect(fake.batchLog).toMatchObject({ lines: 20, polls: 3, created: [{ id: batch.id }] });
  });

  it("puts scripted errors and expiries in the error file, and answers a duplicate twice", async () => {
    fake.scriptBatch({
      failCustomIds: ["item-1"],
      expireCustomIds: ["item-2"],
      duplicateCustomIds: ["item-3"],
      failStatus: 400,
    });
    const batch = await submit(ids(5));
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("expired");
    const output = await lines(done.output_file_id);
    const errors = await lines(done.error_file_id);
    expect(output.filter((l) => l.custom_id === "item-3")).toHaveLength(2);
    expect(errors.find((l) => l.custom_id === "item-1").response).toMatchObject({
      status_code: 400,
      body: { error: { type: "invalid_request_error" } },
    });
    expect(errors.find((l) => l.custom_id === "item-2")).toMatchObject({
      response: null,
      error: { code: "batch_expired" },
    });
    // Each listing is consumed once: the same ids succeed in the next batch.
    const again = await client.batches.retrieve((await submit(ids(5))).id);
    expect(again).toMatchObject({ status: "completed", request_counts: { completed: 5, failed: 0 } });
  });

  it("fails a batch that mixes models or repeats a custom id", async () => {
    const file = await client.files.create({
      file: new File(
        [
          [
            { custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o" } },
            { custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o-mini" } },
          ]
            .map((l) => JSON.stringify(l))
            .join("\n"),
        ],
        "bad.jsonl",
      ),
      purpose: "batch",
    });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe("failed");
    expect(done.errors?.data?.map((e) => e.code)).toEqual(["invalid_request", "model_mismatch"]);
  });

  it("answers a queued error step on a batch endpoint, then carries on", async () => {
    fake.enqueue({ kind: "error", status: 503 });
    await expect(submit(ids(1))).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect((await submit(ids(1))).status).toBe("validating");
  });
});

describe("fake Anthropic Message Batches", () => {
  let fake: FakeServer;
  let client: Anthropic;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
    client = new Anthropic({ apiKey: "sk-ant-test", baseURL: fake.baseURL, maxRetries: 0 });
  });
  beforeEach(() => fake.reset());
  afterAll(() => fake.close());

  const submit = (customIds: string[]) =>
    client.messages.batches.create({
      requests: customIds.map((custom_id) => ({
        custom_id,
        params: {
          model: "claude-haiku-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: `question ${custom_id}` }],
        },
      })),
    });

  it("creates, polls to ended and streams shuffled results through results_url", async () => {
    fake.scriptBatch({ pollsUntilDone: 1 });
    const batch = await submit(ids(20));
    expect(batch).toMatchObject({ processing_status: "in_progress", results_url: null });
    expect((await client.messages.batches.retrieve(batch.id)).processing_status).toBe("in_progress");
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended).toMatchObject({ processing_status: "ended", request_counts: { succeeded: 20 } });
    const results = [];
    for await (const line of await client.messages.batches.results(batch.id)) results.push(line);
    expect(results.map((r) => r.custom_id).sort()).toEqual(ids(20).sort());
    expect(results.map((r) => r.custom_id)).not.toEqual(ids(20));
    const one = results.find((r) => r.custom_id === "item-7")!;
    expect(one.result.type).toBe("succeeded");
    if (one.result.type === "succeeded") {
      expect(one.result.message.content[0]).toMatchObject({ text: "Fake reply to: question item-7" });
      expect(one.result.message.usage.output_tokens).toBeGreaterThan(0);
    }
  });

  it("reports errored and expired items and repeats a duplicate", async () => {
    fake.scriptBatch({
      failCustomIds: ["item-0"],
      expireCustomIds: ["item-1"],
      duplicateCustomIds: ["item-2"],
    });
    const batch = await submit(ids(3));
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.request_counts).toMatchObject({ succeeded: 1, errored: 1, expired: 1 });
    const results = [];
    for await (const line of await client.messages.batches.results(batch.id)) results.push(line);
    expect(results.find((r) => r.custom_id === "item-0")?.result).toMatchObject({
      type: "errored",
      error: { type: "error", error: { type: "api_error" } },
    });
    expect(results.find((r) => r.custom_id === "item-1")?.result).toEqual({ type: "expired" });
    expect(results.filter((r) => r.custom_id === "item-2")).toHaveLength(2);
  });

  it("refuses a batch with a duplicate or malformed custom id", async () => {
    await expect(submit(["a", "a"])).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(submit(["not ok!"])).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    expect(fake.batchLog.created).toEqual([]);
  });
});
