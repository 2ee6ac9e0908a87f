/**
 * The data-store conformance suite on a real redis-server, plus what it cannot see:
 * concurrent writers on one key lose nothing (the compare-and-set script), and two
 * stores (two hosts) see each other's data.
 */
import { assert, it } from "@effect/vitest"
import { runDataStoreConformance } from "@effect-socketcluster/server/testing"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as DataStoreRedis from "../src/DataStoreRedis.js"
import { type RedisServer, spawnRedisServer } from "../src/testing/RedisServer.js"

let redis: RedisServer | undefined
beforeAll(async () => {
  redis = await spawnRedisServer()
})
afterAll(() => redis?.stop())

const store = (prefix: string) =>
  Layer.suspend(() => {
    if (redis === undefined) throw new Error("redis-server not started")
    return DataStoreRedis.layer({ url: redis.url, prefix, expiryAccuracy: "100 millis" })
  })

runDataStoreConformance("redis", store("conf:"))

it.live("two stores on one Redis (two hosts) share data, and concurrent adds lose nothing", () =>
  Effect.gen(function* () {
    const [a, b] = yield* Effect.all([
      DataStoreRedis.make({ url: redis?.url ?? "", prefix: "two:" }),
      DataStoreRedis.make({ url: redis?.url ?? "", prefix: "two:" })
    ])
    yield* a.set(["room", "topic"], "cats")
    assert.deepStrictEqual(yield* b.get("room"), { topic: "cats" })
    yield* Effect.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).add(["room", "log"], i)),
      { concurrency: "unbounded" }
    )
    const log = (yield* a.get(["room", "log"])) as Array<number>
    assert.deepStrictEqual(
      [...log].sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i)
    )
    yield* b.removeAll
    assert.strictEqual(yield* a.hasKey("room"), false)
  }).pipe(Effect.scoped)
)
