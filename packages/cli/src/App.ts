/**
 * The runnable server: one Node HTTP server carrying the SocketCluster endpoint, the demo
 * page, `/health` and `/metrics`, with metrics, logs and a graceful drain.
 *
 * `make` is scoped. Closing its scope (SIGTERM/SIGINT in `main`) drains: new connections
 * are refused and `/health` answers 503 `draining`; open sockets get `drainPeriod` ms to
 * leave, then the rest are closed with 1001 and the port is released.
 *
 * @example
 * ```ts
 * const app = yield* App.make(settings)   // needs a Broker; takes a DataStore when given (BrokerChoice.layer gives both)
 * app.port // the bound port
 * ```
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { InvalidOptionsError } from "@effect-socketcluster/protocol"
import { type Broker, SCServer } from "@effect-socketcluster/server"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { redactUrl, type Settings } from "./Config.js"
import * as DemoApp from "./DemoApp.js"
import * as DemoAssets from "./DemoAssets.js"
import type { Handle } from "./Handle.js"
import { requestHandler } from "./HttpRoutes.js"
import * as Logging from "./Logging.js"
import { ServerMetrics } from "./ServerMetrics.js"
import { registerSmokeHandlers } from "./SmokeHandlers.js"

/** The server could not start (port in use, bad option, ...); `message` is one line. */
export class StartError extends Data.TaggedError("StartError")<{ readonly message: string }> {}

/** A running server. */
export interface RunningApp {
  readonly server: SCServer.SCServerCore
  readonly metrics: ServerMetrics
  readonly port: number
  /** `true` once the drain began. */
  readonly isDraining: () => boolean
}

/** How long closing sockets may take to finish their close handshake before the port is released. */
const closeGrace = Duration.seconds(2)

/** The server options of `settings`. */
export const serverOptions = (settings: Settings): SCServer.SCServerOptions => {
  const auth = settings.auth
  return {
    path: settings.path,
    origins: settings.origins,
    pingInterval: settings.pingInterval,
    pingTimeout: settings.pingTimeout,
    ackTimeout: settings.ackTimeout,
    maxPayload: settings.maxPayload,
    outboundHighWaterMark: settings.outboundHighWaterMark,
    slowConsumerTimeout: settings.slowConsumerTimeout,
    slowConsumerPolicy: settings.slowConsumerPolicy,
    authAlgorithm: auth.algorithm,
    ...(auth._tag === "Secret"
      ? { authKey: auth.key }
      : { authPrivateKey: auth.privateKey, authPublicKey: auth.publicKey })
  }
}

// Succeeds when the server has no sockets left (at once when it has none).
const noSocketsLeft = (server: SCServer.SCServerCore) =>
  Effect.gen(function* () {
    const done = yield* Deferred.make<void>()
    const check = () => {
      if (server.clientsCount + server.pendingClientsCount === 0) Deferred.doneUnsafe(done, Effect.void)
    }
    const unlisten = server.hub.listen(check, ["Closure"])
    check()
    yield* Deferred.await(done).pipe(Effect.ensuring(Effect.sync(unlisten)))
  })

const listen = (http: Http.Server, port: number, host: string | undefined) =>
  Effect.callback<number, StartError>((resume) => {
    const onError = (error: Error) =>
      resume(Effect.fail(new StartError({ message: `Cannot listen on ${host ?? "*"}:${port}: ${error.message}` })))
    http.once("error", onError)
    http.listen(port, host, () => {
      http.off("error", onError)
      resume(Effect.succeed((http.address() as AddressInfo).port))
    })
  })

/** Where this server runs. */
export interface AppRole {
  /** The worker number under `--workers` (labels metrics, shown on the page). */
  readonly worker?: string | undefined
}

/** Starts the server described by `settings` (scoped; needs a `Broker`). */
export const make = (
  settings: Settings,
  role: AppRole = {}
): Effect.Effect<RunningApp, StartError, Scope.Scope | Broker.Broker> =>
  Effect.gen(function* () {
    const metrics = new ServerMetrics(role.worker === undefined ? {} : { worker: role.worker })
    let draining = false
    // Filled once the server resolved its path (the page needs it); requests wait for `listen` anyway.
    let assets: ReadonlyMap<string, DemoAssets.Asset> = new Map()

    const http = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Http.createServer(
          requestHandler({ assets: () => assets, isDraining: () => draining, renderMetrics: () => metrics.render() })
        )
      ),
      (http) =>
        Effect.callback<void>((resume) => {
          http.close(() => resume(Effect.void))
          http.closeAllConnections()
        })
    )
    const server = yield* SCServer.make(serverOptions(settings), { _tag: "Attach", server: http }).pipe(
      Effect.mapError((error: InvalidOptionsError | SCServer.ServerStartError) =>
        error._tag === "ServerStartError"
          ? new StartError({ message: error.cause.message })
          : new StartError({ message: error.message })
      )
    )
    assets = DemoAssets.load(server.getPath())
    const unwire = metrics.attach(server)
    yield* Effect.addFinalizer(() => Effect.sync(unwire))
    yield* Logging.logServerEvents(server)

    const handle: Handle = (event, handler) => server.handle(event, metrics.timeRpc(event, handler))
    yield* DemoApp.install(server, handle, metrics, role.worker)
    if (settings.smoke) yield* registerSmokeHandlers(server, handle)

    const port = yield* listen(http, settings.port, settings.host)
    if (settings.auth._tag === "Secret" && settings.auth.generated) {
      yield* Effect.logWarning("No --auth-key / AUTH_KEY: using a random key; auth tokens will not survive a restart")
    }
    const broker = settings.brokerUrl === undefined ? "memory broker" : `broker ${redactUrl(settings.brokerUrl)}`
    yield* Effect.logInfo(
      `listening on http://${settings.host ?? "localhost"}:${port}/ (WebSocket ${server.getPath()}, ${broker}${settings.smoke ? ", wire-smoke handlers" : ""})`
    )

    // Added last, so it runs first on shutdown: drain, then the finalizers above close the rest.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        draining = true
        server.stopAccepting()
        yield* Effect.logInfo(`draining: ${server.clientsCount} sockets open, up to ${settings.drainPeriod} ms`)
        yield* noSocketsLeft(server).pipe(Effect.timeoutOption(Duration.millis(settings.drainPeriod)))
        const left = server.clientsCount + server.pendingClientsCount
        if (left > 0) yield* Effect.logInfo(`closing ${left} sockets with 1001`)
        yield* server.close(1001)
        yield* noSocketsLeft(server).pipe(Effect.timeoutOption(closeGrace))
        yield* Effect.logInfo("stopped")
      })
    )
    return { server, metrics, port, isDraining: () => draining }
  })

/** The auth key of `settings` in the clear (for handing it to worker processes). */
export const authKeyText = (settings: Settings): string | undefined =>
  settings.auth._tag === "Secret" ? Redacted.value(settings.auth.key) : undefined
