import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

/**
 * Encodings are megabytes of rank tables: importing the library must not
 * load them, and a request refused for size must not either. A module-load
 * spy on every rank module records when one is first imported.
 */
const loaded = vi.hoisted(() => [] as string[]);

vi.mock("gpt-tokenizer/encoding/o200k_base", async (importOriginal) => {
  loaded.push("gpt-tokenizer o200k_base");
  return importOriginal();
});
vi.mock("gpt-tokenizer/encoding/cl100k_base", async (importOriginal) => {
  loaded.push("gpt-tokenizer cl100k_base");
  return importOriginal();
});
vi.mock("gpt-tokenizer", async (importOriginal) => {
  loaded.push("gpt-tokenizer (all encodings)");
  return importOriginal();
});
vi.mock("js-tiktoken/ranks/o200k_base", async (importOriginal) => {
  loaded.push("js-tiktoken o200k_base");
  return importOriginal();
});
vi.mock("js-tiktoken/ranks/cl100k_base", async (importOriginal) => {
  loaded.push("js-tiktoken cl100k_base");
  return importOriginal();
});
vi.mock("js-tiktoken", async (importOriginal) => {
  loaded.push("js-tiktoken (all encodings)");
  return importOriginal();
});

describe("encodings load lazily", () => {
  it("importing src/tokens loads no rank table", async () => {
    const tokens = await import("./index.js");
    expect(typeof tokens.tokenEstimator).toBe("function");
    expect(loaded).toEqual([]);
  });

  it("neither does the fast upper bound, nor refusing an oversized request", async () => {
    const { InputTooLargeError, tokenEstimator } = await import("./index.js");
    const estimator = tokenEstimator({ maxInputBytes: 1000 });
    const request = {
      model: "openai:gpt-4o",
      messages: [{ role: "user" as const, content: "x".repeat(5000) }],
    };
    const ref = { provider: "openai", model: "gpt-4o" };
    await expect(estimator.estimateRequest(request, ref)).rejects.toBeInstanceOf(InputTooLargeError);
    expect(() => estimator.upperBound(request, ref)).toThrow(InputTooLargeError);
    expect(tokenEstimator().upperBound(request, ref).upperBound).toBeGreaterThanOrEqual(5000);
    expect(loaded).toEqual([]);
  });

  it("the first count loads only the encoding it needs, once", async () => {
    const { tokenEstimator } = await import("./index.js");
    const estimator = tokenEstimator();
    await estimator.countText("hello", { provider: "openai", model: "gpt-4o" });
    await estimator.countText("hello again", { provider: "openai", model: "gpt-4o-mini" });
    expect(loaded).toEqual(["gpt-tokenizer o200k_base"]);
    await estimator.countText("hello", { provider: "anthropic", model: "claude-sonnet-4-5" });
    expect(loaded).toEqual(["gpt-tokenizer o200k_base", "gpt-tokenizer cl100k_base"]);
  });

  it("in a plain Node process too: the module graph of src/tokens holds no tokenizer package", () => {
    // A resolve hook reports every module Node resolves, outside vitest's module runner.
    const hooks = [
      "let port;",
      "export function initialize(data) { port = data.port; }",
      "export async function resolve(specifier, context, next) {",
      "  const result = await next(specifier, context); port.postMessage(result.url); return result;",
      "}",
    ].join("\n");
    const script = `
      import { register } from "node:module";
      import { MessageChannel } from "node:worker_threads";
      import { pathToFileURL } from "node:url";
      const { port1, port2 } = new MessageChannel();
      const urls = [];
      port1.on("message", (url) => urls.push(url));
      register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}), {
        data: { port: port2 }, transferList: [port2],
      });
      const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
      const tokens = await import(pathToFileURL("src/index.ts").href); // the library root, as hosts import it
      await settle();
      const onImport = [...urls];
      await tokens.tokenEstimator().countText("hello", { provider: "openai", model: "gpt-4o" });
      await settle();
      console.log(JSON.stringify({ onImport, afterCount: urls.slice(onImport.length) }));
      port1.close();
    `;
    const root = join(import.meta.dirname, "..", "..");
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
    });
    const { onImport, afterCount } = JSON.parse(out.trim().split("\n").pop()!) as {
      onImport: string[];
      afterCount: string[];
    };
    expect(onImport.some((url) => url.endsWith("/src/tokens/estimator.ts"))).toBe(true);
    expect(onImport.filter((url) => /tiktoken|gpt-tokenizer/.test(url))).toEqual([]);
    expect(afterCount.some((url) => url.includes("gpt-tokenizer"))).toBe(true);
  });
});
