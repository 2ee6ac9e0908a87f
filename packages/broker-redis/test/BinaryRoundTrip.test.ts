/**
 * Binary data and unicode through Redis: the broker hands back the very value that was
 * published (Buffers as Buffers), and clients and exchange watchers of a Redis-backed
 * server see exactly what they see with the in-memory broker.
 */
import { assert, describe, it } from "@effect/vitest"
import { TestServer } from "@effect-socketcluster/client/testing"
import { Broker, BrokerMemory } from "@effect-socketcluster/server"
import { Effect, Fiber, Layer, Queue, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as BrokerRedis from "../src/BrokerRedis.js"
import { type RedisServer, useRedisServer } from "../src/testing/RedisServer.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await useRedisServer()
})
afterAll(() => redis.stop())

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
const unicode = "héllo ✓ 😀 中文 \u0000 \u2028 \ud83c\udff3\ufe0f\u200d\ud83c\udf08"

describe("binary and unicode payloads through Redis", () => {
  it.live("come back from the broker as the same values", () =>
    Effect.gen(function* () {
      const broker = yield* Broker.Broker
      yield* broker.ready
      const inbox = yield* Queue.unbounded<unknown>()
      yield* broker.onPublication((_, data) => Queue.offerUnsafe(inbox, data))
      const channel = `bin-${unicode}`
      yield* broker.subscribe(channel)
      const value = { text: unicode, bytes: allBytes, nested: [allBytes.subarray(250), { deeper: Buffer.alloc(0) }] }
      yield* broker.publish(channel, value)
      const received = yield* Queue.take(inbox)
      assert.deepStrictEqual(received, value)
      assert.isTrue(Buffer.isBuffer((received as typeof value).bytes))
    }).pipe(Effect.provide(Layer.unwrap(Effect.sync(() => BrokerRedis.layer({ url: redis.url }))), { local: true }))
  )

  it.live("reach clients and exchange watchers exactly as with the memory broker", () =>
    Effect.gen(function* () {
      // The same scenario on a server with each broker: a client publishes, the server publishes a Buffer.
      const scenario = (broker: Layer.Layer<Broker.Broker>) =>
        Effect.gen(function* () {
          const { server } = yield* TestServer.TestServer
          const channel = `payloads-${unicode}`
          const watched = yield* server.exchange.subscribe(channel)
          const watcher = yield* watched.messages.pipe(Stream.take(3), Stream.runCollect, Effect.forkScoped)
          const [subscriber, publisher] = yield* TestServer.clients(2)
          const received = yield* subscriber!.subscription(channel)
          yield* publisher!.publish(channel, { text: unicode, n: 1 })
          yield* publisher!.publish(channel, { bin: allBytes.subarray(0, 8) })
          yield* server.exchange.publish(channel, { text: unicode, bin: allBytes })
          return { client: yield* Stream.runCollect(Stream.take(received, 3)), watcher: yield* Fiber.join(watcher) }
        }).pipe(Effect.scoped, Effect.provide(TestServer.layer({}, broker)))

      const memory = yield* scenario(BrokerMemory.layer)
      const viaRedis = yield* scenario(BrokerRedis.layer({ url: redis.url }))
      assert.deepStrictEqual(viaRedis, memory)
      // And what that is: the SocketCluster binary form on the wire, the Buffer server-side.
      assert.deepStrictEqual(viaRedis.client[2], {
        text: unicode,
        bin: { base64: true, data: allBytes.toString("base64") }
      })
      assert.deepStrictEqual(viaRedis.watcher[2], { text: unicode, bin: allBytes })
    })
  )
})
