/**
 * Test harness: a real server on a free loopback port and real socketcluster-client v14
 * clients (and raw `ws` clients) connected to it.
 */

import { createRequire } from "node:module"
import { type CodecEngine, json } from "@effect-socketcluster/protocol"
import { Deferred, Effect, type Scope } from "effect"
import WebSocket from "ws"
import type * as SCServer from "../src/SCServer.js"

const require = createRequire(import.meta.url)

/** The subset of the v14 client these tests use. */
export interface ClientSocket {
  readonly id: string | null
  readonly state: string
  readonly authState: string
  readonly authToken: unknown
  connect(): void
  disconnect(code?: number, data?: unknown): void
  destroy(): void
  emit(event: string, data?: unknown, callback?: (error: unknown, data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  off(event: string, listener?: (...args: Array<unknown>) => void): void
  once(event: string, listener: (...args: Array<unknown>) => void): void
  subscribe(channel: string, options?: Record<string, unknown>): ClientChannel
  unsubscribe(channel: string): void
  publish(channel: string, data: unknown, callback?: (error: unknown, data: unknown) => void): void
  authenticate(token: string, callback?: (error: unknown, status: unknown) => void): void
  deauthenticate(callback?: (error: unknown) => void): void
  subscriptions(includePending?: boolean): Array<string>
  getSignedAuthToken(): string | null
}
export interface ClientChannel {
  readonly name: string
  readonly state: string
  watch(handler: (data: unknown) => void): void
  on(event: string, listener: (...args: Array<unknown>) => void): void
  unsubscribe(): void
}
interface ClientModule {
  create(options: Record<string, unknown>): ClientSocket
  destroy(socket: ClientSocket): void
}
export const scClient: ClientModule = require("socketcluster-client")

export { startServer, startStoppableServer } from "../src/testing/StartServer.js"

const newClient = (server: SCServer.SCServerCore, options: Record<string, unknown>): ClientSocket => {
  const client = scClient.create({
    hostname: "127.0.0.1",
    port: server.sourcePort,
    multiplex: false,
    autoReconnect: false,
    ...options
  })
  client.on("error", () => {})
  return client
}

/** Creates a client without waiting for it to connect (destroyed with the scope). */
export const createClient = (server: SCServer.SCServerCore, options: Record<string, unknown> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => newClient(server, options)),
    (client) => Effect.sync(() => client.destroy())
  )

/** Connects a real socketcluster-client v14 and waits for its `connect` event (destroyed with the scope). */
export const connectClient = (
  server: SCServer.SCServerCore,
  options: Record<string, unknown> = {}
): Effect.Effect<ClientSocket, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<ClientSocket, unknown>((resume) => {
      const client = newClient(server, options)
      const onConnect = () => {
        client.off("connectAbort", onAbort)
        resume(Effect.succeed(client))
      }
      const onAbort = (code: unknown, reason: unknown) => {
        client.off("connect", onConnect)
        client.destroy()
        resume(Effect.fail(new Error(`connectAbort ${String(code)} ${String(reason)}`)))
      }
      client.once("connect", onConnect)
      client.once("connectAbort", onAbort)
    }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Waits for the next `event` on a client, resolving with its listener arguments. */
export const nextClientEvent = (client: ClientSocket, event: string) =>
  Effect.callback<Array<unknown>>((resume) => {
    client.once(event, (...args) => resume(Effect.succeed(args)))
  })

/** `client.emit` with an ack as an Effect: fails with the hydrated error. */
export const invoke = (client: ClientSocket, event: string, data?: unknown) =>
  Effect.callback<unknown, unknown>((resume) => {
    client.emit(event, data, (error, response) => {
      resume(error ? Effect.fail(error) : Effect.succeed(response))
    })
  })

/** `client.publish` with an ack as an Effect. */
export const publish = (client: ClientSocket, channel: string, data: unknown) =>
  Effect.callback<unknown, unknown>((resume) => {
    client.publish(channel, data, (error, response) => {
      resume(error ? Effect.fail(error) : Effect.succeed(response))
    })
  })

/** Subscribes and waits until the server confirmed the subscription. */
export const subscribe = (client: ClientSocket, channel: string, options?: Record<string, unknown>) =>
  Effect.callback<ClientChannel, unknown>((resume) => {
    const ch = client.subscribe(channel, options)
    if (ch.state === "subscribed") return resume(Effect.succeed(ch))
    ch.on("subscribe", () => resume(Effect.succeed(ch)))
    ch.on("subscribeFail", (error) => resume(Effect.fail(error)))
  })

/** The HTTP status an upgrade request gets (101 when the WebSocket opens). */
export const upgradeStatus = (port: number, path: string, headers: Record<string, string> = {}) =>
  Effect.callback<number>((resume) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
    ws.once("unexpected-response", (_req, res) => {
      resume(Effect.succeed(res.statusCode ?? 0))
      ws.terminate()
    })
    ws.once("open", () => {
      resume(Effect.succeed(101))
      ws.terminate()
    })
    ws.once("error", () => {})
  })

/** A raw `ws` client recording every frame and the close code. */
export interface RawClient {
  readonly ws: WebSocket
  readonly frames: Array<string>
  send(frame: string | Buffer): void
  /** Waits for the first received frame satisfying `predicate` (from the start of the recording). */
  waitFor(predicate: (frame: string) => boolean): Effect.Effect<string>
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }>
}

export const rawClient = (
  server: SCServer.SCServerCore,
  options: { readonly path?: string; readonly headers?: Record<string, string> } = {}
): Effect.Effect<RawClient, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const closed = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
    const ws = yield* Effect.acquireRelease(
      Effect.callback<WebSocket, unknown>((resume) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.sourcePort}${options.path ?? "/socketcluster/"}`, {
          headers: options.headers ?? {}
        })
        ws.once("open", () => resume(Effect.succeed(ws)))
        ws.once("unexpected-response", (_req, res) => resume(Effect.fail(new Error(`HTTP ${res.statusCode}`))))
        ws.once("error", (error) => resume(Effect.fail(error)))
      }),
      (ws) => Effect.sync(() => ws.terminate())
    )
    const frames: Array<string> = []
    const waiters: Array<{ readonly predicate: (f: string) => boolean; readonly resolve: (f: string) => void }> = []
    ws.on("message", (data) => {
      const frame = data.toString()
      frames.push(frame)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!
        if (w.predicate(frame)) {
          waiters.splice(i, 1)
          w.resolve(frame)
        }
      }
    })
    ws.on("close", (code, reason) => Deferred.doneUnsafe(closed, Effect.succeed({ code, reason: reason.toString() })))
    ws.on("error", () => {})
    return {
      ws,
      frames,
      send: (frame) => ws.send(frame),
      waitFor: (predicate) =>
        Effect.callback<string>((resume) => {
          const found = frames.find(predicate)
          if (found !== undefined) return resume(Effect.succeed(found))
          waiters.push({ predicate, resolve: (f) => resume(Effect.succeed(f)) })
        }),
      closed: Deferred.await(closed)
    }
  })

/** Collects server events of the given tags from now on (synchronous listener). */
export const recordServerEvents = (server: SCServer.SCServerCore) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const events: Array<import("../src/Events.js").ServerEvent> = []
      const remove = server.hub.listen((e) => events.push(e))
      return { events, remove }
    }),
    ({ remove }) => Effect.sync(remove)
  ).pipe(Effect.map(({ events }) => events))

/** Waits until `predicate` holds for a server event (listener attached before returning the Effect's run). */
export const waitForServerEvent = <T extends import("../src/Events.js").ServerEvent["_tag"]>(
  server: SCServer.SCServerCore,
  tag: T,
  predicate: (e: Extract<import("../src/Events.js").ServerEvent, { readonly _tag: T }>) => boolean = () => true
) =>
  Effect.callback<Extract<import("../src/Events.js").ServerEvent, { readonly _tag: T }>>((resume) => {
    const remove = server.hub.listen((e) => {
      if (e._tag === tag && predicate(e as Extract<import("../src/Events.js").ServerEvent, { readonly _tag: T }>)) {
        remove()
        resume(Effect.succeed(e as Extract<import("../src/Events.js").ServerEvent, { readonly _tag: T }>))
      }
    })
    return Effect.sync(remove)
  })

/** A reversible text codec for the codec tests: JSON, reversed (`#1` goes out as `1#`). */
export const reversedCodec: CodecEngine = {
  encode: (v) => {
    const s = json.encode(v)
    return typeof s === "string" ? [...s].reverse().join("") : s
  },
  decode: (m) => json.decode(typeof m === "string" ? [...m].reverse().join("") : m)
}
