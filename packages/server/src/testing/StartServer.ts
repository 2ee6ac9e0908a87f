/**
 * A real server for tests: listening on a free loopback port (port 0, `127.0.0.1`) for
 * the enclosing scope, on the broker you pass (the in-memory one by default), its broker
 * ready before it is returned.
 *
 * @example
 * ```ts
 * import { startServer } from "@effect-socketcluster/server/testing"
 * const server = yield* startServer({ slowConsumerTimeout: 1000 }, Layer.empty, BrokerRedis.layer({ url }))
 * // connect clients to server.sourcePort
 * ```
 */
import type { BrokerError, InvalidOptionsError } from "@effect-socketcluster/protocol"
import { Context, Effect, Layer, type Scope } from "effect"
import type { Broker } from "../Broker.js"
import * as BrokerMemory from "../BrokerMemory.js"
import * as SCServer from "../SCServer.js"

/** The JWT key of test servers (a test that needs another passes `authKey`). */
export const testAuthKey = "test-key-0123456789abcdef0123456789abcdef"

/**
 * Starts a server for the enclosing scope. `extra`: services the server uses (a `Codec`,
 * an `AuthEngine`, ...); `broker`: its broker layer.
 */
export const startServer = <E = never>(
  options: SCServer.SCServerOptions = {},
  extra: Layer.Layer<never> = Layer.empty,
  broker: Layer.Layer<Broker, E> = BrokerMemory.layer
): Effect.Effect<
  SCServer.SCServerCore,
  E | BrokerError | InvalidOptionsError | SCServer.ServerStartError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      SCServer.layer({ authKey: testAuthKey, ...options, port: 0, host: "127.0.0.1" }).pipe(
        Layer.provideMerge(extra),
        Layer.provide(broker)
      )
    )
    const server = Context.get(context, SCServer.SCServer)
    yield* server.broker.ready
    return server
  })
