import { conformanceHistory, runBrokerConformance } from "@effect-socketcluster/server/testing"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as BrokerRedis from "../src/BrokerRedis.js"
import { type RedisServer, useRedisServer } from "../src/testing/RedisServer.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await useRedisServer()
})
afterAll(() => redis.stop())

// Built per test, after beforeAll started the server: the URL is read lazily.
runBrokerConformance(
  "BrokerRedis",
  Layer.unwrap(Effect.sync(() => BrokerRedis.layer({ url: redis.url, history: conformanceHistory })))
)
