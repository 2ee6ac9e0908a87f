/**
 * The SocketCluster v14 server as an Effect service.
 *
 * @example
 * ```ts
 * import { BrokerMemory, SCServer } from "@effect-socketcluster/server"
 * import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
 *
 * const Echo = Layer.effectDiscard(Effect.gen(function*() {
 *   const server = yield* SCServer.SCServer
 *   yield* server.handle("echo", (data) => Effect.succeed(data))
 * }))
 * const Server = SCServer.layer({ port: 8000 }).pipe(Layer.provide(BrokerMemory.layer))
 * NodeRuntime.runMain(Layer.launch(Echo.pipe(Layer.provideMerge(Server))))
 * ```
 */

import type * as Http from "node:http"
import {
  type BrokerError,
  Codec,
  type InvalidArgumentsError,
  type InvalidOptionsError,
  json
} from "@effect-socketcluster/protocol"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { AuthEngine, type AuthOptions } from "./AuthEngine.js"
import { Broker } from "./Broker.js"
import { DataStore } from "./DataStore.js"
import * as DataStoreMemory from "./DataStoreMemory.js"
import type { Middleware, MiddlewareType } from "./Middleware.js"
import { resolveOptions, type ServerOptionsInput } from "./Options.js"
import { SCServerCore } from "./SCServerCore.js"
import { DuplicateHandlerError, ServerStartError } from "./ServerErrors.js"
import type { Transport } from "./ServerTransport.js"
import * as ServerTransport from "./ServerTransport.js"
import type { ServerCounters } from "./SocketCore.js"
import * as Tracing from "./Tracing.js"

/** Every option: the server options plus the auth engine's (used when no `AuthEngine` layer is provided). */
export type SCServerOptions = ServerOptionsInput & AuthOptions

export type { ServerCounters }
export { DuplicateHandlerError, SCServerCore, ServerStartError }

/**
 * The SCServer service.
 */
export class SCServer extends Context.Service<SCServer, SCServerCore>()("@effect-socketcluster/server/SCServer") {}

export type { Transport }

/**
 * Builds a server (scoped: closing the scope closes every socket with 1001 and releases
 * the port). Needs a `Broker`, named where the app is assembled (`BrokerMemory.layer`
 * for one process, `BrokerRedis.layer` for many): a broker is never chosen by default,
 * because a wrong one splits pub/sub across processes without any error. Uses the
 * `DataStore`, `Codec` and `AuthEngine` services when provided, else the in-memory data
 * store, the JSON codec and a jose engine
 * built from `options`.
 */
export const make = (
  options: SCServerOptions,
  transport: Transport
): Effect.Effect<SCServerCore, InvalidOptionsError | ServerStartError, Scope.Scope | Broker> =>
  Effect.gen(function* () {
    const resolved = yield* resolveOptions(options)
    const broker = yield* Broker
    const dataOption = yield* Effect.serviceOption(DataStore)
    const data = Option.isSome(dataOption) ? dataOption.value : yield* DataStoreMemory.make()
    const codecOption = yield* Effect.serviceOption(Codec)
    const codec = Option.isSome(codecOption) ? codecOption.value : json
    const authOption = yield* Effect.serviceOption(AuthEngine)
    const auth = Option.isSome(authOption) ? authOption.value : yield* AuthEngine.make(options)
    const fork = yield* FiberSet.makeRuntime<never>()
    const tracing = yield* Tracing.enabled
    const handshakeSemaphore = yield* Semaphore.make(resolved.maxConcurrentHandshakes)

    const httpServer = yield* ServerTransport.httpServerOf(transport)
    const appPort = transport._tag === "External" ? yield* ServerTransport.appServerPort : undefined
    const wss = yield* ServerTransport.webSocketServer(resolved)
    const core = new SCServerCore(
      resolved,
      auth,
      broker,
      codec,
      fork,
      wss,
      httpServer,
      handshakeSemaphore,
      data,
      tracing,
      appPort
    )
    yield* broker.onPublication(core.registry.deliver)
    httpServer?.on("upgrade", core.onUpgrade)
    // Finalizers run in reverse: sockets close (1001) before the WebSocket and HTTP servers.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        httpServer?.off("upgrade", core.onUpgrade)
        core.closeUnsafe(1001)
        core.hub.endStreams()
      })
    )
    yield* Effect.forkScoped(core.heartbeat)
    yield* Effect.forkScoped(
      Stream.runForEach(broker.notices, (notice) => Effect.sync(() => core.hub.emit({ _tag: "Notice", notice })))
    )

    if (transport._tag === "Listen" && httpServer !== undefined) {
      yield* ServerTransport.listen(httpServer, transport.port, transport.host)
    }
    httpServer?.on("error", (error) => core.hub.emit({ _tag: "Error", error }))
    yield* broker.ready.pipe(Effect.catch((error: BrokerError) => Effect.sync(() => core.warn(error))))
    core.announceReady()
    return core
  })

/** A server listening on `options.port` (0 picks a free port; read it from `sourcePort`). */
export const layer = (
  options: SCServerOptions & { readonly port?: number; readonly host?: string }
): Layer.Layer<SCServer, InvalidOptionsError | ServerStartError, Broker> =>
  Layer.effect(SCServer, make(options, { _tag: "Listen", port: options.port ?? 8000, host: options.host }))

/** A server attached to a Node HTTP server you already have (v14 `attach`); it only handles upgrades on its path. */
export const layerAttach = (
  server: Http.Server,
  options: SCServerOptions = {}
): Layer.Layer<SCServer, InvalidOptionsError | ServerStartError, Broker> =>
  Layer.effect(
    SCServer,
    Effect.gen(function* () {
      // Two `upgrade` listeners both answer every upgrade and break every WebSocket.
      if (server.listenerCount("upgrade") > 0) return yield* Effect.fail(ServerTransport.upgradeConflict())
      const core = yield* make(options, { _tag: "Attach", server })
      yield* ServerTransport.soleUpgradeListener(server)
      return core
    })
  )

/**
 * A server without a transport of its own: its upgrades come from `upgrade`, mounted on
 * whatever route the app chooses (`SCServerHttp.layerRouter` mounts it on `options.path` for you).
 */
export const layerExternal = (
  options: SCServerOptions = {}
): Layer.Layer<SCServer, InvalidOptionsError | ServerStartError, Broker> =>
  Layer.effect(SCServer, make(options, { _tag: "External" }))

/**
 * A middleware as a layer: added when the layer is built, removed when it is released.
 * Its requirements become the layer's (the middleware runs with the app's services); its
 * error is what the client sees when it blocks (a tagged error goes as `name` = `_tag`).
 *
 * @example
 * ```ts
 * const NoEmpty = SCServer.middleware("publishIn", (req) =>
 *   req.data === "" ? Effect.fail(new Error("Say something")) : Effect.void)
 * const App = NoEmpty.pipe(Layer.provideMerge(SCServer.layer({ port: 8000 })), Layer.provide(BrokerMemory.layer))
 * ```
 */
export const middleware = <T extends MiddlewareType, E, R = never>(
  type: T,
  mw: Middleware<T, E, R>
): Layer.Layer<never, InvalidArgumentsError, SCServer | R> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const server = yield* SCServer
      const context = yield* Effect.context<R>()
      const run: Middleware<T> = (req) => Effect.provideContext(mw(req), context)
      yield* Effect.acquireRelease(server.addMiddleware(type, run), () =>
        Effect.ignore(server.removeMiddleware(type, run))
      )
    })
  )
