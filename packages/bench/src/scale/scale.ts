/**
 * Scale on one box (issue 20): many idle connections on one server process, from several
 * load processes, each connecting from its own loopback source address (127.0.0.2, .3, …:
 * one address has only ~28,000 ephemeral ports) within its own descriptor budget.
 * Reports the handshake rate over the whole ramp, server CPU per handshake, and RSS and
 * heap per connection (after full GCs, against the freshly started server), and whether
 * the server stayed under 1 GiB RSS. Not a test and not in CI.
 *
 *   bash -c 'ulimit -n 210000; pnpm bench:scale --connections 100000 --target cli'
 *
 * A process cannot hold more descriptors than its `ulimit -n`; where the hard limit cannot
 * be raised (a container without CAP_SYS_RESOURCE) the run is capped just below it, says
 * so, and also gives the RSS that 100,000 connections would take at the measured cost.
 */
import { type ChildProcess, fork } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { startTarget } from "../target-process.js"
import { isUnavailable, targets } from "../targets/index.js"

const { values: flags } = parseArgs({
  options: {
    connections: { type: "string", default: "100000" },
    target: { type: "string", default: "cli" },
    "per-process": { type: "string", default: "16000" },
    concurrency: { type: "string", default: "100" },
    protocol: { type: "string", default: "1" },
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
  readonly ready: Promise<{ readonly count: number; readonly seconds: number }>
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
  const ready = new Promise<{ count: number; seconds: number }>((resolve, reject) => {
    proc.on("message", (message: unknown) => {
      const count = numberField(message, "count")
      const seconds = numberField(message, "seconds")
      const open = numberField(message, "open")
      if (numberField(message, "up") !== undefined) isUp()
      else if (count !== undefined && seconds !== undefined) resolve({ count, seconds })
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

const main = async (): Promise<void> => {
  const target = targets.find((t) => t.id === flags.target)
  if (target === undefined)
    throw new Error(`unknown target ${flags.target}; known: ${targets.map((t) => t.id).join(", ")}`)
  const launch = target.prepare(flags.protocol === "2" ? 2 : 1)
  if (isUnavailable(launch)) throw new Error(`${target.label}: ${launch.unavailable}`)
  const wanted = Number(flags.connections)
  const limit = descriptorLimit()
  // The server needs a few hundred descriptors of its own (modules, listeners, pipes).
  const connections = Math.min(wanted, limit - 300)
  const capped = connections < wanted
  if (capped) log(`WARNING: ulimit -n is ${limit}; capped at ${connections} connections per server process`)
  const perProcess = Math.min(Number(flags["per-process"]), limit - 300)
  const loaders = Math.ceil(connections / perProcess)

  const server = await startTarget(launch, null)
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
    const before = await server.memory()
    const cpuBefore = await server.cpuMicros()
    const started = performance.now()
    for (const l of running) l.process.send("go")
    const ready = await Promise.all(running.map((l) => l.ready))
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = await server.cpuMicros()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const after = await server.memory()
    const open = (await Promise.all(running.map((l) => l.open()))).reduce((a, n) => a + n, 0)
    for (const l of running) l.process.send("close")
    const opened = ready.reduce((a, r) => a + r.count, 0)
    const rssPer = (after.rss - before.rss) / opened
    const projected = before.rss + rssPer * wanted
    const lines = [
      `Date: ${new Date().toISOString()} · Node ${process.version} · target ${target.label} · ${loaders} load processes (127.0.0.2–${loaders + 1})`,
      "",
      `Command: \`pnpm bench:scale ${process.argv.slice(2).join(" ")}\` · ulimit -n ${limit}${capped ? ` (capped: ${wanted.toLocaleString("en-US")} wanted)` : ""}`,
      "",
      "| figure | value |",
      "|---|---:|",
      `| idle connections held (open after 2 s idle) | ${open.toLocaleString("en-US")} of ${opened.toLocaleString("en-US")} |`,
      `| handshakes/s over the ramp | ${Math.round(opened / seconds).toLocaleString("en-US")} |`,
      `| server CPU per handshake | ${((cpuAfter - cpuBefore) / opened).toFixed(1)} µs |`,
      `| server RSS, fresh → loaded | ${(before.rss / 2 ** 20).toFixed(0)} MiB → ${(after.rss / 2 ** 20).toFixed(0)} MiB |`,
      `| RSS per connection | ${(rssPer / 1024).toFixed(2)} KiB |`,
      `| heap per connection | ${((after.heapUsed - before.heapUsed) / opened / 1024).toFixed(2)} KiB |`,
      capped
        ? `| server RSS at ${wanted.toLocaleString("en-US")} connections at this cost (projected) | ${(projected / 2 ** 20).toFixed(0)} MiB (${projected < gib ? "under" : "OVER"} 1 GiB) |`
        : `| under 1 GiB RSS | ${after.rss < gib ? "yes" : "NO"} |`,
      ""
    ]
    const markdown = lines.join("\n")
    log(`\n${markdown}`)
    writeFileSync(`${resultsDir}${flags.name ?? `scale-${target.id}`}.md`, markdown)
    if (open < opened) process.exitCode = 1
  } finally {
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(2)
})
