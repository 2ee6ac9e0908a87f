/**
 * Handshake storm: while N new sockets (a child process, all at once, like a reconnect
 * storm after a restart) upgrade and handshake, an established client in this process
 * calls `echo` every 5 ms; prints its RPC latency before and during the storm.
 *
 *   node --conditions=@effect-socketcluster/source --import tsx packages/server/bench/handshake-storm.ts --sockets 3000 [--tokens] [--upgrades-per-turn n]
 *
 * `--tokens`: every new socket offers a signed JWT (the asynchronous handshake path).
 * `--upgrades-per-turn n`: the `maxUpgradesPerTurn` option (0 leaves the default).
 */
import { fork } from "node:child_process"
import * as Effect from "effect/Effect"
import WebSocket from "ws"
import * as BrokerMemory from "../src/BrokerMemory.js"
import * as SCServer from "../src/SCServer.js"
import { argNumber, childMessage, startChild } from "./script-tools.js"

const sockets = argNumber("sockets", 3000)
const withTokens = process.argv.includes("--tokens")
const upgradesPerTurn = argNumber("upgrades-per-turn", 0)

const quantile = (values: ReadonlyArray<number>, q: number) => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

/** An established raw client calling `echo` every 5 ms; `take()` returns and clears the latencies. */
const establishedClient = (port: number) =>
  new Promise<{ take(): Array<number>; pending(): number; stop(): void }>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`, { perMessageDeflate: false })
    const sent = new Map<number, number>()
    let latencies: Array<number> = []
    let cid = 2
    let timer: ReturnType<typeof setInterval> | undefined
    ws.on("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
    ws.on("message", (data: Buffer) => {
      const text = data.toString()
      if (text === "#1") return ws.send("#2")
      if (text.startsWith('{"rid":1,')) {
        timer = setInterval(() => {
          sent.set(cid, performance.now())
          ws.send(`{"event":"echo","data":${cid},"cid":${cid}}`)
          cid++
        }, 5)
        return resolve({
          take: () => {
            const out = latencies
            latencies = []
            return out
          },
          pending: () => sent.size,
          stop: () => {
            clearInterval(timer)
            ws.terminate()
          }
        })
      }
      const rid = Number(/^\{"rid":(\d+)/.exec(text)?.[1])
      const at = sent.get(rid)
      if (at !== undefined) {
        sent.delete(rid)
        latencies.push(performance.now() - at)
      }
    })
  })

const storm = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    const token = withTokens ? (yield* server.auth.signToken({ user: "storm" })).token : undefined
    return yield* Effect.promise(async () => {
      const child = startChild(fork, new URL("./load-child.ts", import.meta.url))
      await childMessage(child, "ready")
      const client = await establishedClient(server.sourcePort!)
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const before = client.take()
      const connected = childMessage<{ ms: number; failed: number; open: number }>(child, "connected")
      child.send({ cmd: "connect", port: server.sourcePort, count: sockets, channels: 0, concurrency: sockets, token })
      const result = await connected
      const during = client.take()
      await new Promise((resolve) => setTimeout(resolve, 500))
      const after = client.take()
      const summary = {
        sockets,
        tokens: withTokens,
        maxUpgradesPerTurn: server.options.maxUpgradesPerTurn,
        stormMs: Math.round(result.ms),
        handshaken: result.open,
        failed: result.failed,
        serverClients: server.clientsCount,
        beforeP99: +quantile(before, 0.99).toFixed(1),
        duringCount: during.length,
        duringP50: +quantile(during, 0.5).toFixed(1),
        duringP99: +quantile(during, 0.99).toFixed(1),
        duringMax: +quantile(during, 1).toFixed(1),
        afterP99: +quantile(after, 0.99).toFixed(1),
        unanswered: client.pending()
      }
      console.log(JSON.stringify(summary))
      client.stop()
      child.send({ cmd: "close" })
      return summary
    })
  })

Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const options: SCServer.SCServerOptions = { authKey: "storm-key-0123456789abcdef0123456789abcdef" }
      const server = yield* SCServer.make(
        upgradesPerTurn > 0 ? { ...options, maxUpgradesPerTurn: upgradesPerTurn } : options,
        { _tag: "Listen", port: 0, host: "127.0.0.1" }
      ).pipe(Effect.provide(BrokerMemory.layer))
      yield* server.handle("echo", (data) => Effect.succeed(data))
      yield* storm(server)
    })
  )
).then(
  () => process.exit(),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
