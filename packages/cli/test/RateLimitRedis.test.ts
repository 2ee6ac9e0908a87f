/**
 * The rateLimit middleware recipe with the Redis store: two server processes' worth of
 * servers (two SCServer layers) share one limiter in a real redis-server, so a user's
 * requests count against one budget whichever server they reach.
 */

import { createRequire } from "node:module"
import { NodeRedis } from "@effect/platform-node"
import { BrokerMemory, RateLimit, SCServer } from "@effect-socketcluster/server"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { RateLimiter } from "effect/persistence"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type RedisServer, useRedis } from "./cliProcess.js"

const require = createRequire(import.meta.url)

interface Client {
  emit(
    event: string,
    data: unknown,
    callback: (error: { name: string; retryAfter?: number } | null, data: unknown) => void
  ): void
  once(event: string, listener: () => void): void
  destroy(): void
}
const scClient: { create(options: Record<string, unknown>): Client } = require("socketcluster-client")

let redis: RedisServer
beforeAll(async () => {
  redis = await useRedis()
})
afterAll(() => redis.stop())

/** A server whose `echo` is limited to 3 per minute per `user`, counted in Redis. */
const limitedServer = (scope: Scope.Scope, url: string, prefix: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const Store = RateLimiter.layer.pipe(
        Layer.provide(RateLimiter.layerStoreRedis({ prefix })),
        Layer.provide(NodeRedis.layer({ url }))
      )
      const Server = SCServer.layer({ port: 0, host: "127.0.0.1", authKey: "k".repeat(40) }).pipe(
        Layer.provide(BrokerMemory.layer)
      )
      const Limited = RateLimit.layer("emit", {
        limit: 3,
        window: "1 minute",
        key: (req) => `user:${String((req.data as { user: string }).user)}`
      })
      const context = yield* Layer.buildWithScope(Limited.pipe(Layer.provideMerge(Server), Layer.provide(Store)), scope)
      const server = Context.get(context, SCServer.SCServer)
      yield* server.handle("echo", (data) => Effect.succeed(data))
      return server
    })
  )

const connect = (port: number): Promise<Client> =>
  new Promise((resolve) => {
    const client = scClient.create({ hostname: "127.0.0.1", port, autoReconnect: false, multiplex: false })
    client.once("connect", () => resolve(client))
  })

const echo = (client: Client, user: string) =>
  new Promise<string>((resolve) =>
    client.emit("echo", { user }, (error) => resolve(error === null ? "ok" : error.name))
  )

describe("rateLimit middleware with the Redis store", () => {
  it("two servers share one budget per user through Redis", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const prefix = `rl-test-${Date.now()}:`
      const a = await limitedServer(scope, redis.url, prefix)
      const b = await limitedServer(scope, redis.url, prefix)
      const onA = await connect(a.sourcePort!)
      const onB = await connect(b.sourcePort!)
      try {
        const answers = [
          await echo(onA, "ann"),
          await echo(onB, "ann"),
          await echo(onA, "ann"),
          await echo(onB, "ann"),
          await echo(onA, "bob")
        ]
        // Ann's fourth request is refused on server B although B saw only her second;
        // Bob has his own budget.
        assert.deepStrictEqual(answers, ["ok", "ok", "ok", "RateLimitExceeded", "ok"])
      } finally {
        onA.destroy()
        onB.destroy()
      }
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
