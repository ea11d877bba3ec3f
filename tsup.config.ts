import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    shims: true,
    // The SDKs are the host's: never bundled; loaded only when a wrapper needs one.
    external: ["openai", "@anthropic-ai/sdk"],
  },
  {
    entry: { "cli/index": "src/cli/index.ts" },
    format: ["esm"],
    sourcemap: true,
    target: "node20",
    external: ["openai", "@anthropic-ai/sdk"],
  },
]);
