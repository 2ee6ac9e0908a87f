/**
 * Where a server gets its upgrades from, and the resources that brings: its own Node
 * HTTP server (listening on a port), a Node HTTP server the app has (attached to its
 * `upgrade` event, alone), or an Effect HTTP app that routes them (`SCServerHttp`).
 */
import * as Http from "node:http"
import * as Effect from "effect/Effect"
import * as HttpServer from "effect/http/HttpServer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { WebSocketServer } from "ws"
import type { ServerOptions } from "./Options.js"
import { OwnedWebSocket, type OwnedWebSocketServer } from "./OwnedWebSocket.js"
import { ServerStartError } from "./ServerErrors.js"

/**
 * Where the server gets its upgrades from: its own HTTP server, a Node HTTP server you
 * have, or an Effect HTTP app that routes them to `admit` (see `SCServerHttp`).
 */
export type Transport =
  | { readonly _tag: "Listen"; readonly port: number; readonly host?: string | undefined }
  | { readonly _tag: "Attach"; readonly server: Http.Server }
  | { readonly _tag: "External" }

/** The Node HTTP server of a transport: created (and closed with the scope) for `Listen`, the app's for `Attach`. */
export const httpServerOf = (transport: Transport): Effect.Effect<Http.Server | undefined, never, Scope.Scope> => {
  if (transport._tag === "External") return Effect.succeed(undefined)
  if (transport._tag === "Attach") return Effect.succeed(transport.server)
  return Effect.acquireRelease(
    Effect.sync(() =>
      Http.createServer((_req, res) => {
        res.writeHead(501, { "Content-Type": "text/plain" })
        res.end("Not Implemented")
      })
    ),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )
}

/** The port of the Effect HTTP server an `External` server's upgrades come through, when the app has one. */
export const appServerPort: Effect.Effect<number | undefined> = Effect.map(
  Effect.serviceOption(HttpServer.HttpServer),
  (server) =>
    Option.isSome(server) && server.value.address._tag !== "UnixPathAddress" ? server.value.address.port : undefined
)

/** The `ws` server that completes upgrades (no server of its own, no client tracking), closed with the scope. */
export const webSocketServer = (options: ServerOptions): Effect.Effect<OwnedWebSocketServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(
      () =>
        new WebSocketServer({
          noServer: true,
          clientTracking: false,
          WebSocket: OwnedWebSocket,
          maxPayload: options.maxPayload,
          perMessageDeflate: options.perMessageDeflate
        })
    ),
    (wss) => Effect.callback<void>((resume) => wss.close(() => resume(Effect.void)))
  )

/** Listens on `port` (0: a free one); fails with `ServerStartError` when the port cannot be bound. */
export const listen = (
  server: Http.Server,
  port: number,
  host: string | undefined
): Effect.Effect<void, ServerStartError> =>
  Effect.callback<void, ServerStartError>((resume) => {
    const onError = (cause: Error) => resume(Effect.fail(new ServerStartError({ cause })))
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      resume(Effect.void)
    })
  })

/**
 * Refuses, for as long as the scope lives, a second `upgrade` listener on `server`: two
 * listeners both answer every upgrade and break every WebSocket.
 */
export const soleUpgradeListener = (server: Http.Server): Effect.Effect<void, never, Scope.Scope> => {
  const refuse = (event: string | symbol) => {
    if (event === "upgrade") throw upgradeConflict().cause
  }
  return Effect.acquireRelease(
    Effect.sync(() => server.on("newListener", refuse)),
    () => Effect.sync(() => server.off("newListener", refuse))
  )
}

/** The error of an `Attach` server that already has an `upgrade` listener. */
export const upgradeConflict = () =>
  new ServerStartError({
    cause: new Error(
      "SCServer.layerAttach: this HTTP server has another 'upgrade' listener (NodeHttpServer?); both would answer every WebSocket upgrade - Use SCServerHttp.layerRouter or SCServerHttp.upgrade in the Effect HTTP app instead"
    )
  })
