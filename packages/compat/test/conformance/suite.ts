/**
 * Runs one socketcluster-server v14 suite (`test/integration.js` of its npm package,
 * unchanged) under mocha in a child process, with `hooks.ts` preloaded, and returns the
 * outcome of every test from mocha's JSON reporter.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Schema } from "effect"
import type { SuiteVersion } from "./expectations.js"

/** Which server the suite's `require('../')` gets. */
export type Target = "compat" | "original"

export interface SuiteResult {
  readonly version: SuiteVersion
  readonly target: Target
  /** Full titles of the tests that passed. */
  readonly passed: ReadonlyArray<string>
  /** Full titles (tests or hooks) that failed, with their first error message. */
  readonly failed: ReadonlyMap<string, string>
  /** Full titles of the passed tests that needed a retry (mocha `--retries`), with the number of retries. */
  readonly retried: ReadonlyMap<string, number>
}

/**
 * The suites' tests wait 100–1000 ms for outcomes that take a few ms on an idle machine;
 * on a loaded 2-core CI machine a timing window is sometimes missed, by the original
 * packages as by the facade. A test gets this many further tries (mocha's own option);
 * the report names every test that needed one.
 */
export const retries = 2

const MochaTest = Schema.Struct({
  fullTitle: Schema.String,
  currentRetry: Schema.optional(Schema.Number),
  err: Schema.optional(Schema.Unknown)
})
const MochaReport = Schema.Struct({
  passes: Schema.Array(MochaTest),
  failures: Schema.Array(MochaTest)
})
const decodeReport = Schema.decodeUnknownSync(MochaReport)

const require = createRequire(import.meta.url)
const hooks = fileURLToPath(new URL("./hooks.ts", import.meta.url))
const mochaBin = join(dirname(require.resolve("mocha/package.json")), "bin", "mocha.js")
const tsx = import.meta.resolve("tsx")

/** The suite file inside the installed package (never copied into the repository). */
export const suiteFile = (version: SuiteVersion): string =>
  require.resolve(`socketcluster-server-${version}/test/integration.js`)

// The first line: mocha appends stacks to messages of some errors.
const messageOf = (err: unknown): string =>
  (typeof err === "object" && err !== null && "message" in err ? String(err.message) : String(err)).split("\n")[0] ?? ""

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

/** A mocha `--grep` pattern matching exactly these full titles. */
const exactly = (titles: ReadonlyArray<string>): string => `^(?:${titles.map(escapeRegExp).join("|")})$`

/** Which tests of the suite one mocha process runs. */
type Selection = { readonly _tag: "All" } | { readonly _tag: "Only" | "Except"; readonly titles: ReadonlyArray<string> }

const selectionArgs = (selection: Selection): ReadonlyArray<string> => {
  switch (selection._tag) {
    case "All":
      return []
    case "Only":
      return ["--grep", exactly(selection.titles)]
    case "Except":
      return ["--grep", exactly(selection.titles), "--invert"]
  }
}

/**
 * Runs the suite of `version` against `target`. Each test in `isolate` runs alone in its
 * own mocha process, the others together: a test expected to fail must not take others
 * down with it (a timer of a failed v14 test still fires, and throws, in whichever test
 * runs next).
 */
export const runSuite = async (
  version: SuiteVersion,
  target: Target = "compat",
  isolate: ReadonlyArray<string> = []
): Promise<SuiteResult> => {
  const selections: Array<Selection> =
    isolate.length === 0
      ? [{ _tag: "All" }]
      : [{ _tag: "Except", titles: isolate }, ...isolate.map((title): Selection => ({ _tag: "Only", titles: [title] }))]
  const runs = await Promise.all(selections.map((selection) => runMocha(version, target, selection)))
  const failed = new Map<string, string>()
  const retried = new Map<string, number>()
  const passed: Array<string> = []
  for (const run of runs) {
    for (const [title, message] of run.failed) failed.set(title, message)
    for (const [title, count] of run.retried) retried.set(title, count)
    passed.push(...run.passed)
  }
  return { version, target, passed, failed, retried }
}

const runMocha = (version: SuiteVersion, target: Target, selection: Selection): Promise<SuiteResult> => {
  const dir = mkdtempSync(join(tmpdir(), `sc-conformance-${version}-`))
  const output = join(dir, "report.json")
  // The options of the suite's own `npm test` script, plus the JSON reporter and --exit
  // (v14's close() leaves the HTTP servers of `listen` open, as the suite expects).
  const args = [
    // The workspace packages' sources, as the repository's own scripts and tests use them.
    "--conditions=@effect-socketcluster/source",
    "--import",
    tsx,
    "--import",
    hooks,
    mochaBin,
    "--timeout",
    "3000",
    "--slow",
    "3000",
    "--exit",
    "--retries",
    String(selection._tag === "Only" ? 0 : retries),
    "--reporter",
    "json",
    "--reporter-option",
    `output=${output}`,
    ...selectionArgs(selection),
    suiteFile(version)
  ]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: dirname(hooks),
      env: { ...process.env, SC_CONFORMANCE_SUITE: version, SC_CONFORMANCE_TARGET: target },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", () => {
      try {
        const report = decodeReport(JSON.parse(readFileSync(output, "utf8")))
        const failed = new Map<string, string>()
        for (const test of report.failures) {
          if (!failed.has(test.fullTitle)) failed.set(test.fullTitle, messageOf(test.err))
        }
        const passes = report.passes.filter((test) => !failed.has(test.fullTitle))
        const retried = new Map<string, number>()
        for (const test of passes) if ((test.currentRetry ?? 0) > 0) retried.set(test.fullTitle, test.currentRetry ?? 0)
        resolve({ version, target, passed: passes.map((test) => test.fullTitle), failed, retried })
      } catch (error) {
        reject(new Error(`The ${version} suite produced no report: ${messageOf(error)}\n${stderr}`))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

/** The differences between a result and its expectation (empty when it conforms). */
export const mismatches = (
  result: SuiteResult,
  expectation: { readonly total: number; readonly expectedFailures: Readonly<Record<string, string>> }
): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const [title, message] of result.failed) {
    if (!(title in expectation.expectedFailures)) out.push(`unexpected failure: ${title}: ${message}`)
  }
  for (const title of Object.keys(expectation.expectedFailures)) {
    if (!result.failed.has(title)) out.push(`expected to fail but did not: ${title}`)
  }
  const expectedPasses = expectation.total - Object.keys(expectation.expectedFailures).length
  if (result.passed.length !== expectedPasses) {
    out.push(`${result.passed.length} tests passed, expected ${expectedPasses} of ${expectation.total}`)
  }
  return out
}
