/**
 * Soak: a server in this process, N lean clients in a child process, steady pub/sub and
 * RPC for a while; every interval it records RSS, heap (after a full collection when run
 * with --expose-gc), memory outside the heap, event-loop delay, deliveries and
 * RPC latency, and at the end checks that no message was lost or reordered.
 *
 *   node --expose-gc --conditions=@effect-socketcluster/source --import tsx packages/server/bench/soak.ts --duration 600 --clients 5000
 *
 * Options (all optional): --duration s (600) --clients n (5000) --channels n (50)
 * --rate publications/s (100) --rpc requests/s (500) --interval s (10) --out file.md
 */
import { fork } from "node:child_process"
import { writeFileSync } from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Effect } from "effect"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import { argNumber, argString, childMessage, mib, startChild } from "./script-tools.js"

const duration = argNumber("duration", 600)
const clientCount = argNumber("clients", 5000)
const channels = argNumber("channels", 50)
const rate = argNumber("rate", 100)
const rpcRate = argNumber("rpc", 500)
const interval = argNumber("interval", 10)
const out = argString("out", "")

interface Stats {
  readonly open: number
  readonly received: number
  readonly lost: number
  readonly outOfOrder: number
  readonly closedUnexpectedly: number
  readonly rpcSent: number
  readonly rpcAnswered: number
  readonly rpcErrors: number
  readonly pendingRpcs: number
  readonly rpcP50: number
  readonly rpcP99: number
  readonly rpcMax: number
}

const soak = (server: SCServer.SCServerCore) =>
  Effect.promise(async () => {
    const child = startChild(fork, new URL("./load-child.ts", import.meta.url))
    await childMessage(child, "ready")
    const connecting = childMessage<{ ms: number; failed: number; open: number }>(child, "connected")
    child.send({ cmd: "connect", port: server.sourcePort, count: clientCount, channels, concurrency: 200 })
    const connected = await connecting
    console.log(
      `connected ${connected.open} clients in ${(connected.ms / 1000).toFixed(1)} s (${connected.failed} failed)`
    )
    child.send({ cmd: "rpc", perSecond: rpcRate })

    const seq = new Array<number>(channels).fill(0)
    let published = 0
    let expected = 0
    let cursor = 0
    // Small steady steps (every 10 ms), not bursts: a soak measures a sustainable load.
    const perTick = Math.max(1, Math.round(rate / 100))
    const publisher = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const c = cursor++ % channels
        const channel = `soak-${c}`
        expected += server.registry.subscribers(channel).size
        Effect.runSync(server.exchange.publish(channel, { s: seq[c]!++ }))
        published++
      }
    }, 10)

    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const rows: Array<string> = []
    const started = Date.now()
    const gc = (globalThis as { gc?: () => void }).gc
    const header =
      "| t (s) | clients | RSS MiB | heap used / total MiB | external MiB | ELD p50 ms | ELD p99 ms | ELD max ms | published | delivered | expected | lost | RPC/s | RPC p99 ms |"
    console.log(header)
    let lastRpc = 0
    let samples = 0
    const rss: Array<number> = []
    while (Date.now() - started < duration * 1000) {
      await new Promise((resolve) => setTimeout(resolve, interval * 1000))
      const statsP = childMessage<Stats>(child, "stats")
      child.send({ cmd: "stats" })
      const stats = await statsP
      const eld = `${(delay.percentile(50) / 1e6).toFixed(1)} | ${(delay.percentile(99) / 1e6).toFixed(1)} | ${(delay.max / 1e6).toFixed(1)}`
      // The forced full collection blocks the loop for tens of ms: keep it out of the next
      // interval's event-loop delay (the late timer fires within the pause below).
      gc?.()
      const memory = process.memoryUsage()
      await new Promise((resolve) => setTimeout(resolve, 20))
      delay.reset()
      rss.push(memory.rss)
      const row = `| ${Math.round((Date.now() - started) / 1000)} | ${server.clientsCount} | ${mib(memory.rss)} | ${mib(memory.heapUsed)} / ${mib(memory.heapTotal)} | ${mib(memory.external)} | ${eld} | ${published} | ${stats.received} | ${expected} | ${stats.lost} | ${Math.round((stats.rpcAnswered - lastRpc) / interval)} | ${stats.rpcP99.toFixed(1)} |`
      lastRpc = stats.rpcAnswered
      rows.push(row)
      console.log(row)
      samples++
    }
    clearInterval(publisher)
    child.send({ cmd: "quiet" })
    // Let the last publications arrive before the final count.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const finalP = childMessage<Stats>(child, "stats")
    child.send({ cmd: "stats" })
    const final = await finalP
    const third = Math.max(1, Math.floor(samples / 3))
    const avg = (xs: Array<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const rssTrend = avg(rss.slice(-third)) - avg(rss.slice(1, 1 + third))
    const summary = [
      `clients ${clientCount}, channels ${channels}, ${rate} publications/s, ${rpcRate} RPC/s, ${duration} s, sample every ${interval} s`,
      `published ${published}; expected deliveries ${expected}; delivered ${final.received}; lost ${final.lost}; out of order ${final.outOfOrder}; sockets closed unexpectedly ${final.closedUnexpectedly}`,
      `RPC sent ${final.rpcSent}, answered ${final.rpcAnswered}, errors ${final.rpcErrors}, unanswered ${final.pendingRpcs}`,
      `RSS trend (mean of last third minus mean of first third after the first sample): ${mib(rssTrend)} MiB`
    ]
    for (const line of summary) console.log(line)
    if (out !== "") writeFileSync(out, [header, headerRule(header), ...rows, "", ...summary, ""].join("\n"))
    child.send({ cmd: "close" })
    const ok = final.lost === 0 && final.outOfOrder === 0 && final.received === expected
    console.log(ok ? "OK: every publication reached every subscriber, in order" : "FAILED: deliveries missing")
    process.exitCode = ok ? 0 : 1
  })

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
