/**
 * The real servers that adapter suites run against, and the one rule for a
 * missing server: skip with a visible warning, or, when `REQUIRE_SERVICES=1`
 * (CI), fail. Suites never mock Redis or PostgreSQL.
 *
 * @example
 * const redisUp = requireOrSkip("Redis", await redisAvailable());
 * describe.skipIf(!redisUp)("redis budget", () => { ... });
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";

/** Override with `REDIS_URL` to point the suites at another server. */
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** Override with `DATABASE_URL` to point the suites at another server. */
export const postgresUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A client for a test: fails fast instead of queueing commands while the server is away. */
export function redisClient(): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
}

export function postgresPool(): pg.Pool {
  return new pg.Pool({ connectionString: postgresUrl, max: 4, connectionTimeoutMillis: 2_000 });
}

/** True when Redis answers PING within two seconds. Never throws. */
export async function redisAvailable(): Promise<boolean> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => {}); // the outcome is the return value, not an unhandled 'error' event
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** True when PostgreSQL accepts a connection and a query within two seconds. Never throws. */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Decides what a suite does without its server: returns whether it can run.
 * When the server is missing it warns (so a skip is never silent), or, with
 * `REQUIRE_SERVICES=1`, throws so that the test file fails.
 */
export function requireOrSkip(name: string, available: boolean): boolean {
  if (available) return true;
  const where = name === "Redis" ? redisUrl : name === "PostgreSQL" ? postgresUrl : name;
  if (process.env.REQUIRE_SERVICES === "1") {
    throw new Error(`${name} is required (REQUIRE_SERVICES=1) but unreachable at ${redactUrl(where)}`);
  }
  console.warn(
    `[services] ${name} unreachable at ${redactUrl(where)}: skipping its tests (set REQUIRE_SERVICES=1 to fail instead)`,
  );
  return false;
}

/** A name no other test file or run uses: parallel files share the servers. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
