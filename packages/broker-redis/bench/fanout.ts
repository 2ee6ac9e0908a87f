/**
 * Fan-out benchmark (not a test): deliveries per second to subscribed sockets, and the
 * publication rate behind them, with channel history on and off, for
 *
 *   memory   one server process, the in-memory broker
 *   redis    two server processes sharing one Redis; half the subscribers on each, the
 *            publishers on the first
 *   cluster  the same two processes on a 3-node Redis Cluster (sharded mode), started here
 *
 * (all of them examples/start-redis.ts, picked by environment variables).
 *
 *   ./dev tsx packages/broker-redis/bench/fanout.ts [--subscribers 400] [--batch 50] [--publishers 50] [--seconds 5] [--rounds 3] [--modes memory,redis,cluster]
 *
 * Closed loop: publisher sockets send a batch of publications (fire-and-forget
 * `#publish`, round-robin over the publishers), wait until every subscriber received all
 * of them, and repeat for the given time. The server runs one socket's packets one after
 * the other, each publish waiting for the broker's answer (a Redis round trip with Redis),
 * so with one publisher socket the figure is bound by that latency; several publishers
 * measure the fan-out itself.
 * Subscribers are lean raw WebSocket clients in this process (Node's built-in
 * WebSocket) that count `#publish` frames without parsing them. Redis: `REDIS_URL`, or a
 * private redis-server on a free port. Modes run interleaved, each round in fresh processes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { spawnRedisCluster } from "../src/testing/RedisCluster.js"
import { useRedisServer } from "../src/testing/RedisServer.js"

const { values: args } = parseArgs({
  options: {
    subscribers: { type: "string", default: "400" },
    batch: { type: "string", default: "50" },
    publishers: { type: "string", default: "50" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    modes: { type: "string", default: "memory,redis,cluster" }
  }
})
const subscribers = Number(args.subscribers)
const batch = Number(args.batch)
const publisherCount = Number(args.publishers)
const seconds = Number(args.seconds)
const rounds = Number(args.rounds)

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const serverFile = here("../examples/start-redis.ts")
type Broker = "memory" | "redis" | "cluster"
const brokers = args.modes.split(",").filter((m): m is Broker => m === "memory" || m === "redis" || m === "cluster")

interface Server {
  readonly port: number
  readonly stop: () => Promise<void>
}

const startServer = (file: string, env: Record<string, string>): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ["--conditions=@effect-socketcluster/source", "--import", "tsx", file],
      {
        env: { ...process.env, ...env, PORT: "0" },
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const match = /^listening (\d+)$/m.exec(out)
      if (match === null) return
      child.stdout?.removeAllListeners("data")
      child.stdout?.resume()
      resolve({
        port: Number(match[1]),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done()
            child.once("exit", () => done())
            child.kill("SIGTERM")
          })
      })
    })
    child.once("exit", (code) => reject(new Error(`${file} exited with ${String(code)}`)))
  })

/** A lean v1 protocol client: handshake, optional subscribe, `#2` on `#1`, counts publications. */
class LeanClient {
  received = 0
  private readonly ws: WebSocket
  private cid = 0
  private readonly pending = new Map<number, () => void>()

  private constructor(port: number, onDelivery: () => void) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`)
    this.ws.onmessage = (event: MessageEvent) => {
      const frame = String(event.data)
      if (frame === "#1") return this.ws.send("#2")
      if (frame.startsWith('{"event":"#publish"')) {
        this.received++
        return onDelivery()
      }
      const rid = /"rid":(\d+)/.exec(frame)
      if (rid !== null) this.pending.get(Number(rid[1]))?.()
    }
  }

  static async open(port: number, onDelivery: () => void): Promise<LeanClient> {
    const client = new LeanClient(port, onDelivery)
    await new Promise<void>((resolve, reject) => {
      client.ws.onopen = () => resolve()
      client.ws.onerror = () => reject(new Error(`cannot connect to ${port}`))
    })
    await client.call("#handshake", { authToken: null })
    return client
  }

  call(event: string, data: unknown): Promise<void> {
    const cid = ++this.cid
    return new Promise((resolve) => {
      this.pending.set(cid, resolve)
      this.ws.send(JSON.stringify({ event, data, cid }))
    })
  }

  publish(channel: string, data: unknown): void {
    this.ws.send(JSON.stringify({ event: "#publish", data: { channel, data } }))
  }

  close(): void {
    this.ws.close()
  }
}

/** Runs the closed loop against subscribers spread over `ports`, publishing on the first. */
const measure = async (ports: ReadonlyArray<number>): Promise<number> => {
  const channel = "bench"
  let wake: (() => void) | undefined
  let target = 0
  let delivered = 0
  const onDelivery = () => {
    delivered++
    if (delivered >= target && wake !== undefined) {
      const w = wake
      wake = undefined
      w()
    }
  }
  const clients: Array<LeanClient> = []
  for (let i = 0; i < subscribers; i++) {
    const client = await LeanClient.open(ports[i % ports.length]!, onDelivery)
    await client.call("#subscribe", { channel })
    clients.push(client)
  }
  const publishers: Array<LeanClient> = []
  for (let i = 0; i < publisherCount; i++) publishers.push(await LeanClient.open(ports[0]!, () => {}))
  const start = performance.now()
  let published = 0
  while (performance.now() - start < seconds * 1000) {
    target += batch * subscribers
    const done = new Promise<void>((resolve) => {
      wake = resolve
    })
    for (let i = 0; i < batch; i++) publishers[published % publisherCount]!.publish(channel, { s: published++ })
    const timer = setTimeout(() => {
      throw new Error(`deliveries stalled at ${delivered}/${target}`)
    }, 10_000)
    await done
    clearTimeout(timer)
  }
  const elapsed = (performance.now() - start) / 1000
  for (const client of [...clients, ...publishers]) client.close()
  return delivered / elapsed
}

const redis = await useRedisServer()
const cluster = brokers.includes("cluster") ? await spawnRedisCluster() : undefined
const envOf = (broker: Broker): Record<string, string> =>
  broker === "memory"
    ? { BROKER: "memory" }
    : broker === "redis"
      ? { BROKER_URL: redis.url }
      : { BROKER_CLUSTER_NODES: cluster?.urls.join(",") ?? "" }
const modes = brokers.flatMap((broker) => (["on", "off"] as const).map((history) => ({ broker, history })))
const results = new Map<string, Array<number>>(modes.map((m) => [`${m.broker}/${m.history}`, []]))
try {
  for (let round = 1; round <= rounds; round++) {
    const line: Array<string> = []
    for (const mode of modes) {
      const env = { ...envOf(mode.broker), BROKER_HISTORY: mode.history }
      const servers = await Promise.all(
        Array.from({ length: mode.broker === "memory" ? 1 : 2 }, () => startServer(serverFile, env))
      )
      const rate = await measure(servers.map((s) => s.port))
      await Promise.all(servers.map((s) => s.stop()))
      results.get(`${mode.broker}/${mode.history}`)?.push(rate)
      line.push(`${mode.broker}/${mode.history} ${Math.round(rate)}/s`)
    }
    console.log(`round ${round}: ${line.join(", ")}`)
  }
} finally {
  await redis.stop()
  await cluster?.stop()
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
console.log(
  `\n${subscribers} subscribers, ${publisherCount} publishers, batches of ${batch}, ${seconds} s per run, ${rounds} rounds (median)`
)
console.log("| broker | processes | history | deliveries/s | publications/s | on / off |")
console.log("|---|---|---|---|---|---|")
for (const broker of brokers) {
  const off = median(results.get(`${broker}/off`) ?? [])
  for (const history of ["on", "off"] as const) {
    const rate = median(results.get(`${broker}/${history}`) ?? [])
    const ratio = history === "on" && off > 0 ? `${(rate / off).toFixed(2)}x` : ""
    console.log(
      `| ${broker} | ${broker === "memory" ? 1 : 2} | ${history} | ${Math.round(rate)} | ${Math.round(rate / subscribers)} | ${ratio} |`
    )
  }
}
process.exit(0)
