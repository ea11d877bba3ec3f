// Test-only: runs a file of examples/ as a user does (`node --import tsx examples/<name>`), with
// no provider keys in its environment, and returns what it printed.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface ExampleRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runExample(name: string): ExampleRun {
  const env = { ...process.env };
  for (const key of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"]) delete env[key];
  const child = spawnSync(process.execPath, ["--import", "tsx", `examples/${name}`], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  if (child.status !== 0) console.error(child.stderr);
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}
