import { assert, describe, it } from "@effect/vitest"
import { Broker, BrokerMemory, DataStoreMemory } from "@effect-socketcluster/server"
import { runDataStoreConformance, startServer } from "@effect-socketcluster/server/testing"
import { Effect, Layer, Logger } from "effect"

runDataStoreConformance("memory", DataStoreMemory.layer({ expiryAccuracy: "100 millis" }))

// The warnings logged while `effect` runs, and what it returned.
const warnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const logged: Array<string> = []
    const logger = Logger.make((options) => {
      if (options.logLevel === "Warn") logged.push(String(options.message))
    })
    const value = yield* effect.pipe(Effect.provide(Logger.layer([logger])))
    return { logged, value }
  })

// A broker that does not declare itself process-local, as Redis or broker processes.
const SharedBroker = Layer.effect(
  Broker.Broker,
  Effect.map(BrokerMemory.make, (broker) => ({ ...broker, processLocal: undefined }))
)

describe("the DataStore default", () => {
  it.effect("beside a shared broker the server keeps the data in memory and warns, naming the fix", () =>
    Effect.gen(function* () {
      const { logged, value } = yield* warnings(startServer({}, Layer.empty, SharedBroker))
      assert.deepStrictEqual(logged, [DataStoreMemory.defaultDataStoreWarning])
      assert.include(logged[0], "DataStoreRedis.layer")
      // The default store works.
      yield* value.exchange.set("k", 1)
      assert.strictEqual(yield* value.exchange.get("k"), 1)
    }).pipe(Effect.scoped)
  )

  it.effect("beside the in-memory broker, or with a DataStore provided, it says nothing", () =>
    Effect.gen(function* () {
      const local = yield* warnings(startServer({}, Layer.empty, BrokerMemory.layer))
      assert.deepStrictEqual(local.logged, [])
      const provided = yield* warnings(startServer({}, DataStoreMemory.layer(), SharedBroker))
      assert.deepStrictEqual(provided.logged, [])
    }).pipe(Effect.scoped)
  )

  it.effect("make() alone, without a broker in the context, says nothing", () =>
    Effect.gen(function* () {
      const { logged } = yield* warnings(DataStoreMemory.make())
      assert.deepStrictEqual(logged, [])
    }).pipe(Effect.scoped)
  )
})
