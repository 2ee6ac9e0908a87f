/**
 * What a suite gets for `require('../')`: the compat facade (or the original package of
 * the suite's version with `SC_CONFORMANCE_TARGET=original`), with `listen` on a free
 * port recorded in `ports.ts`.
 */
import type * as Http from "node:http"
import { createRequire } from "node:module"
import * as Compat from "../../src/index.js"
import { register } from "./ports.js"

interface ServerModule {
  listen(port?: number, options?: object, callback?: () => void): { readonly httpServer: Http.Server }
  attach: unknown
  SCServer: unknown
}

const original = (): ServerModule => {
  const version = process.env.SC_CONFORMANCE_SUITE ?? "14.7.2"
  return createRequire(import.meta.url)(`socketcluster-server-${version}`)
}

const target: ServerModule = process.env.SC_CONFORMANCE_TARGET === "original" ? original() : Compat

export const listen = (port: number, options?: object, callback?: () => void) => {
  const server = target.listen(0, options, callback)
  register(port, server.httpServer)
  return server
}
export const attach = target.attach
export const SCServer = target.SCServer
