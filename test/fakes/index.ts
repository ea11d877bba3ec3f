export { startFakeAnthropic } from "./fake-anthropic.js";
export { embed, startFakeOpenAI } from "./fake-openai.js";
export type {
  FakeBatchFate,
  FakeBatchLog,
  FakeBatchScript,
  FakeServer,
  FakeStep,
  FakeUsage,
  RecordedRequest,
} from "./fake-server.js";
export { useFakes } from "./lifecycle.js";
