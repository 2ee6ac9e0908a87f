/**
 * The v14 middleware `req` of each type, built over the core's requests. Writable fields
 * write through, so a change made by a v14 middleware is what the core uses.
 */
import type { Middleware as CoreMiddleware, SCSocket as CoreSocket } from "@effect-socketcluster/server"
import type { SCServerSocket } from "./SCServerSocket.js"

/** The v14 middleware `req` of each type (`socket` is the v14 socket). */
export interface MiddlewareRequests {
  readonly handshakeWS: CoreMiddleware.MiddlewareRequests["handshakeWS"]["request"]
  readonly handshakeSC: { readonly socket: SCServerSocket }
  readonly authenticate: { readonly socket: SCServerSocket; readonly authToken: unknown }
  readonly subscribe: {
    readonly socket: SCServerSocket
    readonly channel: string
    readonly waitForAuth: boolean
    data: unknown
    readonly authTokenExpiredError?: unknown
  }
  readonly publishIn: {
    readonly socket: SCServerSocket
    readonly channel: string
    data: unknown
    ackData: unknown
    readonly authTokenExpiredError?: unknown
  }
  readonly publishOut: { readonly socket: SCServerSocket; readonly channel: string; data: unknown; useCache: boolean }
  readonly emit: {
    readonly socket: SCServerSocket
    readonly event: string
    data: unknown
    readonly authTokenExpiredError?: unknown
  }
}

export type MiddlewareType = CoreMiddleware.MiddlewareType

/** One builder per middleware type: the v14 `req` of a core request. */
export type RequestBuilders = {
  readonly [K in MiddlewareType]: (req: CoreMiddleware.MiddlewareRequests[K]) => MiddlewareRequests[K]
}

// v14 sets `authTokenExpiredError` only when the token expired.
const withExpiry = <R extends object>(req: R, expired: unknown): R & { authTokenExpiredError?: unknown } => {
  if (expired !== undefined) Object.assign(req, { authTokenExpiredError: expired })
  return req
}

/** Makes each of `keys` an own accessor of `target` that reads and writes `source[key]`. */
function writeThrough<T extends object, S extends object, K extends keyof S & string>(
  target: T,
  source: S,
  ...keys: ReadonlyArray<K>
): asserts target is T & Pick<S, K> {
  for (const key of keys) {
    Object.defineProperty(target, key, {
      get: () => source[key],
      set: (value: S[K]) => {
        source[key] = value
      },
      enumerable: true,
      configurable: true
    })
  }
}

/** The builders of a server whose v14 sockets `socketOf` gives. */
export const makeRequestBuilders = (socketOf: (core: CoreSocket.SCSocket) => SCServerSocket): RequestBuilders => ({
  handshakeWS: (req) => req.request,
  handshakeSC: (req) => ({ socket: socketOf(req.socket) }),
  authenticate: (req) => ({ socket: socketOf(req.socket), authToken: req.authToken }),
  subscribe: (req) => {
    const out = { socket: socketOf(req.socket), channel: req.channel, waitForAuth: req.waitForAuth }
    writeThrough(out, req, "data")
    return withExpiry(out, req.authTokenExpiredError)
  },
  publishIn: (req) => {
    const out = { socket: socketOf(req.socket), channel: req.channel }
    writeThrough(out, req, "data", "ackData")
    return withExpiry(out, req.authTokenExpiredError)
  },
  publishOut: (req) => {
    const out = { socket: socketOf(req.socket), channel: req.channel, useCache: false }
    writeThrough(out, req, "data")
    return out
  },
  emit: (req) => {
    const out = { socket: socketOf(req.socket), event: req.event }
    writeThrough(out, req, "data")
    return withExpiry(out, req.authTokenExpiredError)
  }
})
