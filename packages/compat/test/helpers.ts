/**
 * Test harness for the compat facade: servers made with `listen`/`attach`, real
 * socketcluster-client v14 clients and raw `ws` clients, all torn down after each test.
 */

import { createHmac } from "node:crypto"
import type { EventEmitter } from "node:events"
import { createRequire } from "node:module"
import { afterEach } from "vitest"
import type WebSocketType from "ws"
import { listen, type SCServer, type SCServerOptions } from "../src/index.js"

const require = createRequire(import.meta.url)
// `ws` is a dependency of the server package, not of this one.
const requireFromServer = createRequire(new URL("../../server/package.json", import.meta.url))
const WebSocket: typeof WebSocketType = requireFromServer("ws")

/** The subset of the v14 client the tests use. */
export interface ClientSocket {
  readonly id: string | null
  readonly state: string
  readonly authState: string
  readonly authToken: Record<string, unknown> | null
  connect(): void
  disconnect(code?: number, data?: unknown): void
  destroy(): void
  emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void
  on(event: string, listener: AnyListener): void
  off(event: string, listener?: AnyListener): void
  once(event: string, listener: AnyListener): void
  subscribe(channel: string, options?: Record<string, unknown>): ClientChannel
  unsubscribe(channel: string): void
  publish(channel: string, data: unknown, callback?: (error: unknown, data: unknown) => void): void
  authenticate(token: unknown, callback?: (error: unknown, status: unknown) => void): void
  deauthenticate(callback?: (error: unknown) => void): void
  subscriptions(includePending?: boolean): Array<string>
  getSignedAuthToken(): string | null
  isSubscribed(channel: string, includePending?: boolean): boolean
}
export interface ClientChannel {
  readonly name: string
  readonly state: string
  watch(handler: (data: unknown) => void): void
  on(event: string, listener: AnyListener): void
  unsubscribe(): void
}
interface ClientModule {
  create(options: Record<string, unknown>): ClientSocket
}
export const scClient: ClientModule = require("socketcluster-client")

export const AUTH_KEY = "test-key-0123456789abcdef0123456789abcdef"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Registers a teardown step for the current test. */
export const onCleanup = (cleanup: () => Promise<void> | void): void => {
  cleanups.push(cleanup)
}

/** Resolves with the listener arguments of the next `event`. */
type AnyListener = { listener(...args: Array<unknown>): void }["listener"]

export const once = (
  emitter: { once(event: string, listener: AnyListener): unknown },
  event: string
): Promise<Array<unknown>> =>
  new Promise((resolve) => {
    emitter.once(event, (...args: Array<unknown>) => resolve(args))
  })

/** Starts `listen(0, options)` and waits for `ready`. */
export const startServer = async (options: SCServerOptions = {}): Promise<SCServer> => {
  const server = listen(0, { authKey: AUTH_KEY, ...options })
  onCleanup(() => server.dispose())
  server.on("warning", () => {})
  if (!server.isReady) await once(server, "ready")
  return server
}

export const portOf = (server: SCServer): number => {
  const port = server.sourcePort
  if (port === undefined) throw new Error("server is not listening")
  return port
}

/** Creates a client (not waiting for its connection); destroyed after the test. */
export const createClient = (server: SCServer | number, options: Record<string, unknown> = {}): ClientSocket => {
  const client = scClient.create({
    hostname: "127.0.0.1",
    port: typeof server === "number" ? server : portOf(server),
    multiplex: false,
    autoReconnect: false,
    ...options
  })
  client.on("error", () => {})
  onCleanup(() => client.destroy())
  return client
}

/** Creates a client and waits for `connect`; rejects on `connectAbort`. */
export const connectClient = (
  server: SCServer | number,
  options: Record<string, unknown> = {}
): Promise<ClientSocket> =>
  new Promise((resolve, reject) => {
    const client = createClient(server, options)
    client.once("connect", () => resolve(client))
    client.once("connectAbort", (code: number, reason: string) => reject(new Error(`connectAbort ${code} ${reason}`)))
  })

/** `client.emit` with an ack, as a promise of `[error, data]`. */
export const invoke = (client: ClientSocket, event: string, data?: unknown): Promise<[unknown, unknown]> =>
  new Promise((resolve) => {
    client.emit(event, data, (error, response) => resolve([error, response]))
  })

/** `client.publish` with an ack, as a promise of `[error, data]`. */
export const publish = (client: ClientSocket, channel: string, data: unknown): Promise<[unknown, unknown]> =>
  new Promise((resolve) => {
    client.publish(channel, data, (error, response) => resolve([error, response]))
  })

/** Subscribes and waits for the server's confirmation (rejects on `subscribeFail`). */
export const subscribe = (
  client: ClientSocket,
  channel: string,
  options?: Record<string, unknown>
): Promise<ClientChannel> =>
  new Promise((resolve, reject) => {
    const ch = client.subscribe(channel, options)
    if (ch.state === "subscribed") return resolve(ch)
    ch.on("subscribe", () => resolve(ch))
    ch.on("subscribeFail", (error: unknown) => reject(error))
  })

/** A raw `ws` client recording frames and the close code. */
export interface RawClient {
  readonly ws: WebSocketType
  readonly frames: Array<string>
  send(frame: string | Buffer): void
  waitFor(predicate: (frame: string) => boolean): Promise<string>
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
}

export const rawClient = (
  server: SCServer,
  options: { readonly path?: string; readonly headers?: Record<string, string> } = {}
): Promise<RawClient> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server)}${options.path ?? "/socketcluster/"}`, {
      headers: options.headers ?? {}
    })
    onCleanup(() => ws.terminate())
    const frames: Array<string> = []
    const waiters: Array<{ readonly predicate: (f: string) => boolean; readonly resolve: (f: string) => void }> = []
    ws.on("message", (data) => {
      const frame = data.toString()
      frames.push(frame)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]
        if (w?.predicate(frame)) {
          waiters.splice(i, 1)
          w.resolve(frame)
        }
      }
    })
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.on("close", (code, reason) => res({ code, reason: reason.toString() }))
    )
    ws.once("open", () =>
      resolve({
        ws,
        frames,
        send: (frame) => ws.send(frame),
        waitFor: (predicate) =>
          new Promise((res) => {
            const found = frames.find(predicate)
            if (found !== undefined) return res(found)
            waiters.push({ predicate, resolve: res })
          }),
        closed
      })
    )
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once("error", reject)
  })

/** Records every emission of `events` on an emitter, in order. */
export const record = (emitter: EventEmitter, events: ReadonlyArray<string>): Array<[string, ...Array<unknown>]> => {
  const log: Array<[string, ...Array<unknown>]> = []
  for (const event of events) emitter.on(event, (...args: Array<unknown>) => log.push([event, ...args]))
  return log
}

/** Resolves once `predicate` holds, checking after each `event` of `emitter`. */
export const until = (
  emitter: { on(event: string, listener: () => void): unknown; off(event: string, listener: () => void): unknown },
  event: string,
  predicate: () => boolean
): Promise<void> =>
  new Promise((resolve) => {
    if (predicate()) return resolve()
    const check = () => {
      if (!predicate()) return
      emitter.off(event, check)
      resolve()
    }
    emitter.on(event, check)
  })

/** A list that can be awaited until it holds `n` items (feed it from watchers and listeners). */
export interface Collector<A> {
  readonly items: Array<A>
  readonly push: (item: A) => void
  waitFor(n: number): Promise<Array<A>>
}

export const collector = <A = unknown>(): Collector<A> => {
  const items: Array<A> = []
  const waiters: Array<{ readonly n: number; readonly resolve: (items: Array<A>) => void }> = []
  return {
    items,
    push: (item) => {
      items.push(item)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]
        if (w !== undefined && items.length >= w.n) {
          waiters.splice(i, 1)
          w.resolve(items)
        }
      }
    },
    waitFor: (n) =>
      new Promise((resolve) => {
        if (items.length >= n) return resolve(items)
        waiters.push({ n, resolve })
      })
  }
}

/** A raw client that completed the handshake (answer to cid 1 received). */
export const rawConnected = async (server: SCServer, authToken: unknown = null): Promise<RawClient> => {
  const raw = await rawClient(server)
  raw.send(JSON.stringify({ event: "#handshake", data: { authToken }, cid: 1 }))
  await raw.waitFor((f) => f.startsWith('{"rid":1'))
  return raw
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

/** An HS256 JWT signed with `key` (for tokens the server did not issue: expired, foreign key…). */
export const signJwt = (payload: Record<string, unknown>, key: string = AUTH_KEY): string => {
  const input = `${base64url({ alg: "HS256", typ: "JWT" })}.${base64url(payload)}`
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`
}

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)
