import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { jsonlLedger } from "../../src/storage/jsonl/ledger.js";
import type { Ledger } from "../../src/storage/ledger.js";
import { postgresLedger } from "../../src/storage/postgres/ledger.js";
import { postgresAvailable, postgresPool, requireOrSkip, uniqueName } from "../services.js";

const WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const postgresUp = requireOrSkip("PostgreSQL", await postgresAvailable());

/**
 * Runs the writer until it has acknowledged at least `atLeast` records, then
 * kills it with SIGKILL in the middle of its burst. Returns the acknowledged ids.
 */
async function killMidBurst(sink: string, target: string, atLeast: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, sink, target], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk) => {
    err += chunk;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  child.stdout.on("data", (chunk) => {
    out += chunk;
    if (out.split("\n").length > atLeast) child.kill("SIGKILL");
  });
  const signal = await exited;
  expect(signal, `the writer should be killed, not exit on its own: ${err}`).toBe("SIGKILL");
  // Only complete lines: a line cut by the kill is not an acknowledged id.
  return out.split("\n").slice(0, -1);
}

async function expectAllPresent(ledger: Ledger, acknowledged: string[]): Promise<void> {
  const stored = new Set((await ledger.read()).map((r) => r.id));
  const missing = acknowledged.filter((id) => !stored.has(id));
  expect(missing, `${missing.length} acknowledged record(s) lost`).toEqual([]);
}

describe("killing the process in the middle of a burst loses no record that the sink acknowledged", () => {
  const dir = mkdtemp(join(tmpdir(), "frugal-crash-"));
  afterAll(async () => rm(await dir, { recursive: true, force: true }));

  it("JSONL: across three kills, every acknowledged record is read back and the file stays line-clean", async () => {
    const path = join(await dir, "ledger.jsonl");
    const acknowledged: string[] = [];
    const tornFragments = new Set<string>();
    for (let round = 0; round < 3; round++) {
      acknowledged.push(...(await killMidBurst("jsonl", path, 2_000)));
      const lines = (await readFile(path, "utf8")).split("\n");
      const last = lines.pop()!;
      // Every line but the last parses, apart from fragments torn by earlier kills (each ended by
      // the next run with a newline, so none could swallow a record).
      const unreadable = lines.filter((line) => !parses(line) && !tornFragments.has(line));
      expect(unreadable).toEqual([]);
      if (last !== "") {
        expect(parses(last), "a torn last line is a cut record").toBe(false);
        tornFragments.add(last);
      }
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(6_000);
    await expectAllPresent(jsonlLedger({ path, logger: { ...console, warn() {} } }), acknowledged);
  });

  it.skipIf(!postgresUp)("PostgreSQL: every acknowledged record is committed", async () => {
    const pool = postgresPool();
    const table = uniqueName("ledger_crash");
    const ledger = postgresLedger({ pool, table });
    try {
      await ledger.migrate();
      const acknowledged = await killMidBurst("postgres", table, 2_000);
      await expectAllPresent(ledger, acknowledged);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    }
  });
});

function parses(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
