/**
 * `--broker`: with a Redis URL, the exchange's data API is shared through Redis like
 * pub/sub is (two builds of the layer stand for two workers or hosts); with the memory
 * broker, each process keeps its own data.
 */
import { assert, describe, it } from "@effect/vitest"
import { DataStore } from "@effect-socketcluster/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { afterAll, beforeAll } from "vitest"
import { BrokerChoice } from "../src/index.js"
import { type RedisServer, useRedis } from "./cliProcess.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await useRedis()
})
afterAll(() => redis.stop())

/** The data store of one build of `BrokerChoice.layer(url, prefix)`, as one process would have it. */
const storeOf = (url: string | undefined, prefix: string) =>
  Layer.build(BrokerChoice.layer(url, prefix)).pipe(Effect.map((context) => Context.get(context, DataStore.DataStore)))

describe("BrokerChoice.layer", () => {
  it.effect("a Redis URL: what one process sets, another reads", () =>
    Effect.gen(function* () {
      const prefix = `choice-${process.pid}:`
      const first = yield* storeOf(redis.url, prefix)
      const second = yield* storeOf(redis.url, prefix)
      yield* first.set(["scores", "ada"], 3)
      assert.strictEqual(yield* second.get(["scores", "ada"]), 3)
      yield* second.add(["rooms"], "lobby")
      assert.deepStrictEqual(yield* first.get(["rooms"]), ["lobby"])
    }).pipe(Effect.scoped)
  )

  it.effect("the memory broker: each process keeps its own data", () =>
    Effect.gen(function* () {
      const first = yield* storeOf(undefined, "sc:")
      const second = yield* storeOf(undefined, "sc:")
      yield* first.set(["scores", "ada"], 3)
      assert.strictEqual(yield* first.get(["scores", "ada"]), 3)
      assert.strictEqual(yield* second.get(["scores", "ada"]), undefined)
    }).pipe(Effect.scoped)
  )
})
