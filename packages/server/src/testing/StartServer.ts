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
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
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
> => startOn(0, options, extra, broker)

const startOn = <E>(
  port: number,
  options: SCServer.SCServerOptions,
  extra: Layer.Layer<never>,
  broker: Layer.Layer<Broker, E>
): Effect.Effect<
  SCServer.SCServerCore,
  E | BrokerError | InvalidOptionsError | SCServer.ServerStartError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const context = yield* Layer.build(
      SCServer.layer({ authKey: testAuthKey, ...options, port, host: "127.0.0.1" }).pipe(
        Layer.provideMerge(extra),
        Layer.provide(broker)
      )
    )
    const server = Context.get(context, SCServer.SCServer)
    yield* server.broker.ready
    return server
  })

/** A server with a scope of its own, and the effect that closes it. */
export interface StoppableServer {
  readonly server: SCServer.SCServerCore
  /** Closes the server (its sockets, its port, its broker layer); the test goes on. */
  readonly stop: Effect.Effect<void>
}

/**
 * {@link startServer} for a test that stops the server before its own end (to see what
 * clients do when it goes away, or to start another): on loopback `port` (0: a free one;
 * pass the first server's port to bring a second up where clients look for it), in a
 * scope closed by `stop`, not by the test's.
 */
export const startStoppableServer = <E = never>(
  options: SCServer.SCServerOptions = {},
  extra: Layer.Layer<never> = Layer.empty,
  broker: Layer.Layer<Broker, E> = BrokerMemory.layer,
  port = 0
): Effect.Effect<StoppableServer, E | BrokerError | InvalidOptionsError | SCServer.ServerStartError> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const stop = Scope.close(scope, Exit.void)
    const server = yield* startOn(port, options, extra, broker).pipe(
      Scope.provide(scope),
      Effect.onError(() => stop)
    )
    return { server, stop }
  })
