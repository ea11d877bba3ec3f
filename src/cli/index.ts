#!/usr/bin/env node
import { readFileSync } from "node:fs";

/**
 * The `frugal` command. Commands arrive with the capabilities that need them
 * (cache and router evaluation, ledger reports); until then it says so.
 */
const COMMANDS: Record<string, string> = {};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, help]) => `  frugal ${name.padEnd(24)} ${help}`);
  return [
    "usage: frugal <command> [options]",
    "",
    "commands:",
    ...(lines.length ? lines : ["  (none yet)"]),
    "",
    "  frugal --version",
  ].join("\n");
}

const [command] = process.argv.slice(2);
if (command === "--version" || command === "-v") console.log(version());
else if (command === undefined || command === "--help" || command === "-h") console.log(usage());
else {
  console.error(`frugal: unknown command "${command}"\n\n${usage()}`);
  process.exitCode = 2;
}
