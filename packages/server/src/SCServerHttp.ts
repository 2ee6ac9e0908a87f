/**
 * SocketCluster inside an Effect HTTP app: the upgrade handler any `HttpRouter` can
 * mount, the router layer, and a `serve` that shuts the sockets down before the HTTP
 * server's graceful close.
 *
 * @example
 * ```ts
 * const Health = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))
 * const App = SCServerHttp.serve(Layer.mergeAll(Health, SCServerHttp.layerRouter({}))).pipe(
 *   Layer.provide(BrokerMemory.layer),
 *   Layer.provide(NodeHttpServer.layer(Http.createServer, { port: 8000 }))
 * )
 * ```
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import type { InvalidOptionsError } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import type { Broker } from "./Broker.js"
import { make, SCServer, type SCServerCore, type SCServerOptions, type ServerStartError } from "./SCServer.js"

/**
 * The WebSocket endpoint as an HTTP handler any `HttpRouter` can mount, on any path: it
 * hands the upgrade to the server (capacity, origins, handshakeWS middleware, then the
 * WebSocket handshake) and completes when the connection closes, so a request fiber
 * lives exactly as long as its socket.
 *
 * It needs an `HttpServerRequest` from `@effect/platform-node`'s `NodeHttpServer`
 * (other platforms answer 501): the socket writer relies on `ws` for write coalescing,
 * pre-encoded fan-out frames and `bufferedAmount` back-pressure, which Effect's
 * `Socket` does not expose.
 *
 * @example
 * ```ts
 * const Route = HttpRouter.use((router) => router.add("GET", "/ws", SCServerHttp.upgrade))
 * ```
 */
export const upgrade: Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest | SCServer
> = Effect.gen(function* () {
  const core = yield* SCServer
  const request = yield* HttpServerRequest.HttpServerRequest
  return yield* upgradeWith(core, request)
})

const upgradeWith = (
  core: SCServerCore,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.suspend(() => {
    const incoming = request.source
    if (!(incoming instanceof Http.IncomingMessage)) {
      return Effect.succeed(
        HttpServerResponse.text("SocketCluster upgrades need @effect/platform-node's NodeHttpServer", { status: 501 })
      )
    }
    if (incoming.headers.upgrade?.toLowerCase() !== "websocket") {
      return Effect.succeed(HttpServerResponse.text("Bad Request", { status: 400 }))
    }
    const socket = incoming.socket
    socket.on("error", () => socket.destroy())
    core.admit(incoming, socket, Buffer.alloc(0))
    // The connection belongs to `ws` now; the response below is never written (the socket is gone).
    return Effect.as(untilClosed(socket), upgradedResponse)
  })

const upgradedResponse = HttpServerResponse.empty({ status: 101 })

const untilClosed = (socket: Duplex): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (socket.destroyed) return resume(Effect.void)
    const onClose = () => resume(Effect.void)
    socket.once("close", onClose)
    return Effect.sync(() => {
      socket.off("close", onClose)
    })
  })

/**
 * A server that joins an Effect HTTP app: `upgrade` mounted on the server's `path` of the
 * app's `HttpRouter`, so the app's routes and SocketCluster share one port. Serve the app
 * with {@link serve} so that shutdown closes the sockets (1001) before the HTTP server's
 * graceful close, which otherwise waits for them (20 s by default).
 *
 * @example
 * ```ts
 * const Health = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))
 * const App = SCServerHttp.serve(Layer.mergeAll(Health, SCServerHttp.layerRouter({}))).pipe(
 *   Layer.provide(BrokerMemory.layer),
 *   Layer.provide(NodeHttpServer.layer(Http.createServer, { port: 8000 }))
 * )
 * ```
 */
export const layerRouter = (
  options: SCServerOptions = {}
): Layer.Layer<SCServer, InvalidOptionsError | ServerStartError, HttpRouter.HttpRouter | Broker> =>
  Layer.effect(
    SCServer,
    Effect.gen(function* () {
      const core = yield* make(options, { _tag: "External" })
      const router = yield* HttpRouter.HttpRouter
      const path: `/${string}` = `/${core.getPath().slice(1)}`
      yield* router.add(
        "GET",
        path,
        HttpServerRequest.HttpServerRequest.use((request) => upgradeWith(core, request))
      )
      return core
    })
  )

/**
 * Closes the SCServer's sockets with 1001 when its scope begins to close: built after
 * the HTTP server, it is released before the HTTP server starts its graceful close.
 */
export const closeFirst: Layer.Layer<never, never, SCServer> = Layer.effectDiscard(
  Effect.gen(function* () {
    const core = yield* SCServer
    yield* Effect.addFinalizer(() => core.close(1001))
  })
)

/**
 * `HttpRouter.serve` for an app that contains an SCServer (`layerRouter`, or `upgrade`
 * on a route): on shutdown the sockets are closed with 1001 first, so the HTTP server's
 * graceful close does not wait for them.
 */
export const serve = <A, E, R>(
  app: Layer.Layer<A, E, R>,
  options?: { readonly disableLogger?: boolean | undefined; readonly disableListenLog?: boolean }
) => Layer.provideMerge(closeFirst, HttpRouter.serve(app, options))
