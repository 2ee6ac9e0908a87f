/**
 * Scale on one box (issue 20): many idle connections on one server process, or on the
 * CLI's `--workers N` over a fresh redis-server as users would scale it, from several
 * load processes, each connecting from its own loopback source address (127.0.0.2, .3, …:
 * one address has only ~28,000 ephemeral ports) within its own descriptor budget.
 * Reports the handshake rate over the whole ramp, server CPU per handshake, and RSS and
 * heap per connection (after full GCs, against the freshly started server), and whether
 * the server stayed under 1 GiB RSS. Not a test and not in CI.
 *
 *   bash -c 'ulimit -n 210000; pnpm bench:scale --connections 100000 --target cli'
 *   pnpm bench:scale --connections 100000 --workers 6   (CLI only; each worker ~16,700)
 *
 * A process cannot hold more descriptors than its `ulimit -n`; where the hard limit cannot
 * be raised (a container without CAP_SYS_RESOURCE) the run is capped just below it per
 * server process, says so, and also gives the RSS that the wanted count would take at the
 * measured cost. With workers, every server process (primary, each worker, redis-server)
 * is reported from /proc: descriptors, RSS and CPU over the ramp; so is the generators' CPU.
 */
import { type ChildProcess, fork } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startTarget } from "../target-process.js"
import { isUnavailable, targets } from "../targets/index.js"
import { childrenOf, processCpuMicros, rssBytes, startRedis } from "./processes.js"

const { values: flags } = parseArgs({
  options: {
    connections: { type: "string", default: "100000" },
    target: { type: "string", default: "cli" },
    "per-process": { type: "string", default: "16000" },
    concurrency: { type: "string", default: "100" },
    protocol: { type: "string", default: "1" },
    workers: { type: "string", default: "1" },
    name: { type: "string" }
  }
})
const gib = 1024 ** 3
const resultsDir = fileURLToPath(new URL("../../results/", import.meta.url))
const child = fileURLToPath(new URL("./idle-clients.ts", import.meta.url))
const log = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

/** This process's soft limit on open files (inherited by the server and the load processes). */
const descriptorLimit = (): number => {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"))
  return Number(line?.split(/\s{2,}/)[1] ?? Number.NaN)
}

interface Loader {
  readonly process: ChildProcess
  /** Resolves with how many connections the load process opened and how long it took. */
  readonly ready: Promise<{ readonly count: number; readonly seconds: number; readonly cpu: number }>
  /** Resolves once the load process is started and waits for "go". */
  readonly up: Promise<void>
  /** Asks how many of its connections are still open. */
  open(): Promise<number>
}

const numberField = (message: unknown, key: string): number | undefined => {
  if (typeof message !== "object" || message === null || !(key in message)) return undefined
  const value: unknown = Reflect.get(message, key)
  return typeof value === "number" ? value : undefined
}

const startLoader = (args: ReadonlyArray<string>): Loader => {
  // fork passes this process's loader flags (tsx) on to the load process.
  const proc = fork(child, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const openWaiters: Array<(open: number) => void> = []
  let isUp: () => void = () => {}
  const up = new Promise<void>((resolve) => {
    isUp = resolve
  })
  const ready = new Promise<{ count: number; seconds: number; cpu: number }>((resolve, reject) => {
    proc.on("message", (message: unknown) => {
      const count = numberField(message, "count")
      const seconds = numberField(message, "seconds")
      const cpu = numberField(message, "cpu")
      const open = numberField(message, "open")
      if (numberField(message, "up") !== undefined) isUp()
      else if (count !== undefined && seconds !== undefined && cpu !== undefined) resolve({ count, seconds, cpu })
      else if (open !== undefined) openWaiters.shift()?.(open)
      else reject(new Error(`load process failed: ${JSON.stringify(message)}`))
    })
    proc.once("exit", (code) => reject(new Error(`load process exited (${code})`)))
  })
  return {
    process: proc,
    up,
    ready,
    open: () =>
      new Promise((resolve) => {
        openWaiters.push(resolve)
        proc.send("open")
      })
  }
}

/** Open descriptors of a process (its connections, plus a few hundred of its own), 0 once it is gone. */
const descriptors = (pid: number): number => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

interface Sample {
  readonly rss: number
  readonly cpu: number
  readonly fds: number
}
const sample = (pid: number): Sample => ({ rss: rssBytes(pid), cpu: processCpuMicros(pid), fds: descriptors(pid) })

const main = async (): Promise<void> => {
  const target = targets.find((t) => t.id === flags.target)
  if (target === undefined)
    throw new Error(`unknown target ${flags.target}; known: ${targets.map((t) => t.id).join(", ")}`)
  const workers = Number(flags.workers)
  if (workers > 1 && target.id !== "cli") throw new Error("--workers is the CLI's (--target cli)")
  const launch = target.prepare(flags.protocol === "2" ? 2 : 1)
  if (isUnavailable(launch)) throw new Error(`${target.label}: ${launch.unavailable}`)
  const wanted = Number(flags.connections)
  const limit = descriptorLimit()
  // Each server process needs a few hundred descriptors of its own (modules, listeners,
  // pipes); node:cluster hands connections to the workers round-robin, so they share evenly.
  const connections = Math.min(wanted, (limit - 300) * workers)
  const capped = connections < wanted
  if (capped)
    log(`WARNING: ulimit -n is ${limit}; capped at ${connections} connections over ${workers} server process(es)`)
  const perProcess = Math.min(Number(flags["per-process"]), limit - 300)
  const loaders = Math.ceil(connections / perProcess)

  const redis = workers > 1 ? await startRedis() : undefined
  const server = await startTarget(
    redis === undefined
      ? launch
      : { args: [...launch.args, "--workers", String(workers)], env: { BROKER_URL: redis.url } },
    null
  )
  try {
    const running = Array.from({ length: loaders }, (_, i) => {
      const count = Math.min(perProcess, connections - i * perProcess)
      return startLoader([
        String(server.port),
        server.path,
        String(count),
        `127.0.0.${i + 2}`,
        flags.protocol ?? "1",
        flags.concurrency ?? "100"
      ])
    })
    await Promise.all(running.map((l) => l.up))
    // "listening" came from the first worker; the rest have forked by now or are waited for
    // here (each holds a connection to redis once started).
    while (workers > 1 && childrenOf(server.pid).length < workers) await new Promise((r) => setTimeout(r, 100))
    if (workers > 1) await new Promise((resolve) => setTimeout(resolve, 3000))
    const serverPids = workers > 1 ? [server.pid, ...childrenOf(server.pid)] : [server.pid]
    const pids = redis?.process.pid === undefined ? serverPids : [...serverPids, redis.process.pid]
    const names = pids.map((pid, i) =>
      workers === 1 ? "server" : i === 0 ? "primary" : pid === redis?.process.pid ? "redis-server" : `worker ${i}`
    )
    const before = await server.memory()
    const samplesBefore = pids.map(sample)
    const started = performance.now()
    for (const l of running) l.process.send("go")
    const ready = await Promise.all(running.map((l) => l.ready))
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = pids.map(processCpuMicros)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const after = await server.memory()
    const samplesAfter = pids.map(sample)
    const open = (await Promise.all(running.map((l) => l.open()))).reduce((a, n) => a + n, 0)
    for (const l of running) l.process.send("close")
    const opened = ready.reduce((a, r) => a + r.count, 0)
    const serverCount = serverPids.length
    const sum = (values: ReadonlyArray<number>): number => values.reduce((a, n) => a + n, 0)
    const rssBefore = sum(samplesBefore.slice(0, serverCount).map((s) => s.rss))
    const rssAfter = sum(samplesAfter.slice(0, serverCount).map((s) => s.rss))
    const rssPer = (rssAfter - rssBefore) / opened
    const projected = rssBefore + rssPer * wanted
    const serverCpu = sum(pids.map((_, i) => cpuAfter[i]! - samplesBefore[i]!.cpu))
    const loadCpu = sum(ready.map((r) => r.cpu))
    const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`
    const largest = Math.max(...samplesAfter.slice(0, serverCount).map((s) => s.rss))
    const lines = [
      `Date: ${new Date().toISOString()} · Node ${process.version} · target ${target.label}${workers > 1 ? ` --workers ${workers} over redis-server` : ""} · ${loaders} load processes (127.0.0.2–${loaders + 1})`,
      "",
      `Command: \`pnpm bench:scale ${process.argv.slice(2).join(" ")}\` · ulimit -n ${limit}${capped ? ` (capped: ${wanted.toLocaleString("en-US")} wanted)` : ""}`,
      "",
      "| figure | value |",
      "|---|---:|",
      `| idle connections held (open after 2 s idle) | ${open.toLocaleString("en-US")} of ${opened.toLocaleString("en-US")} |`,
      `| handshakes/s over the ramp | ${Math.round(opened / seconds).toLocaleString("en-US")} |`,
      `| server-side CPU per handshake${workers > 1 ? " (primary, workers, redis-server)" : ""} | ${(serverCpu / opened).toFixed(1)} µs |`,
      `| load generators' CPU per handshake (${loaders} processes) | ${(loadCpu / opened).toFixed(1)} µs |`,
      `| server RSS${workers > 1 ? " (primary and workers)" : ""}, fresh → loaded | ${mib(rssBefore)} → ${mib(rssAfter)} |`,
      `| RSS per connection | ${(rssPer / 1024).toFixed(2)} KiB |`,
      ...(workers > 1
        ? []
        : [`| heap per connection | ${((after.heapUsed - before.heapUsed) / opened / 1024).toFixed(2)} KiB |`]),
      capped
        ? `| server RSS at ${wanted.toLocaleString("en-US")} connections at this cost (projected) | ${mib(projected)} (${projected < gib ? "under" : "OVER"} 1 GiB) |`
        : `| every server process under 1 GiB RSS | ${largest < gib ? "yes" : "NO"} (largest ${mib(largest)}) |`,
      "",
      "| process | descriptors, fresh → loaded | RSS, fresh → loaded | RSS per connection | CPU over the ramp |",
      "|---|---:|---:|---:|---:|",
      ...pids.map((pid, i) => {
        const b = samplesBefore[i]!
        const a = samplesAfter[i]!
        const held = a.fds - b.fds
        return `| ${names[i]} (pid ${pid}) | ${b.fds.toLocaleString("en-US")} → ${a.fds.toLocaleString("en-US")} | ${mib(b.rss)} → ${mib(a.rss)} | ${held > 100 ? `${((a.rss - b.rss) / held / 1024).toFixed(2)} KiB` : "–"} | ${((cpuAfter[i]! - b.cpu) / 1e6).toFixed(2)} s |`
      }),
      `| ${loaders} load processes | | | | ${(loadCpu / 1e6).toFixed(2)} s |`,
      "",
      `The ramp took ${seconds.toFixed(1)} s of wall time on 2 cores (${(2 * seconds).toFixed(1)} core-seconds).`,
      ""
    ]
    const markdown = lines.join("\n")
    log(`\n${markdown}`)
    writeFileSync(
      `${resultsDir}${flags.name ?? `scale-${target.id}${workers > 1 ? `-workers${workers}` : ""}`}.md`,
      markdown
    )
    if (open < opened) process.exitCode = 1
  } finally {
    await server.stop()
    redis?.process.kill("SIGKILL")
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(2)
})
