/**
 * The rateLimit middleware recipe with the Redis store: two server processes' worth of
 * servers (two SCServer layers) share one limiter in a real redis-server, so a user's
 * requests count against one budget whichever server they reach.
 */

import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { RateLimit, SCServer } from "@effect-socketcluster/server"
import { startServer } from "@effect-socketcluster/server/testing"
import { Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import { afterAll, beforeAll } from "vitest"
import { type RedisServer, useRedis } from "./cliProcess.js"
import { type ClientSocket, connectClient } from "./harness.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await useRedis()
})
afterAll(() => redis.stop())

/** A server whose `echo` is limited to 3 per minute per `user`, counted in Redis under `prefix`. */
const limitedServer = (prefix: string) =>
  Effect.gen(function* () {
    const server = yield* startServer()
    const Store = RateLimiter.layer.pipe(
      Layer.provide(RateLimiter.layerStoreRedis({ prefix })),
      Layer.provide(NodeRedis.layer({ url: redis.url }))
    )
    const Limited = RateLimit.layer("emit", {
      limit: 3,
      window: "1 minute",
      key: (req) => `user:${String((req.data as { user: string }).user)}`
    })
    yield* Layer.build(Limited.pipe(Layer.provide(Store))).pipe(Effect.provideService(SCServer.SCServer, server))
    yield* server.handle("echo", (data) => Effect.succeed(data))
    return server
  })

/** A v14 client on `server`, destroyed with the scope. */
const client = (server: SCServer.SCServerCore) =>
  Effect.acquireRelease(
    Effect.promise(() => connectClient(server.sourcePort ?? 0)),
    (c) => Effect.sync(() => c.destroy())
  )

/** "ok", or the name of the error the server answered with. */
const echo = (client: ClientSocket, user: string) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) =>
        client.emit("echo", { user }, (error) =>
          resolve(error === null ? "ok" : error instanceof Error ? error.name : `not an Error: ${String(error)}`)
        )
      )
  )

describe("rateLimit middleware with the Redis store", () => {
  it.live("two servers share one budget per user through Redis", () =>
    Effect.gen(function* () {
      const prefix = `rl-test-${Date.now()}:`
      const onA = yield* client(yield* limitedServer(prefix))
      const onB = yield* client(yield* limitedServer(prefix))
      const answers = [
        yield* echo(onA, "ann"),
        yield* echo(onB, "ann"),
        yield* echo(onA, "ann"),
        yield* echo(onB, "ann"),
        yield* echo(onA, "bob")
      ]
      // Ann's fourth request is refused on server B although B saw only her second;
      // Bob has his own budget.
      assert.deepStrictEqual(answers, ["ok", "ok", "ok", "RateLimitExceeded", "ok"])
    }).pipe(Effect.scoped)
  )
})
