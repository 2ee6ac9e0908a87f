/**
 * `@effect-socketcluster/compat`: the socketcluster-server v14 module API (`listen`,
 * `attach`, `SCServer`, `SCServerSocket`) over the Effect server. An app written for
 * `socketcluster-server@14` runs by changing its import.
 *
 * @example
 * ```ts
 * import * as socketClusterServer from "@effect-socketcluster/compat"
 * const scServer = socketClusterServer.listen(8000, { authKey: process.env.AUTH_KEY })
 * scServer.on("connection", (socket) => {
 *   socket.on("echo", (data, respond) => respond(null, data))
 * })
 * ```
 */
import * as Http from "node:http"
import { SCChannel, SCExchange } from "./Exchange.js"
import { attach, SCServer, type SCServerOptions } from "./SCServer.js"
import { SCServerSocket } from "./SCServerSocket.js"

/**
 * v14 `listen(port, options?, callback?)`: a new HTTP server answering plain requests
 * with 501, an SCServer attached to it, and `httpServer.listen(port, callback)`.
 */
export const listen = (port?: number, options?: SCServerOptions | (() => void), callback?: () => void): SCServer => {
  const [opts, cb] = typeof options === "function" ? [{}, options] : [options ?? {}, callback]
  const httpServer = Http.createServer((_req, res) => {
    res.writeHead(501)
    res.end("Not Implemented")
  })
  const server = attach(httpServer, opts)
  server.listenWhenReady(port, cb)
  return server
}

export type { V14AuthEngine } from "./AuthEngineAdapter.js"
export type { ExchangeHost } from "./Exchange.js"
export { type DataCallback, DataExchange, type DataTargets } from "./ExchangeData.js"
export type { Next, V14Middleware } from "./Middleware.js"
export type { MiddlewareRequests, MiddlewareType, SCServerOptions } from "./SCServer.js"
export { attach, SCChannel, SCExchange, SCServer, SCServerSocket }

/**
 * What `require("@effect-socketcluster/compat")` returns in CommonJS (Node >= 22.19 loads
 * this ES module synchronously): a plain object like socketcluster-server@14's
 * `module.exports`, instead of the sealed module namespace.
 */
const commonJsExports = { SCServer, SCServerSocket, SCChannel, SCExchange, attach, listen }

export { commonJsExports as "module.exports" }
