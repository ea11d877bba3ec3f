import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // The SDKs are the host's: never bundle them, only their types are referenced.
  external: ["openai", "@anthropic-ai/sdk"],
});
