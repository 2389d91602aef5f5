// Runs node-pg-migrate migrations through the project's own node-pg-migrate
// MigrationBuilder, with no database, and prints the SQL each direction
// would send. Written to a temporary file and run by `cargo migrate import`.
//
// Input (stdin, JSON): { "package": "<dir of node_modules/node-pg-migrate>",
//                        "files": ["<absolute path>", ...], "decamelize": false }
// Output: one line on stdout, after MARK, of JSON:
//   { "version": "9.0.0", "files": [ { "file", "up": {"sql": [...], "transaction"},
//     "down": {...} | null, "irreversible": "why" | null, "error": {"kind", "message"} | null } ] }
// Anything a migration prints goes to stderr, so stdout holds only the answer.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const MARK = "\u0001cargo-migrate-result ";
const write = process.stdout.write.bind(process.stdout);
for (const level of ["log", "info", "debug", "warn", "trace", "dir", "table"]) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);

const input = JSON.parse(readFileSync(0, "utf8"));
const pkgJson = JSON.parse(readFileSync(join(input.package, "package.json"), "utf8"));
const requireHere = createRequire(join(input.package, "..", "..", "package.json"));

async function loadPackage() {
  const entry = requireHere.resolve("node-pg-migrate");
  const mod = await import(pathToFileURL(entry).href);
  const api = mod.MigrationBuilder ? mod : (mod.default ?? mod);
  let MigrationBuilder = api.MigrationBuilder;
  if (!MigrationBuilder) {
    // Before it was exported (node-pg-migrate 8 and older).
    for (const sub of ["dist/migrationBuilder.js", "dist/migration-builder.js", "lib/migration-builder.js"]) {
      try {
        const m = requireHere(join(input.package, sub));
        MigrationBuilder = m.default ?? m;
        break;
      } catch {}
    }
  }
  return { MigrationBuilder, jiti: api.jiti };
}

// What a migration's loader is when node-pg-migrate has no jiti (before 8):
// require, with the project's own ts-node or tsx registered for TypeScript.
let registered = false;
function registerTypeScript() {
  if (registered) return;
  registered = true;
  for (const hook of ["ts-node/register/transpile-only", "ts-node/register", "tsx/cjs"]) {
    try {
      requireHere(hook);
      return;
    } catch {}
  }
  throw Object.assign(new Error("a TypeScript migration needs ts-node or tsx in the project (npm install --save-dev tsx)"), {
    code: "NO_TYPESCRIPT",
  });
}

async function loadMigration(file, jiti) {
  if (jiti) return await jiti.import(file);
  if (/\.[cm]?ts$/.test(file)) registerTypeScript();
  try {
    return requireHere(file);
  } catch (e) {
    if (e && e.code !== "ERR_REQUIRE_ESM" && e.code !== "ERR_REQUIRE_ASYNC_MODULE") throw e;
    return await import(pathToFileURL(file).href);
  }
}

class DatabaseUse extends Error {}
let usedDatabase = null;
const db = {
  query: (sql) => {
    usedDatabase ??= String(sql ?? "");
    return Promise.reject(new DatabaseUse("it queries the database through pgm.db"));
  },
  select: (sql) => db.query(sql),
};

const quiet = { info() {}, warn(...a) { process.stderr.write(a.join(" ") + "\n"); }, error() {}, debug() {} };

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within 60 seconds`)), 60000);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// As node-pg-migrate's Migration.apply: a missing down is the up run in
// reverse mode; a callback-style action gets `done` as its second argument.
async function direction(MigrationBuilder, actions, shorthands, which) {
  const pgm = new MigrationBuilder(db, shorthands, Boolean(input.decamelize), quiet);
  let action = actions[which];
  if (which === "down" && action === undefined) action = actions.up;
  if (action === false) return { disabled: true };
  if (typeof action !== "function") {
    throw new Error(`it does not export an ${which} function`);
  }
  if (which === "down" && action === actions.up) pgm.enableReverseMode();
  usedDatabase = null;
  const run = action.length === 2 ? new Promise((resolve) => action(pgm, resolve)) : action(pgm);
  await withTimeout(Promise.resolve(run), `its ${which}`);
  if (usedDatabase !== null) throw new DatabaseUse("it queries the database through pgm.db");
  return { sql: [...pgm.getSqlSteps()], transaction: pgm.isUsingTransaction() };
}

function kindOf(e) {
  if (e instanceof DatabaseUse) return "database";
  const code = e && e.code;
  if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") return "missing_module";
  if (code === "NO_TYPESCRIPT") return "no_typescript";
  return "threw";
}

function message(e) {
  if (e instanceof DatabaseUse) return e.message;
  const text = e && e.message ? e.message : String(e);
  return text.split("\n")[0];
}

const IRREVERSIBLE = /Impossible to automatically infer down migration/;

async function main() {
  const { MigrationBuilder, jiti } = await loadPackage();
  if (!MigrationBuilder) throw new Error(`node-pg-migrate ${pkgJson.version} exports no MigrationBuilder`);
  const out = [];
  let shorthands = {};
  for (const file of input.files) {
    const entry = { file, up: null, down: null, irreversible: null, error: null };
    out.push(entry);
    let actions;
    try {
      const mod = await withTimeout(loadMigration(file, jiti), "loading it");
      actions = mod && (mod.up !== undefined || mod.down !== undefined) ? mod : (mod?.default ?? mod);
    } catch (e) {
      entry.error = { kind: kindOf(e), message: message(e) };
      continue;
    }
    shorthands = { ...shorthands, ...(actions?.shorthands ?? {}) };
    try {
      const up = await direction(MigrationBuilder, actions, { ...shorthands }, "up");
      if (up.disabled) throw new Error("its up is false");
      entry.up = up;
    } catch (e) {
      entry.error = { kind: kindOf(e), message: message(e) };
      continue;
    }
    try {
      const down = await direction(MigrationBuilder, actions, { ...shorthands }, "down");
      if (down.disabled) entry.irreversible = "its down is false";
      else entry.down = down;
    } catch (e) {
      if (!(e instanceof DatabaseUse) && IRREVERSIBLE.test(message(e))) {
        entry.irreversible = `no down, and node-pg-migrate cannot infer one: ${message(e)}`;
      } else {
        entry.error = { kind: kindOf(e), message: `its down: ${message(e)}` };
      }
    }
  }
  return { version: pkgJson.version, files: out };
}

process.on("unhandledRejection", () => {});
main().then(
  (result) => {
    write(MARK + JSON.stringify(result) + "\n", () => process.exit(0));
  },
  (e) => {
    write(MARK + JSON.stringify({ version: pkgJson.version, fatal: message(e) }) + "\n", () => process.exit(0));
  },
);
