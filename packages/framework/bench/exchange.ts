/**
 * Benchmark (not a test): the exchange data API's get/set round trips per second and
 * pub/sub between two "workers" (two clients of the store/broker in this process),
 * through (1) the framework's broker process, (2) Redis (DataStoreRedis + BrokerRedis),
 * (3) socketcluster@14.4.2's own broker (sc-broker 6, the engine its exchange uses),
 * in one run on the same machine.
 *
 *   ./dev bench:exchange            (DURATION_MS=3000 IN_FLIGHT=64 to change)
 */
import { type ChildProcess, fork } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { BrokerRedis, DataStoreRedis } from "@effect-socketcluster/broker-redis"
import { spawnRedisServer } from "@effect-socketcluster/broker-redis/testing"
import type { Broker, DataStore } from "@effect-socketcluster/server"
import { Effect, Exit, Scope } from "effect"
import { BrokerClient } from "../src/BrokerClient.js"

const durationMs = Number(process.env.DURATION_MS ?? 3000)
const inFlight = Number(process.env.IN_FLIGHT ?? 64)
const require = createRequire(import.meta.url)

interface Target {
  readonly name: string
  readonly set: (key: string, value: unknown) => Promise<unknown>
  readonly get: (key: string) => Promise<unknown>
  /** Subscribes the second client; resolves once subscribed. */
  readonly subscribe: (channel: string, onMessage: () => void) => Promise<void>
  readonly publish: (channel: string, data: unknown) => Promise<unknown>
  readonly close: () => Promise<void>
}

/** `inFlight` loops each running `op` back to back for `durationMs`; operations per second. */
const rate = async (op: (i: number) => Promise<unknown>): Promise<number> => {
  let done = 0
  const end = Date.now() + durationMs
  const start = Date.now()
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      let i = lane
      while (Date.now() < end) {
        await op(i)
        i += inFlight
        done++
      }
    })
  )
  return (done * 1000) / (Date.now() - start)
}

const measure = async (target: Target) => {
  const setGet = await rate(async (i) => {
    const key = `k${i % 1000}`
    await target.set(key, { i, text: "hello" })
    await target.get(key)
  })
  let received = 0
  await target.subscribe("bench", () => {
    received++
  })
  const published = await rate((i) => target.publish("bench", { i }))
  const deadline = Date.now() + 5000
  const expected = Math.floor((published * durationMs) / 1000) - 1
  while (received < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  return {
    name: target.name,
    roundTripsPerSecond: Math.round(setGet * 2),
    publicationsPerSecond: Math.round(published),
    delivered: received
  }
}

const runEffect = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, scope: Scope.Scope) =>
  Effect.runPromise(Scope.provide(scope)(effect))

/** Our Broker + DataStore shapes as a target (two clients: the second one subscribes). */
const fromShapes = (
  name: string,
  first: { broker: Broker.BrokerShape; data: DataStore.DataStoreShape },
  second: { broker: Broker.BrokerShape },
  scope: Scope.Scope,
  close: () => Promise<void>
): Target => ({
  name,
  set: (key, value) => Effect.runPromise(first.data.set(key, value)),
  get: (key) => Effect.runPromise(first.data.get(key)),
  subscribe: (channel, onMessage) =>
    runEffect(
      Effect.gen(function* () {
        yield* second.broker.onPublication(() => onMessage())
        yield* second.broker.subscribe(channel)
      }),
      scope
    ),
  publish: (channel, data) => Effect.runPromise(first.broker.publish(channel, data)),
  close
})

const forkBroker = (socketPath: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const controller = fileURLToPath(new URL("../src/controllers/broker.ts", import.meta.url))
    const options = JSON.stringify({ id: 0, socketPath, secretKey: "bench" })
    const child = fork(controller, [options], {
      execArgv: ["--conditions=@effect-socketcluster/source", "--import", "tsx"]
    })
    child.once("exit", (code) => reject(new Error(`broker exited with ${code}`)))
    child.on("message", (m: unknown) => {
      if (m !== null && typeof m === "object" && Reflect.get(m, "type") === "brokerReady") resolve(child)
    })
  })

const ours = async (dir: string): Promise<Target> => {
  const socketPath = Path.join(dir, "ours-b0")
  const child = await forkBroker(socketPath)
  const a = new BrokerClient([socketPath], "bench")
  const b = new BrokerClient([socketPath], "bench")
  await Promise.all([new Promise<void>((r) => a.whenReady(r)), new Promise<void>((r) => b.whenReady(r))])
  const scope = Scope.makeUnsafe()
  return fromShapes(
    "effect-socketcluster broker process",
    { broker: a.broker(), data: a.dataStore() },
    { broker: b.broker() },
    scope,
    async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      a.close()
      b.close()
      child.kill("SIGTERM")
    }
  )
}

const redis = async (): Promise<Target> => {
  const server = await spawnRedisServer()
  const scope = Scope.makeUnsafe()
  const make = Effect.gen(function* () {
    const data = yield* DataStoreRedis.make({ url: server.url, prefix: "bench:" })
    const broker = yield* BrokerRedis.make({ url: server.url, prefix: "bench:" })
    const other = yield* BrokerRedis.make({ url: server.url, prefix: "bench:" })
    yield* broker.ready
    yield* other.ready
    return { data, broker, other }
  })
  const { data, broker, other } = await runEffect(make, scope)
  return fromShapes("effect-socketcluster on Redis", { broker, data }, { broker: other }, scope, async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await server.stop()
  })
}

interface ScBrokerClient {
  set(key: string, value: unknown, cb: (e: unknown) => void): void
  get(key: string, cb: (e: unknown, v: unknown) => void): void
  publish(channel: string, value: unknown, cb: (e: unknown) => void): void
  subscribe(channel: string, cb: (e: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  once(event: string, listener: (...args: Array<unknown>) => void): void
  destroy?: () => void
}
interface ScBrokerModule {
  createServer(options: Record<string, unknown>): { once(e: string, l: () => void): void; destroy(): void }
  createClient(options: Record<string, unknown>): ScBrokerClient
}

const original = async (dir: string): Promise<Target> => {
  const fromSc = createRequire(require.resolve("socketcluster-14.4.2"))
  const fromCluster = createRequire(fromSc.resolve("sc-broker-cluster"))
  const scBroker: ScBrokerModule = fromCluster("sc-broker")
  const socketPath = Path.join(dir, "orig-b0")
  const server = scBroker.createServer({ id: 0, socketPath, secretKey: "bench", expiryAccuracy: 5000 })
  await new Promise<void>((resolve) => server.once("ready", resolve))
  const a = scBroker.createClient({ socketPath, secretKey: "bench" })
  const b = scBroker.createClient({ socketPath, secretKey: "bench" })
  await Promise.all([a, b].map((c) => new Promise<void>((resolve) => c.once("ready", () => resolve()))))
  const cb = <A>(f: (done: (e: unknown, v?: A) => void) => void) =>
    new Promise<A | undefined>((resolve, reject) => f((e, v) => (e ? reject(e) : resolve(v))))
  return {
    name: "socketcluster@14.4.2 (sc-broker 6)",
    set: (key, value) => cb((done) => a.set(key, value, done)),
    get: (key) => cb((done) => a.get(key, done)),
    subscribe: (channel, onMessage) => {
      b.on("message", () => onMessage())
      return cb((done) => b.subscribe(channel, done)).then(() => {})
    },
    publish: (channel, data) => cb((done) => a.publish(channel, data, done)),
    close: async () => server.destroy()
  }
}

const main = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "sc-bench-"))
  const results: Array<Awaited<ReturnType<typeof measure>>> = []
  try {
    for (const build of [() => ours(dir), () => redis(), () => original(dir)]) {
      const target = await build()
      try {
        results.push(await measure(target))
      } finally {
        await target.close()
      }
    }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log(
    `exchange benchmark: ${durationMs} ms per measure, ${inFlight} in flight, Node ${process.version}, ${Os.cpus().length} CPUs`
  )
  console.table(results)
  process.exit(0)
}

void main()
