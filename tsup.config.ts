import { defineConfig } from "tsup";

// Host-owned packages: never bundled; each subpath entry loads only the one it needs.
const external = ["openai", "@anthropic-ai/sdk", "ioredis", "pg", "@opentelemetry/api"];

export default defineConfig([
  {
    entry: {
      index: "src/index.ts",
      redis: "src/storage/redis/index.ts",
      postgres: "src/storage/postgres/index.ts",
      opentelemetry: "src/middleware/opentelemetry/index.ts",
    },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    shims: true,
    external,
  },
  {
    entry: { "cli/index": "src/cli/index.ts" },
    format: ["esm"],
    sourcemap: true,
    target: "node20",
    external,
  },
]);
