/**
 * Soak: a server in this process (default options, memory broker), N lean clients in a
 * child process with connection churn, client publishers and RPC for a long while. Every
 * interval it records RSS, heap (after a full collection when run with --expose-gc),
 * memory outside the heap, event-loop delay, deliveries and RPC latency; at the end it
 * reports the slope of RSS and heap (least squares after the warm-up) and checks that no
 * publication was lost or reordered, for every subscriber, including those that joined
 * mid-run.
 *
 *   node --expose-gc --conditions=@effect-socketcluster/source --import tsx packages/server/bench/soak.ts --duration 3600 --clients 10000
 *
 * Options (all optional): --duration s (3600) --clients n (10000) --channels n (50)
 * --rate publications/s (50) --churn reconnections/s (20) --rpc requests/s (100)
 * --interval s (30) --warmup s (300) --out file.md
 */
import { fork } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { getHeapSpaceStatistics } from "node:v8"
import * as Effect from "effect/Effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import { argNumber, argString, childMessage, mib, startChild } from "./script-tools.js"

const duration = argNumber("duration", 3600)
const clientCount = argNumber("clients", 10_000)
const channels = argNumber("channels", 50)
const rate = argNumber("rate", 50)
const churn = argNumber("churn", 20)
const rpcRate = argNumber("rpc", 100)
const interval = argNumber("interval", 30)
const warmup = argNumber("warmup", 300)
const out = argString("out", "")

interface Stats {
  readonly open: number
  readonly received: number
  readonly lost: number
  readonly outOfOrder: number
  readonly behind: number
  readonly closedUnexpectedly: number
  readonly churned: number
  readonly churnFailed: number
  readonly published: number
  readonly publishAcked: number
  readonly publishErrors: number
  readonly pendingPublishes: number
  readonly rpcSent: number
  readonly rpcAnswered: number
  readonly rpcErrors: number
  readonly rpcAbandoned: number
  readonly pendingRpcs: number
  readonly rpcP99: number
}

/** Least-squares slope of `ys` over `xs` (per unit of x). */
const slope = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number => {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const soak = (server: SCServer.SCServerCore) =>
  Effect.promise(async () => {
    const child = startChild(fork, new URL("./load-child.ts", import.meta.url))
    await childMessage(child, "ready")
    const stats = () => {
      const next = childMessage<Stats>(child, "stats")
      child.send({ cmd: "stats" })
      return next
    }
    const connecting = childMessage<{ ms: number; failed: number; open: number }>(child, "connected")
    child.send({ cmd: "connect", port: server.sourcePort, count: clientCount, channels, concurrency: 100 })
    const connected = await connecting
    console.log(
      `connected ${connected.open} clients in ${(connected.ms / 1000).toFixed(1)} s (${connected.failed} failed)`
    )
    const publishing = childMessage(child, "publishing")
    child.send({ cmd: "publish", perSecond: rate })
    await publishing
    child.send({ cmd: "rpc", perSecond: rpcRate })
    if (churn > 0) child.send({ cmd: "churn", perSecond: churn })

    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const rows: Array<string> = []
    const started = Date.now()
    const gc = (globalThis as { gc?: () => void }).gc
    const header =
      "| t (s) | sockets | RSS MiB | anon / file MiB | heap used / total MiB | old space used / size MiB | new space MiB | external MiB | ELD p50 ms | ELD p99 ms | ELD max ms | churned | closed unexpectedly | failed reconnections | published | delivered | lost | RPC p99 ms |"
    console.log(header)
    const times: Array<number> = []
    const rss: Array<number> = []
    const heap: Array<number> = []
    const heapTotal: Array<number> = []
    const external: Array<number> = []
    const anon: Array<number> = []
    // Which V8 space holds the committed memory tells a leak (used grows) from fragmentation
    // or a young generation that grew under churn (size grows, used does not).
    const space = (name: string) => getHeapSpaceStatistics().find((s) => s.space_name === name)
    while (Date.now() - started < duration * 1000) {
      await pause(interval * 1000)
      const s = await stats()
      const eld = `${(delay.percentile(50) / 1e6).toFixed(1)} | ${(delay.percentile(99) / 1e6).toFixed(1)} | ${(delay.max / 1e6).toFixed(1)}`
      // The forced full collection blocks the loop for tens of ms: keep it out of the next
      // interval's event-loop delay (the late timer fires within the pause below).
      gc?.()
      const memory = process.memoryUsage()
      const status = rssParts()
      await pause(20)
      delay.reset()
      const t = (Date.now() - started) / 1000
      if (t >= warmup) {
        times.push(t / 3600)
        rss.push(memory.rss / 1024 / 1024)
        heap.push(memory.heapUsed / 1024 / 1024)
        heapTotal.push(memory.heapTotal / 1024 / 1024)
        external.push(memory.external / 1024 / 1024)
        anon.push(status.anon)
      }
      const old = space("old_space")
      const young = space("new_space")
      const spaces = `${mib(old?.space_used_size ?? 0)} / ${mib(old?.space_size ?? 0)} | ${mib(young?.space_size ?? 0)}`
      const row = `| ${Math.round(t)} | ${server.clientsCount} | ${mib(memory.rss)} | ${status.anon.toFixed(1)} / ${status.file.toFixed(1)} | ${mib(memory.heapUsed)} / ${mib(memory.heapTotal)} | ${spaces} | ${mib(memory.external)} | ${eld} | ${s.churned} | ${s.closedUnexpectedly} | ${s.churnFailed} | ${s.published} | ${s.received} | ${s.lost} | ${s.rpcP99.toFixed(1)} |`
      rows.push(row)
      console.log(row)
    }
    child.send({ cmd: "quiet" })
    // Let every ack and the last publications arrive (bounded: what is still missing after
    // 30 s is reported as lost).
    let final = await stats()
    for (let waited = 0; waited < 30_000 && (final.behind > 0 || final.pendingPublishes > 0); waited += 250) {
      await pause(250)
      final = await stats()
    }
    const summary = [
      `clients ${clientCount}, channels ${channels}, ${rate} client publications/s, churn ${churn} reconnections/s, ${rpcRate} RPC/s, ${duration} s, sample every ${interval} s`,
      `churned ${final.churned} (failed reconnections ${final.churnFailed}); sockets closed unexpectedly ${final.closedUnexpectedly}`,
      `measured rates: ${(final.published / duration).toFixed(1)} publications/s, ${(final.received / duration).toFixed(0)} deliveries/s, ${(final.churned / duration).toFixed(1)} reconnections/s, ${(final.rpcSent / duration).toFixed(1)} RPC/s`,
      `published ${final.published}, acked ${final.publishAcked}, ack errors ${final.publishErrors}; delivered ${final.received}; lost ${final.lost + final.behind} (gaps ${final.lost}, never arrived ${final.behind}); out of order ${final.outOfOrder}`,
      `server counters: dropped publications ${server.counters.droppedPublications}, slow-consumer disconnects ${server.counters.slowConsumerDisconnects}`,
      `RPC sent ${final.rpcSent}, answered ${final.rpcAnswered}, errors ${final.rpcErrors}, abandoned by churn ${final.rpcAbandoned}, unanswered ${final.pendingRpcs}`,
      `slope after ${warmup} s (least squares over ${times.length} samples): RSS ${slope(times, rss).toFixed(2)} MiB/h, anonymous RSS ${slope(times, anon).toFixed(2)} MiB/h, heap used ${slope(times, heap).toFixed(2)} MiB/h, heap total ${slope(times, heapTotal).toFixed(2)} MiB/h, external ${slope(times, external).toFixed(2)} MiB/h`,
      ...[2, 4].map((part) => {
        // A leak keeps its slope; an allocator or heap settling into its working set flattens.
        const from = Math.floor(times.length - times.length / part)
        const ts = times.slice(from)
        return `slope over the last 1/${part} (${ts.length} samples): RSS ${slope(ts, rss.slice(from)).toFixed(2)} MiB/h, heap used ${slope(ts, heap.slice(from)).toFixed(2)} MiB/h, heap total ${slope(ts, heapTotal.slice(from)).toFixed(2)} MiB/h`
      })
    ]
    for (const line of summary) console.log(line)
    if (out !== "") writeFileSync(out, [header, headerRule(header), ...rows, "", ...summary, ""].join("\n"))
    child.send({ cmd: "close" })
    const ok =
      final.lost === 0 &&
      final.behind === 0 &&
      final.outOfOrder === 0 &&
      final.publishErrors === 0 &&
      final.publishAcked === final.published &&
      final.closedUnexpectedly === 0
    console.log(ok ? "OK: every publication reached every subscriber, in order" : "FAILED: see the counts above")
    process.exitCode = ok ? 0 : 1
  })

/** Anonymous and file-backed resident memory (MiB): code pages touched late are not a leak. */
const rssParts = (): { readonly anon: number; readonly file: number } => {
  const status = readFileSync("/proc/self/status", "utf8")
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024
  return { anon: kib("RssAnon"), file: kib("RssFile") + kib("RssShmem") }
}

const headerRule = (header: string) =>
  header
    .split("|")
    .slice(1, -1)
    .map(() => "---")
    .join("|")
    .replace(/^/, "|")
    .replace(/$/, "|")

Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const server = yield* SCServer.make(
        { authKey: "soak-key-0123456789abcdef0123456789abcdef" },
        {
          _tag: "Listen",
          port: 0,
          host: "127.0.0.1"
        }
      ).pipe(Effect.provide(BrokerMemory.layer))
      yield* server.handle("echo", (data) => Effect.succeed(data))
      yield* soak(server)
    })
  )
).then(
  () => process.exit(),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
