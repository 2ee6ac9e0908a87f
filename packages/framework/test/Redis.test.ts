/**
 * Across hosts: the framework with `redisUrl` keeps pub/sub and the exchange data in
 * Redis. Workers of one master chat and share state through it, and another "host" (an
 * Effect-native BrokerRedis + DataStoreRedis on the same Redis, in this process) sees
 * the same publications and data.
 */
import { BrokerRedis, DataStoreRedis } from "@effect-socketcluster/broker-redis"
import { type RedisServer, spawnRedisServer } from "@effect-socketcluster/broker-redis/testing"
import { Effect, Queue } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ClientSocket, clientPerWorker, invoke, type Master, startApp, subscribed } from "./apps.js"

describe("framework with redisUrl: workers 2, brokers 1", () => {
  let redis: RedisServer
  let master: Master
  let byWorker = new Map<number, ClientSocket>()

  beforeAll(async () => {
    redis = await spawnRedisServer()
    const app = await startApp("chat", { env: { WORKERS: "2", BROKERS: "1", REDIS_URL: redis.url } })
    master = app.master
    byWorker = await clientPerWorker(app.port, 2)
    expect([...byWorker.keys()].sort()).toEqual([0, 1])
  }, 90_000)
  afterAll(async () => {
    await master?.stop()
    await redis?.stop()
  })

  it("workers chat and share data through Redis, and another host sees both", async () => {
    const a = byWorker.get(0) as ClientSocket
    const b = byWorker.get(1) as ClientSocket
    const got: Array<unknown> = []
    await subscribed(b, "lobby", (m) => got.push(m))
    const elsewhere = Effect.gen(function* () {
      const broker = yield* BrokerRedis.make({ url: redis.url })
      const data = yield* DataStoreRedis.make({ url: redis.url })
      const inbox = yield* Queue.unbounded<unknown>()
      yield* broker.onPublication((_, d) => {
        Queue.offerUnsafe(inbox, d)
      })
      yield* broker.subscribe("lobby")
      yield* Effect.promise(
        () => new Promise<void>((resolve, reject) => a.publish("lobby", "hello", (e) => (e ? reject(e) : resolve())))
      )
      const heard = yield* Queue.take(inbox).pipe(Effect.timeout("10 seconds"))
      yield* Effect.promise(() => invoke(a, "data", ["set", ["room", "topic"], "cats"]))
      const seen = yield* data.get(["room", "topic"])
      yield* data.add(["room", "members"], "from-another-host")
      return { heard, seen }
    }).pipe(Effect.scoped)
    const { heard, seen } = await Effect.runPromise(elsewhere)
    expect(heard).toBe("hello")
    expect(seen).toBe("cats")
    await expect.poll(() => got).toEqual(["hello"])
    expect(await invoke(b, "data", ["get", "room"])).toEqual([null, { topic: "cats", members: ["from-another-host"] }])
  }, 30_000)

  it("exec and send still go to this host's broker processes (Redis runs no app code)", async () => {
    const a = byWorker.get(0) as ClientSocket
    // exec takes a query's source too; the query sees the broker's own (empty) data map, not Redis.
    expect(await invoke(a, "data", ["exec", "function (dataMap) { return [40 + 2, dataMap.get(['room'])] }"])).toEqual([
      null,
      [42, null]
    ])
    expect(await invoke(a, "askBrokers", "hi")).toEqual([null, [{ broker: 0, got: "hi", custom: "hello" }]])
  })
})
