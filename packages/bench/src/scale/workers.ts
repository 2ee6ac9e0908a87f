/**
 * Many cores (issue 20): fan-out deliveries/s of the CLI with `--workers 2` on a Redis
 * broker against one CLI process on the memory broker, interleaved (A B, A B, …), each
 * on a fresh process and, for the workers, a fresh `redis-server`. Both run unpinned (the
 * workers need both cores); the load generator is this process. Uses the fan-out scenario
 * of the main benchmark (N subscribers spread by node:cluster over the workers, one
 * publisher, 20 publications in flight unless `--in-flight`) and reports its max
 * deliveries/s, p50 latency, and the CPU per delivery of every process (the primary, each
 * worker, redis-server, the load generator). Not a test and not in CI.
 *
 *   pnpm bench:workers [--rounds 3] [--subscribers 2000] [--in-flight 20] [--quick]
 */
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { median } from "../loadgen/percentile.js"
import { fanOutScenario } from "../scenarios/fan-out.js"
import { startTarget } from "../target-process.js"
import { prepareCli } from "../targets/cli.js"
import { isUnavailable } from "../targets/index.js"
import { processCpuMicros, processTree, startRedis } from "./processes.js"

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    subscribers: { type: "string", default: "2000" },
    // Publications in flight in the max-rate phase: with Redis between the workers each one
    // takes longer to come back, so a fixed window can leave the cores idle (see README).
    "in-flight": { type: "string", default: "20" },
    quick: { type: "boolean", default: false },
    name: { type: "string", default: "workers" }
  }
})
const resultsDir = fileURLToPath(new URL("../../results/", import.meta.url))
const log = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/**
 * The CPU the server side spends: the CLI's process tree (primary and workers) plus
 * redis-server. Read through /proc because the stats agent sees the primary only. Each
 * read also keeps every process's own figure in `reads`, so that the last two (the ones
 * around the max-rate phase) split the total by process.
 */
const serverSideCpu = (pids: ReadonlyArray<number>, reads: Array<ReadonlyArray<number>>) => (): Promise<number> => {
  const each = pids.flatMap(processTree).map(processCpuMicros)
  reads.push(each)
  return Promise.resolve(each.reduce((sum, n) => sum + n, 0))
}

/** Each server-side process's CPU per delivery over the max-rate phase. */
type Split = ReadonlyArray<number>

// Process order: the CLI's tree (the primary, then its workers), then redis-server.
const splitOf = (reads: ReadonlyArray<ReadonlyArray<number>>, perDelivery: number): Split => {
  const before = reads.at(-2) ?? []
  const after = reads.at(-1) ?? []
  const deltas = after.map((n, i) => n - (before[i] ?? 0))
  const total = deltas.reduce((a, n) => a + n, 0)
  return deltas.map((d) => (d / total) * perDelivery)
}

const main = async (): Promise<void> => {
  const launch = prepareCli()
  if (isUnavailable(launch)) throw new Error(`CLI: ${launch.unavailable}`)
  const subscribers = Number(flags.subscribers)
  const inFlight = Number(flags["in-flight"])
  const scenario = fanOutScenario(subscribers, Math.max(1, Math.round(20000 / subscribers)), inFlight)
  const results: Record<
    "single" | "workers",
    Array<{ deliveries: number; p50: number; serverCpu: number; loadCpu: number; split: Split }>
  > = { single: [], workers: [] }
  for (let round = 1; round <= Number(flags.rounds); round++) {
    for (const mode of ["single", "workers"] as const) {
      const redis = mode === "workers" ? await startRedis() : undefined
      const server = await startTarget(
        redis === undefined ? launch : { args: [...launch.args, "--workers", "2"], env: { BROKER_URL: redis.url } },
        null
      )
      try {
        // The first worker said "listening"; give the second one time to start too.
        if (mode === "workers") await new Promise((resolve) => setTimeout(resolve, 3000))
        const reads: Array<ReadonlyArray<number>> = []
        const pids = redis?.process.pid === undefined ? [server.pid] : [server.pid, redis.process.pid]
        const run = await scenario.run(
          { ...server, cpuMicros: serverSideCpu(pids, reads) },
          {
            quick: flags.quick === true,
            protocol: 1
          }
        )
        const { lost, duplicated, reordered } = run.integrity
        if (lost + duplicated + reordered > 0)
          throw new Error(`${mode}: lost ${lost}, duplicated ${duplicated}, reordered ${reordered}`)
        const figures = {
          deliveries: run.metrics.deliveriesPerSecond ?? Number.NaN,
          p50: run.metrics.latencyP50Ms ?? Number.NaN,
          serverCpu: run.metrics.cpuPerDeliveryMicros ?? Number.NaN,
          loadCpu: run.metrics.loadCpuPerDeliveryMicros ?? Number.NaN,
          split: splitOf(reads, run.metrics.cpuPerDeliveryMicros ?? Number.NaN)
        }
        results[mode].push(figures)
        log(
          `[round ${round}] ${mode}: ${Math.round(figures.deliveries)} deliveries/s, p50 ${figures.p50.toFixed(2)} ms, ` +
            `server side ${figures.serverCpu.toFixed(2)} µs + load generator ${figures.loadCpu.toFixed(2)} µs CPU per delivery`
        )
      } finally {
        await server.stop()
        redis?.process.kill("SIGKILL")
      }
    }
  }
  const single = median(results.single.map((r) => r.deliveries))
  const workers = median(results.workers.map((r) => r.deliveries))
  const ratio = workers / single
  const cpu = (mode: "single" | "workers", key: "serverCpu" | "loadCpu") => median(results[mode].map((r) => r[key]))
  // What 2 cores allow: one process and the generator each have a core of their own; the
  // workers, redis and the generator share both.
  const singleCeiling = 1e6 / Math.max(cpu("single", "serverCpu"), cpu("single", "loadCpu"))
  const workersCeiling = 2e6 / (cpu("workers", "serverCpu") + cpu("workers", "loadCpu"))
  const row = (label: string, a: string, b: string, c = "") => `| ${label} | ${a} | ${b} | ${c} |`
  const micros = (value: number) => `${value.toFixed(2)} µs`
  const markdown = [
    `Date: ${new Date().toISOString()} · Node ${process.version} · ${subscribers.toLocaleString("en-US")} subscribers, one publisher, ${inFlight} publications in flight · unpinned`,
    "",
    `Command: \`pnpm bench:workers ${process.argv.slice(2).join(" ")}\` (medians of ${results.single.length} interleaved rounds)`,
    "",
    "| figure | CLI, 1 process, memory broker | CLI, `--workers 2`, Redis | workers ÷ single |",
    "|---|---:|---:|---:|",
    `| max deliveries/s | ${Math.round(single).toLocaleString("en-US")} | ${Math.round(workers).toLocaleString("en-US")} | ${ratio.toFixed(2)}× (target ≥ 1.5×: ${ratio >= 1.5 ? "met" : "MISSED"}) |`,
    `| latency p50 at ${Math.max(1, Math.round(20000 / subscribers))} pub/s | ${median(results.single.map((r) => r.p50)).toFixed(2)} ms | ${median(results.workers.map((r) => r.p50)).toFixed(2)} ms | |`,
    row(
      "server-side CPU per delivery (CLI processes + redis-server)",
      micros(cpu("single", "serverCpu")),
      micros(cpu("workers", "serverCpu")),
      `${(cpu("workers", "serverCpu") / cpu("single", "serverCpu")).toFixed(2)}×`
    ),
    row("load generator CPU per delivery", micros(cpu("single", "loadCpu")), micros(cpu("workers", "loadCpu"))),
    row(
      "ceiling on 2 cores, deliveries/s",
      Math.round(singleCeiling).toLocaleString("en-US"),
      Math.round(workersCeiling).toLocaleString("en-US"),
      `${(workersCeiling / singleCeiling).toFixed(2)}×`
    ),
    "",
    "The ceiling: one process gets a core and the load generator the other, so it runs at most at",
    "1 s ÷ the larger of the two CPU costs per delivery; with `--workers 2` the two workers, redis-server",
    "and the generator share both cores: 2 s ÷ (server side + generator) per delivery.",
    "",
    "Where the cores go in the max-rate phase (medians; cores busy = deliveries/s × CPU per delivery):",
    "",
    "| process | CPU per delivery | cores busy |",
    "|---|---:|---:|",
    ...(["single", "workers"] as const).flatMap((mode) => {
      const names =
        mode === "single"
          ? ["1 process: server"]
          : ["workers: primary", "workers: worker 1", "workers: worker 2", "workers: redis-server"]
      const deliveries = median(results[mode].map((r) => r.deliveries))
      const rows = names.map((name, i) => {
        const each = median(results[mode].map((r) => r.split[i] ?? Number.NaN))
        return `| ${name} | ${micros(each)} | ${((deliveries * each) / 1e6).toFixed(2)} |`
      })
      const load = cpu(mode, "loadCpu")
      return [
        ...rows,
        `| ${mode === "single" ? "1 process" : "workers"}: load generator | ${micros(load)} | ${((deliveries * load) / 1e6).toFixed(2)} |`
      ]
    }),
    ""
  ].join("\n")
  log(`\n${markdown}`)
  writeFileSync(`${resultsDir}${flags.name}.md`, markdown)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(2)
})
