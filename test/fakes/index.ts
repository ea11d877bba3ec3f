export { startFakeAnthropic } from "./fake-anthropic.js";
export { embed, startFakeOpenAI } from "./fake-openai.js";
export type { FakeServer, FakeStep, FakeUsage, RecordedRequest } from "./fake-server.js";
