import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { CostRecord } from "../../core/cost-record.js";
import { type Logger, redactingLogger } from "../../core/logger.js";
import { parseOptions } from "../../core/options.js";
import type { Ledger, LedgerQuery } from "../ledger.js";
import { isCostRecord, parseLedgerQuery, selectRecords } from "../ledger-query.js";

export interface JsonlLedgerOptions {
  /** The file to append to. Created (with its directories) on the first write. */
  path: string;
  /** Told when `read` skips lines that are not records (a line torn by a crash). Default: `console`. */
  logger?: Logger;
}

const optionsSchema = z
  .object({
    path: z.string().min(1, "expected a file path"),
    logger: z
      .custom<Logger>((l) => typeof (l as Logger)?.warn === "function", "expected a logger")
      .optional(),
  })
  .strict();

/**
 * Creates an append-only ledger in a JSON Lines file, one record per line.
 *
 * Crash safety: each `write` appends its whole batch as complete lines in
 * one write and `fdatasync`s before resolving, so a record whose write was
 * acknowledged survives `kill -9` (and, once synced, a power cut). A process
 * killed mid-write can leave a torn last line: `read` skips it, and the next
 * write first ends it with a newline so that the torn fragment can never
 * swallow the next record.
 *
 * Writes from one process are serialized; several processes appending to the
 * same file rely on `O_APPEND`, which keeps each single write whole on a
 * local file system. `read` streams the whole file: fine for a day's log
 * or a development ledger; for reports over long histories use PostgreSQL.
 *
 * @example
 * const ledger = jsonlLedger({ path: "/var/log/frugal/ledger.jsonl" });
 * await ledger.write(records);               // resolves once on disk
 * const recent = await ledger.read({ from: new Date(Date.now() - 3_600_000) });
 */
export function jsonlLedger(options: JsonlLedgerOptions): Ledger {
  const parsed = parseOptions(optionsSchema, options, "jsonlLedger");
  const path = resolve(parsed.path);
  const log = redactingLogger(parsed.logger ?? console);
  let handle: FileHandle | undefined;
  // Set when the file may end with a torn line: at open, and after a write that failed part-way.
  let checkTail = true;
  // One operation at a time, in call order: concurrent writes never interleave their bytes,
  // and a read sees every write that was called before it.
  let queue: Promise<unknown> = Promise.resolve();
  const serialize = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => {});
    return result;
  };

  async function append(records: readonly CostRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (!handle) {
      await mkdir(dirname(path), { recursive: true });
      // "a+" so the tail can be read back: appends still go to the end, whatever the position.
      handle = await open(path, "a+");
      await syncDirectory(path);
    }
    let text = records.map((r) => `${JSON.stringify(r)}\n`).join("");
    if (checkTail && !(await endsWithNewline(handle))) text = `\n${text}`;
    checkTail = true;
    await writeAll(handle, Buffer.from(text, "utf8"));
    await handle.datasync();
    checkTail = false;
  }

  return {
    name: "jsonl",
    write: (records) => serialize(() => append(records)),
    async read(query?: LedgerQuery) {
      const q = parseLedgerQuery(query);
      return serialize(async () => selectRecords(await readRecords(path, log), q));
    },
    close: () =>
      serialize(async () => {
        // The next write reopens the file, so closing never breaks a host that keeps writing.
        const h = handle;
        handle = undefined;
        checkTail = true;
        await h?.close();
      }),
  };
}

/** Loops until every byte is written: one `write` call may write less than asked. */
async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, null);
    offset += bytesWritten;
  }
}

async function endsWithNewline(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat();
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

/** Makes a newly created file's directory entry durable too, not just its contents. */
async function syncDirectory(path: string): Promise<void> {
  let dir: FileHandle | undefined;
  try {
    dir = await open(dirname(path), "r");
    await dir.sync();
  } catch {
    // Some platforms and file systems cannot fsync a directory; the data itself is still synced.
  } finally {
    await dir?.close();
  }
}

async function readRecords(path: string, log: Logger): Promise<CostRecord[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const records: CostRecord[] = [];
  let skipped = 0;
  try {
    for await (const line of handle.readLines({ encoding: "utf8" })) {
      if (line === "") continue;
      const record = parseLine(line);
      if (record) records.push(record);
      else skipped++;
    }
  } finally {
    await handle.close();
  }
  if (skipped > 0) log.warn(`frugal-llm: skipped ${skipped} unreadable line(s) in ledger ${path}`);
  return records;
}

function parseLine(line: string): CostRecord | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isCostRecord(value) ? value : undefined;
  } catch {
    // A torn line: a prefix of a record's JSON never parses as a whole object.
    return undefined;
  }
}
