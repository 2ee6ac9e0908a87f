/**
 * The benchmark runner (`pnpm bench`): every scenario for every target, interleaved
 * (A B C, A B C, …), a fresh server process per run pinned to core 0 while this process
 * (the load generator) is pinned to core 1. Writes `results/<name>.json` and
 * `results/<name>.md` and exits non-zero if any run failed or lost, duplicated or
 * reordered a message.
 *
 *   pnpm bench [--rounds 3] [--scenarios connect-1000,rpc] [--targets sc-server,bare-ws] [--quick] [--protocol 1|2] [--name latest] [--cpu-prof]
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { checkGoals, goalsMarkdown } from "./goals.js"
import { type Protocol, unexpectedAnswers } from "./loadgen/sc-client.js"
import { isClean } from "./loadgen/sequence-tracker.js"
import { framingErrors } from "./loadgen/ws-connection.js"
import { type Report, type ScenarioReport, summarise, type TargetReport, toMarkdown } from "./report.js"
import { scenarios } from "./scenarios/index.js"
import type { Scenario } from "./scenarios/scenario.js"
import { type Launch, startTarget } from "./target-process.js"
import { isUnavailable, library, ours, type Target, targets, type Unavailable } from "./targets/index.js"

const resultsDir = fileURLToPath(new URL("../results/", import.meta.url))
// Checks with the real client of the load clients' protocol: socketcluster-client 14.3.2 (v1) or 20.0.2 (v2).
const checkScript = fileURLToPath(new URL("./check/real-client-check.cjs", import.meta.url))

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string" },
    scenarios: { type: "string" },
    targets: { type: "string" },
    quick: { type: "boolean", default: false },
    protocol: { type: "string", default: "1" },
    name: { type: "string", default: "latest" },
    "cpu-prof": { type: "boolean", default: false }
  }
})
const profileDir = flags["cpu-prof"] === true ? fileURLToPath(new URL("../.profiles/", import.meta.url)) : undefined
const quick = flags.quick === true
if (flags.protocol !== "1" && flags.protocol !== "2")
  throw new Error(`--protocol must be 1 or 2, not ${flags.protocol}`)
const protocol: Protocol = flags.protocol === "2" ? 2 : 1
const rounds = Number(flags.rounds ?? (quick ? 1 : 3))
const pick = <A extends { readonly id: string; readonly optional?: boolean }>(
  all: ReadonlyArray<A>,
  list: string | undefined
): Array<A> => {
  if (list === undefined) return all.filter((item) => item.optional !== true)
  const wanted = list.split(",").map((id) => id.trim())
  const unknown = wanted.filter((id) => !all.some((item) => item.id === id))
  if (unknown.length > 0) throw new Error(`unknown: ${unknown.join(", ")}; known: ${all.map((a) => a.id).join(", ")}`)
  return all.filter((item) => wanted.includes(item.id))
}
const chosenScenarios = pick(scenarios, flags.scenarios)
const chosenTargets = pick(targets, flags.targets)

const log = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/** Pins this process (all its threads) to core 1 and returns the server core, or null when unpinned. */
const pinCores = (): { serverCore: number | null; pinning: string } => {
  const available = spawnSync("taskset", ["--version"]).status === 0
  const cores = spawnSync("nproc", [], { encoding: "utf8" }).stdout?.trim()
  if (!available || Number(cores) < 2) {
    const why = !available ? "taskset not found" : "fewer than 2 cores"
    log(`WARNING: ${why}; server and load generator run unpinned and compete for CPU`)
    return { serverCore: null, pinning: `unpinned (${why})` }
  }
  const pinned = spawnSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)])
  if (pinned.status !== 0) {
    log("WARNING: could not pin the load generator; running unpinned")
    return { serverCore: null, pinning: "unpinned (taskset -p failed)" }
  }
  return { serverCore: 0, pinning: "server on core 0, load generator on core 1 (taskset)" }
}

const cpuModel = (): string => {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? ""
  const model = /Model name:\s*(.+)/.exec(lscpu)?.[1]?.trim() ?? "unknown"
  const count = /^CPU\(s\):\s*(\d+)/m.exec(lscpu)?.[1] ?? "?"
  return `${model}, ${count} vCPU`
}

/** Starts the target once and runs the real socketcluster-client check against it. */
const checkWithRealClient = async (launch: Launch, serverCore: number | null): Promise<string | undefined> => {
  const server = await startTarget(launch, serverCore)
  try {
    const check = spawnSync(
      process.execPath,
      ["--no-experimental-websocket", checkScript, String(server.port), String(protocol)],
      {
        encoding: "utf8",
        timeout: 20000
      }
    )
    return check.status === 0 ? undefined : `${check.stdout}${check.stderr}`.trim() || `exit ${check.status}`
  } finally {
    await server.stop()
  }
}

const runOnce = async (
  scenario: Scenario,
  target: string,
  launch: Launch,
  serverCore: number | null,
  round: number
): Promise<ScenarioReport["runs"][string][number]> => {
  unexpectedAnswers.length = 0
  framingErrors.length = 0
  const profile = profileDir === undefined ? undefined : { dir: profileDir, name: `${target}-${scenario.id}-${round}` }
  const server = await startTarget(launch, serverCore, profile)
  try {
    const result = await scenario.run(server, { quick, protocol })
    const problems: Array<string> = []
    if (!isClean(result.integrity)) {
      const { lost, duplicated, reordered } = result.integrity
      problems.push(`lost ${lost}, duplicated ${duplicated}, reordered ${reordered}`)
    }
    if (unexpectedAnswers.length > 0) problems.push(`unexpected answers: ${unexpectedAnswers.slice(0, 3).join("; ")}`)
    if (framingErrors.length > 0) problems.push(`framing errors: ${framingErrors.slice(0, 3).join("; ")}`)
    return {
      round,
      metrics: result.metrics,
      integrity: result.integrity,
      notes: result.notes,
      ...(problems.length > 0 ? { error: problems.join(" · ") } : {})
    }
  } catch (error) {
    return { round, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
  } finally {
    await server.stop()
  }
}

const main = async (): Promise<number> => {
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
  const { serverCore, pinning } = pinCores()
  const targetReports: Array<TargetReport> = []
  const runnable: Array<{ target: Target; launch: Launch }> = []
  for (const target of chosenTargets) {
    const launch: Launch | Unavailable =
      protocol === 2 && target.protocolV1Only === true
        ? { unavailable: "speaks protocol v1 only" }
        : target.prepare(protocol)
    if (isUnavailable(launch)) {
      log(`${target.label}: unavailable (${launch.unavailable})`)
      targetReports.push({ id: target.id, label: target.label, status: `unavailable: ${launch.unavailable}` })
      continue
    }
    const failure = await checkWithRealClient(launch, serverCore).catch((error: unknown) => String(error))
    if (failure !== undefined) {
      log(`${target.label}: FAILED the real-client check: ${failure}`)
      targetReports.push({ id: target.id, label: target.label, status: `failed the real-client check: ${failure}` })
      continue
    }
    log(`${target.label}: real-client check passed`)
    targetReports.push({ id: target.id, label: target.label, status: "measured" })
    runnable.push({ target, launch })
  }

  const reports: Array<ScenarioReport> = chosenScenarios.map((scenario) => ({
    id: scenario.id,
    title: scenario.title,
    figures: scenario.figures,
    runs: Object.fromEntries(runnable.map(({ target }) => [target.id, []])),
    summary: {}
  }))
  const failures: Array<string> = []
  const started = performance.now()
  for (let round = 1; round <= rounds; round++) {
    // Every other round runs the targets in reverse (A B, B A, …), so no target always runs
    // right after the same one (the load generator's own leftovers, machine drift).
    const order = round % 2 === 0 ? [...runnable].reverse() : runnable
    for (const [index, scenario] of chosenScenarios.entries()) {
      const report = reports[index]!
      for (const { target, launch } of order) {
        const run = await runOnce(scenario, target.id, launch, serverCore, round)
        report.runs[target.id]!.push(run)
        const figures = scenario.figures
          .map((figure) => `${figure.label} ${run.metrics?.[figure.key]?.toFixed(2) ?? "–"}`)
          .join(" · ")
        log(`[round ${round}/${rounds}] ${scenario.id} ${target.id}: ${figures}`)
        if (run.error !== undefined) {
          const line = `${scenario.id} ${target.id} round ${round}: ${run.error}`
          log(`FAIL ${line}`)
          failures.push(line)
        }
      }
    }
  }
  for (const report of reports) summarise(report)

  const report: Report = {
    date: new Date().toISOString(),
    command: `pnpm bench ${process.argv.slice(2).join(" ")}`.trim(),
    node: process.version,
    cpu: cpuModel(),
    pinning,
    rounds,
    quick,
    targets: targetReports,
    scenarios: reports,
    failures
  }
  mkdirSync(resultsDir, { recursive: true })
  const name = flags.name ?? "latest"
  writeFileSync(`${resultsDir}${name}.json`, `${JSON.stringify(report, null, 2)}\n`)
  const markdown = toMarkdown(report, ours, goalsMarkdown(checkGoals(report, ours, library), ours))
  writeFileSync(`${resultsDir}${name}.md`, markdown)
  log(`\n${markdown}`)
  log(`results: packages/bench/results/${name}.{json,md} (${((performance.now() - started) / 1000).toFixed(0)} s)`)
  if (failures.length > 0) log(`FAILED: ${failures.length} run(s) failed; see above`)
  return failures.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(2)
  }
)
