/**
 * A layer that starts the project's `SCServer` on `127.0.0.1`, port 0, and gives
 * connected `SCClient`s for it (over the `ws` package, so tests work whether or not the
 * runtime has a global `WebSocket`).
 *
 * @since 0.1.0
 */

import * as NodeWS from "@effect/platform-node/NodeWS"
import type { InvalidOptionsError } from "@effect-socketcluster/protocol"
import { type Broker, BrokerMemory, SCServer } from "@effect-socketcluster/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ConnectError } from "../ClientError.js"
import type { ClientOptions } from "../ClientOptions.js"
import * as SCClient from "../SCClient.js"

/**
 * The running test server and its WebSocket URL.
 *
 * @since 0.1.0
 */
export class TestServer extends Context.Service<
  TestServer,
  {
    readonly server: SCServer.SCServerCore
    readonly port: number
    readonly url: string
  }
>()("@effect-socketcluster/client/testing/TestServer") {}

/**
 * The WebSocket URL of a SocketCluster server on `127.0.0.1:port` (default path).
 *
 * @since 0.1.0
 */
export const urlFor = (port: number, path = "/socketcluster/"): string => `ws://127.0.0.1:${port}${path}`

/**
 * A server for the layer's lifetime, with the given options (`port` and `host` are
 * always 0 and `127.0.0.1`) and `broker` (default: the in-memory broker). Provides
 * `SCServer.SCServer` too, so the app's own layers (handlers, middleware) can be built on it.
 *
 * @example
 * ```ts
 * const Redis = TestServer.layer({}, BrokerRedis.layer({ url }))
 * ```
 * @since 0.1.0
 */
export const layer = <E = never>(
  options: SCServer.SCServerOptions = {},
  broker: Layer.Layer<Broker.Broker, E> = BrokerMemory.layer
): Layer.Layer<TestServer | SCServer.SCServer, E | InvalidOptionsError | SCServer.ServerStartError> =>
  Layer.effect(
    TestServer,
    Effect.gen(function* () {
      const server = yield* SCServer.SCServer
      const port = server.sourcePort ?? 0
      return { server, port, url: urlFor(port, server.getPath()) }
    })
  ).pipe(Layer.provideMerge(SCServer.layer({ ...options, port: 0, host: "127.0.0.1" }).pipe(Layer.provide(broker))))

/**
 * A client connected to `url` (any SocketCluster server), over the `ws` package.
 *
 * @since 0.1.0
 */
export const connect = (
  url: string,
  options?: ClientOptions
): Effect.Effect<SCClient.Client, ConnectError, Scope.Scope> =>
  SCClient.connect(url, options).pipe(Effect.provide(NodeWS.layerWebSocketConstructor))

/**
 * A client connected to the test server; reconnection is off unless `options` say
 * otherwise, so a test sees every drop. Disconnects when the scope closes.
 *
 * @since 0.1.0
 */
export const client = (
  options?: ClientOptions
): Effect.Effect<SCClient.Client, ConnectError, Scope.Scope | TestServer> =>
  TestServer.use(({ url }) => connect(url, { reconnect: false, ...options }))

/**
 * `count` clients connected to the test server at once.
 *
 * @since 0.1.0
 */
export const clients = (
  count: number,
  options?: ClientOptions
): Effect.Effect<ReadonlyArray<SCClient.Client>, ConnectError, Scope.Scope | TestServer> =>
  Effect.all(
    Array.from({ length: count }, () => client(options)),
    { concurrency: "unbounded" }
  )
