/**
 * What the conformance suite cannot see: how the broker uses Redis (two connections,
 * batched SUBSCRIBE, key prefix), its readiness when Redis is absent, and its config.
 */
import { assert, describe, it } from "@effect/vitest"
import { Broker } from "@effect-socketcluster/server"
import { ConfigProvider, Context, Effect, Fiber, Layer, Queue, Schedule, Stream } from "effect"
import { createClient } from "redis"
import { afterAll, beforeAll } from "vitest"
import * as BrokerRedis from "../src/BrokerRedis.js"
import { type RedisServer, spawnRedisServer } from "../src/testing/RedisServer.js"

// A private server: these tests read server-wide statistics.
let redis: RedisServer
beforeAll(async () => {
  redis = await spawnRedisServer()
})
afterAll(() => redis.stop())

/** A plain node-redis connection for looking at the server from outside. */
const inspector = Effect.acquireRelease(
  Effect.promise(() => createClient({ url: redis.url }).connect()),
  (client) => Effect.promise(() => client.close())
)

const commandCalls = (info: string, command: string): number => {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)
  return match === null ? 0 : Number(match[1])
}

const brokerLayer = (options: Partial<BrokerRedis.BrokerRedisOptions> = {}) =>
  Layer.unwrap(Effect.sync(() => BrokerRedis.layer({ url: redis.url, ...options })))

describe("BrokerRedis", () => {
  it.live("uses one publishing and one subscriber connection, and one SUBSCRIBE for a burst of channels", () =>
    Effect.gen(function* () {
      const outside = yield* inspector
      const broker = yield* Broker.Broker
      yield* broker.ready
      const before = yield* Effect.promise(() => outside.info("commandstats"))
      const channels = Array.from({ length: 1_000 }, (_, i) => `burst-${i}`)
      yield* Effect.forEach(channels, (channel) => broker.subscribe(channel), { concurrency: "unbounded" })
      const after = yield* Effect.promise(() => outside.info("commandstats"))
      assert.strictEqual(commandCalls(after, "subscribe") - commandCalls(before, "subscribe"), 1)
      const counts = yield* Effect.promise(() => outside.pubSubNumSub(["sc:burst-0", "sc:burst-999"]))
      assert.deepStrictEqual({ ...counts }, { "sc:burst-0": 1, "sc:burst-999": 1 })
      // This broker's two connections plus the inspector.
      const clients = yield* Effect.promise(() => outside.clientList())
      assert.strictEqual(clients.length, 3)

      yield* Effect.forEach(channels, (channel) => broker.unsubscribe(channel), { concurrency: "unbounded" })
      const done = yield* Effect.promise(() => outside.info("commandstats"))
      assert.strictEqual(commandCalls(done, "unsubscribe") - commandCalls(after, "unsubscribe"), 1)
      const left = yield* Effect.promise(() => outside.pubSubNumSub(["sc:burst-0"]))
      assert.deepStrictEqual({ ...left }, { "sc:burst-0": 0 })
    }).pipe(Effect.provide(brokerLayer(), { local: true }))
  )

  it.live("keeps apps with different prefixes apart on one Redis", () =>
    Effect.gen(function* () {
      const appA = yield* Layer.build(brokerLayer({ prefix: "appA:" }))
      const appB = yield* Layer.build(brokerLayer({ prefix: "appB:" }))
      const brokerA = Context.get(appA, Broker.Broker)
      const brokerB = Context.get(appB, Broker.Broker)
      yield* brokerA.ready
      yield* brokerB.ready
      const inboxA = yield* Queue.unbounded<unknown>()
      const inboxB = yield* Queue.unbounded<unknown>()
      yield* brokerA.onPublication((channel, data) => Queue.offerUnsafe(inboxA, [channel, data]))
      yield* brokerB.onPublication((channel, data) => Queue.offerUnsafe(inboxB, [channel, data]))
      yield* brokerA.subscribe("news")
      yield* brokerB.subscribe("news")
      yield* brokerA.publish("news", "for A")
      yield* brokerB.publish("news", "for B")
      assert.deepStrictEqual(yield* Queue.take(inboxA), ["news", "for A"])
      assert.deepStrictEqual(yield* Queue.take(inboxB), ["news", "for B"])
      // Nothing crossed over: the next item in A's inbox is A's own marker.
      yield* brokerA.publish("news", "marker")
      assert.deepStrictEqual(yield* Queue.take(inboxA), ["news", "marker"])
    })
  )

  it.live("fails ready, subscribe and publish with BrokerError while Redis is unreachable", () =>
    Effect.gen(function* () {
      const broker = yield* Broker.Broker
      const ready = yield* Effect.flip(broker.ready)
      assert.strictEqual(ready._tag, "BrokerError")
      assert.strictEqual((yield* Effect.flip(broker.subscribe("x")))._tag, "BrokerError")
      assert.strictEqual((yield* Effect.flip(broker.publish("x", 1)))._tag, "BrokerError")
    }).pipe(
      Effect.provide(
        // Port 1 on loopback: connection refused at once.
        BrokerRedis.layer({
          url: "redis://127.0.0.1:1",
          connectTimeout: "300 millis",
          reconnect: Schedule.spaced("50 millis")
        }),
        { local: true }
      )
    )
  )

  it.live("serves subscribe and publish made before Redis came up once it does", () =>
    Effect.gen(function* () {
      const late = yield* Effect.acquireRelease(Effect.promise(spawnRedisServer), (r) => Effect.promise(r.stop))
      yield* Effect.promise(late.stop)
      const context = yield* Layer.build(BrokerRedis.layer({ url: late.url, reconnect: Schedule.spaced("20 millis") }))
      const broker = Context.get(context, Broker.Broker)
      const inbox = yield* Queue.unbounded<unknown>()
      yield* broker.onPublication((_, data) => Queue.offerUnsafe(inbox, data))
      const notices = yield* broker.notices.pipe(Stream.take(1), Stream.runCollect, Effect.forkScoped)
      const early = yield* Effect.forkScoped(
        Effect.andThen(broker.subscribe("early"), broker.publish("early", "first"))
      )
      yield* Effect.promise(late.restart)
      yield* Fiber.join(early)
      assert.strictEqual(yield* Queue.take(inbox), "first")
      // Coming up is not a recovery: no notice until an outage happens.
      yield* Effect.promise(late.stop)
      const [lost] = yield* Fiber.join(notices)
      assert.strictEqual(lost?._tag, "ConnectionLost")
    })
  )

  it.live("reads BROKER_URL and BROKER_PREFIX through layerConfig", () =>
    Effect.gen(function* () {
      const outside = yield* inspector
      const broker = yield* Broker.Broker
      yield* broker.ready
      yield* broker.subscribe("configured")
      const counts = yield* Effect.promise(() => outside.pubSubNumSub(["cfg:configured"]))
      assert.deepStrictEqual({ ...counts }, { "cfg:configured": 1 })
    }).pipe(
      Effect.provide(
        Layer.unwrap(
          Effect.sync(() =>
            BrokerRedis.layerConfig.pipe(
              Layer.provide(
                ConfigProvider.layer(ConfigProvider.fromUnknown({ BROKER_URL: redis.url, BROKER_PREFIX: "cfg:" }))
              )
            )
          )
        ),
        { local: true }
      )
    )
  )
})
