#!/usr/bin/env node
import { readFileSync } from "node:fs";

/** A command: its help line, and what runs it (loaded on use, so `frugal --help` stays fast). */
interface Command {
  readonly help: string;
  /** Runs with the arguments after the command's name; resolves with the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/**
 * The `frugal` command. Commands arrive with the capabilities that need them
 * (cache and router evaluation, ledger reports). A name may be several words
 * (`eval cache`): the longest name the arguments start with runs.
 */
const COMMANDS: Record<string, Command> = {
  "eval cache": {
    help: "hit and false-hit rates of the semantic cache on labelled pairs (--pairs FILE)",
    run: async (argv) => (await import("./eval-cache.js")).runEvalCache(argv),
  },
  "router train": {
    help: "train the kNN router on routing data (--data FILE --out MODEL)",
    run: async (argv) => (await import("./router.js")).runRouterTrain(argv),
  },
  "router eval": {
    help: "cost-quality curve of a kNN router model (--model MODEL --data FILE)",
    run: async (argv) => (await import("./router.js")).runRouterEval(argv),
  },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  frugal ${name.padEnd(24)} ${c.help}`);
  return [
    "usage: frugal <command> [options]",
    "",
    "commands:",
    ...(lines.length ? lines : ["  (none yet)"]),
    "",
    "  frugal --version",
  ].join("\n");
}

const args = process.argv.slice(2);
const [command] = args;
const name = Object.keys(COMMANDS)
  .sort((a, b) => b.length - a.length)
  .find((n) => n.split(" ").every((word, i) => args[i] === word));
if (command === "--version" || command === "-v") console.log(version());
else if (command === undefined || command === "--help" || command === "-h") console.log(usage());
else if (name !== undefined) process.exitCode = await COMMANDS[name]!.run(args.slice(name.split(" ").length));
else {
  console.error(`frugal: unknown command "${args.slice(0, 2).join(" ")}"\n\n${usage()}`);
  process.exitCode = 2;
}
