/**
 * The five real socketcluster-client releases of the dual-protocol tests — 14.3.2
 * (protocol v1, callbacks and emitter events) and 15.1.0, 16.1.1, 17.2.2, 20.0.2
 * (protocol v2, async iterables) — behind one Promise-based interface, so every test
 * runs the same steps against all of them. Clients are created with default options
 * (only host and port; 14.3.2 also `multiplex: false`) unless a test passes more.
 */
import { createRequire } from "node:module"
import { Effect, type Scope } from "effect"
import type * as SCServer from "../src/SCServer.js"
import type { SCSocket } from "../src/SCSocket.js"

const require = createRequire(import.meta.url)

export type ClientName = "14.3.2" | "15.1.0" | "16.1.1" | "17.2.2" | "20.0.2"
export const clientNames: ReadonlyArray<ClientName> = ["14.3.2", "15.1.0", "16.1.1", "17.2.2", "20.0.2"]
export const v2Names: ReadonlyArray<ClientName> = ["15.1.0", "16.1.1", "17.2.2", "20.0.2"]

export interface Closed {
  readonly code: number
  readonly reason: unknown
}

/** What the tests do with a client, whatever its release. */
export interface AnyClient {
  readonly name: ClientName
  /** The protocol the release speaks by default. */
  readonly protocol: 1 | 2
  /** The client object itself. */
  readonly socket: ClientObject
  /** Every `raw` message received since creation. */
  readonly raw: Array<unknown>
  /** Every `disconnect` since creation. */
  readonly disconnects: Array<Closed>
  /** Every `error` since creation. */
  readonly errors: Array<Error>
  /** Every `kickOut` since creation. */
  readonly kickOuts: Array<{ readonly channel: unknown; readonly message: unknown }>
  /** The next event of this name (`connect` → status, `disconnect`/`connectAbort`/`close` → Closed, `error` → the error, `kickOut` → {channel, message}). */
  next(event: string): Promise<unknown>
  invoke(event: string, data?: unknown, ackTimeout?: number): Promise<unknown>
  transmit(event: string, data?: unknown): void
  /** Calls `fn` for every server emit of `event`. */
  receive(event: string, fn: (data: unknown) => void): void
  /** Answers every server invoke of `event` with `fn`'s result, or its thrown error. */
  procedure(event: string, fn: (data: unknown) => unknown): void
  /** Subscribes, calls `onData` per publication, resolves once subscribed. */
  subscribe(channel: string, onData: (data: unknown) => void, options?: Record<string, unknown>): Promise<void>
  unsubscribe(channel: string): void
  /** Publishes and waits for the server's ack. */
  publish(channel: string, data: unknown): Promise<void>
  authenticate(token: string): Promise<unknown>
  deauthenticate(): Promise<void>
  destroy(): void
}

/** The parts of both client objects the tests read. */
export interface ClientObject {
  readonly id: string | null
  readonly state: string
  readonly authState: string
  readonly authToken: Record<string, unknown> | null
  readonly signedAuthToken: string | null
  readonly pendingReconnect: boolean
  readonly pendingReconnectTimeout: number | null
  connect(): void
  disconnect(code?: number, reason?: unknown): void
  isSubscribed(channel: string): boolean
}

type Listener = (...args: Array<unknown>) => void

interface V1Socket extends ClientObject {
  on(event: string, fn: Listener): void
  once(event: string, fn: Listener): void
  off(event?: string, fn?: Listener): void
  emit(event: string, data: unknown, callback?: (error: unknown, data: unknown) => void): void
  subscribe(channel: string, options?: Record<string, unknown>): V1Channel
  unsubscribe(channel: string): void
  publish(channel: string, data: unknown, callback?: (error: unknown) => void): void
  authenticate(token: string, callback: (error: unknown, status: unknown) => void): void
  deauthenticate(callback: (error: unknown) => void): void
  destroy(): void
}
interface V1Channel {
  readonly state: string
  watch(fn: (data: unknown) => void): void
  on(event: string, fn: Listener): void
}

interface Stream<A> extends AsyncIterable<A> {
  once(timeout?: number): Promise<A>
}
interface V2Request {
  readonly data: unknown
  end(data?: unknown): void
  error(error: unknown): void
}
interface V2Channel extends AsyncIterable<unknown> {
  listener(event: string): Stream<unknown>
}
interface V2Socket extends ClientObject {
  listener(event: string): Stream<Record<string, unknown>>
  receiver(event: string): AsyncIterable<unknown>
  procedure(event: string): AsyncIterable<V2Request>
  invoke(event: string, data?: unknown, options?: { readonly ackTimeout?: number }): Promise<unknown>
  transmit(event: string, data?: unknown): void
  subscribe(channel: string, options?: Record<string, unknown>): V2Channel
  unsubscribe(channel: string): void
  invokePublish(channel: string, data: unknown): Promise<unknown>
  authenticate(token: string): Promise<unknown>
  deauthenticate(): Promise<void>
  closeAllListeners(): void
  closeAllReceivers(): void
  closeAllProcedures(): void
  closeAllChannels(): void
}
interface ClientModule<S> {
  create(options: Record<string, unknown>): S
}

const modules = {
  "14.3.2": "socketcluster-client",
  "15.1.0": "socketcluster-client-15",
  "16.1.1": "socketcluster-client-16",
  "17.2.2": "socketcluster-client-17",
  "20.0.2": "socketcluster-client-20"
} as const

const forEach = <A>(iterable: AsyncIterable<A>, fn: (a: A) => void): void => {
  void (async () => {
    for await (const a of iterable) fn(a)
  })()
}

const v1Client = (options: Record<string, unknown>): AnyClient => {
  const mod: ClientModule<V1Socket> = require(modules["14.3.2"])
  const s = mod.create({ multiplex: false, ...options })
  const raw: Array<unknown> = []
  const disconnects: Array<Closed> = []
  const kickOuts: Array<{ readonly channel: unknown; readonly message: unknown }> = []
  s.on("kickOut", (message, channel) => kickOuts.push({ channel, message }))
  const errors: Array<Error> = []
  s.on("error", (e) => errors.push(e as Error))
  s.on("raw", (m) => raw.push(m))
  s.on("disconnect", (code, reason) => disconnects.push({ code: code as number, reason }))
  const callback =
    (resolve: (a: unknown) => void, reject: (e: unknown) => void) =>
    (error: unknown, data?: unknown): void => {
      if (error) reject(error)
      else resolve(data)
    }
  return {
    name: "14.3.2",
    protocol: 1,
    socket: s,
    raw,
    disconnects,
    kickOuts,
    errors,
    next: (event) =>
      new Promise((resolve) => {
        s.once(event, (a, b) => {
          if (event === "disconnect" || event === "connectAbort" || event === "close") {
            resolve({ code: a, reason: b })
          } else if (event === "kickOut") {
            resolve({ message: a, channel: b })
          } else {
            resolve(a)
          }
        })
      }),
    invoke: (event, data) => new Promise((resolve, reject) => s.emit(event, data, callback(resolve, reject))),
    transmit: (event, data) => s.emit(event, data),
    receive: (event, fn) => s.on(event, (data) => fn(data)),
    procedure: (event, fn) =>
      s.on(event, (data, res) => {
        const respond = res as (error: unknown, data?: unknown) => void
        try {
          respond(null, fn(data))
        } catch (error) {
          respond(error)
        }
      }),
    subscribe: (channel, onData, subscribeOptions) =>
      new Promise((resolve, reject) => {
        const ch = s.subscribe(channel, subscribeOptions)
        ch.watch(onData)
        if (ch.state === "subscribed") return resolve()
        ch.on("subscribe", () => resolve())
        ch.on("subscribeFail", reject)
      }),
    unsubscribe: (channel) => s.unsubscribe(channel),
    publish: (channel, data) =>
      new Promise((resolve, reject) => s.publish(channel, data, (error) => (error ? reject(error) : resolve()))),
    authenticate: (token) => new Promise((resolve, reject) => s.authenticate(token, callback(resolve, reject))),
    deauthenticate: () =>
      new Promise((resolve, reject) => s.deauthenticate((error) => (error ? reject(error) : resolve()))),
    destroy: () => {
      s.destroy()
      s.off()
      // v14 reports a close error from a timer a tick after the close; with no listener
      // left it would throw into whichever test runs next.
      s.on("error", (e) => errors.push(e as Error))
    }
  }
}

const v2Client = (name: Exclude<ClientName, "14.3.2">, options: Record<string, unknown>): AnyClient => {
  const mod: ClientModule<V2Socket> = require(modules[name])
  const s = mod.create(options)
  const raw: Array<unknown> = []
  const disconnects: Array<Closed> = []
  const kickOuts: Array<{ readonly channel: unknown; readonly message: unknown }> = []
  forEach(s.listener("kickOut"), (e) => kickOuts.push({ channel: e.channel, message: e.message }))
  const errors: Array<Error> = []
  forEach(s.listener("error"), (e) => errors.push(e.error as Error))
  forEach(s.listener("raw"), (e) => raw.push(e.message))
  forEach(s.listener("disconnect"), (e) => disconnects.push({ code: e.code as number, reason: e.reason }))
  return {
    name,
    protocol: 2,
    socket: s,
    raw,
    disconnects,
    kickOuts,
    errors,
    next: async (event) => {
      const e = await s.listener(event).once()
      if (event === "connect") return e
      if (event === "error") return e.error
      if (event === "kickOut") return { channel: e.channel, message: e.message }
      return { code: e.code, reason: e.reason }
    },
    invoke: (event, data, ackTimeout) => s.invoke(event, data, ackTimeout === undefined ? undefined : { ackTimeout }),
    transmit: (event, data) => s.transmit(event, data),
    receive: (event, fn) => forEach(s.receiver(event), fn),
    procedure: (event, fn) =>
      forEach(s.procedure(event), (req) => {
        try {
          req.end(fn(req.data))
        } catch (error) {
          req.error(error)
        }
      }),
    subscribe: async (channel, onData, subscribeOptions) => {
      const ch = s.subscribe(channel, subscribeOptions)
      forEach(ch, onData)
      await ch.listener("subscribe").once()
    },
    unsubscribe: (channel) => s.unsubscribe(channel),
    publish: async (channel, data) => {
      await s.invokePublish(channel, data)
    },
    authenticate: (token) => s.authenticate(token),
    deauthenticate: () => s.deauthenticate(),
    destroy: () => {
      s.disconnect()
      s.closeAllListeners()
      s.closeAllReceivers()
      s.closeAllProcedures()
      s.closeAllChannels()
    }
  }
}

/** Creates a client of release `name` for `port` (not yet connected; destroyed with the scope). */
export const makeClient = (
  name: ClientName,
  port: number,
  options: Record<string, unknown> = {}
): Effect.Effect<AnyClient, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const all = { hostname: "127.0.0.1", port, ...options }
      return name === "14.3.2" ? v1Client(all) : v2Client(name, all)
    }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Creates one client of each release and waits until all are connected; returns them with their `connect` statuses. */
export const connectAll = (
  port: number,
  names: ReadonlyArray<ClientName> = clientNames,
  options: (name: ClientName) => Record<string, unknown> = () => ({})
): Effect.Effect<ReadonlyArray<{ readonly client: AnyClient; readonly status: unknown }>, never, Scope.Scope> =>
  Effect.forEach(
    names,
    (name) =>
      Effect.gen(function* () {
        const client = yield* makeClient(name, port, options(name))
        const status = yield* Effect.promise(() => client.next("connect"))
        return { client, status }
      }),
    { concurrency: "unbounded" }
  )

/** What the server saw of one connection: its detected protocol and every pong (form and time). */
export interface SocketWatch {
  readonly socket: SCSocket
  readonly version: Promise<1 | 2>
  readonly pongs: Array<{ readonly frame: string; readonly at: number }>
  /** Resolves at the first pong received `ms` or more after the connection. */
  pongAfter(ms: number): Promise<void>
}

/** Watches every connection of `server` from its `connection` event on (before its first ping). */
export const watchSockets = (server: SCServer.SCServerCore) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const watches = new Map<string, SocketWatch>()
      const remove = server.hub.listen((event) => {
        if (event._tag !== "Connection") return
        const socket = event.socket
        const connectedAt = Date.now()
        const pongs: Array<{ readonly frame: string; readonly at: number }> = []
        const waiters: Array<{ readonly ms: number; readonly resolve: () => void }> = []
        let resolveVersion: (v: 1 | 2) => void = () => {}
        const version = new Promise<1 | 2>((resolve) => {
          resolveVersion = resolve
        })
        socket.hub.listen((e) => {
          if (e._tag === "ProtocolVersion") resolveVersion(e.version)
          if (e._tag === "Message" && (e.message === "" || e.message === "#2")) {
            const at = Date.now()
            pongs.push({ frame: e.message, at })
            for (let i = waiters.length - 1; i >= 0; i--) {
              if (at - connectedAt >= waiters[i]!.ms) waiters.splice(i, 1)[0]!.resolve()
            }
          }
        })
        watches.set(socket.id, {
          socket,
          version,
          pongs,
          pongAfter: (ms) => new Promise((resolve) => waiters.push({ ms, resolve }))
        })
      })
      return { of: (id: string | null): SocketWatch => watches.get(id ?? "")!, remove }
    }),
    ({ remove }) => Effect.sync(remove)
  )

/** Resolves once `check()` holds, re-checked every event-loop turn (client events land in their own turns). */
export const until = (check: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    const poll = (): void => {
      if (check()) resolve()
      else setImmediate(poll)
    }
    poll()
  })
