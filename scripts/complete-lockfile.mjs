#!/usr/bin/env node
// Completes package-lock.json with entries for the optional platform packages (other operating
// systems, CPUs and libcs) that the registry mirror on our machines does not serve. npm records
// only what it could resolve, and `npm ci` then rejects the lock as out of sync. An entry with
// its os / cpu / libc lets npm ci skip the package on a platform it does not fit, fetching
// nothing. Run after any change to the lock: `npm run lock`.
import { readFileSync, writeFileSync } from "node:fs";

const path = process.argv[2] ?? "package-lock.json";
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
const OSES = ["android", "darwin", "freebsd", "linux", "openbsd", "netbsd", "sunos", "win32", "aix", "openharmony"];
const CPUS = ["arm64", "x64", "ia32", "arm", "loong64", "ppc64", "riscv64", "s390x", "mips64el", "wasm32"];

function platformOf(name) {
  const parts = name.split("/").at(-1).split("-");
  const os = OSES.find((o) => parts.includes(o));
  const cpu = CPUS.find((c) => parts.includes(c));
  const libc = os === "linux" ? (parts.includes("musl") ? "musl" : "glibc") : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [key, meta] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${key ? `${key}/` : ""}node_modules/${dep}`;
    if (packages[nested] || packages[`node_modules/${dep}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os) continue; // not a platform package: leave it to npm
    packages[`node_modules/${dep}`] = {
      version,
      ...(meta.dev && { dev: true }),
      optional: true,
      os: [os],
      ...(cpu && { cpu: [cpu] }),
      ...(libc && { libc: [libc] }),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
