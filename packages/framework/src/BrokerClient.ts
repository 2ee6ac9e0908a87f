/**
 * A worker's connections to the broker processes (one Unix socket each), and the two
 * contracts the server needs over them: the `Broker` (pub/sub, channels sharded by
 * {@link hash}) and the `DataStore` (key chains sharded by their first key).
 *
 * Each connection reconnects after 200–300 ms, growing ×1.3 up to 1 s (v14's schedule),
 * re-sends `init` and re-subscribes its channels; commands issued while it is down wait
 * for it. A command without an answer within 10 s fails with `Timeout` (v14:
 * "Broker Error - The <action> action timed out").
 */
import * as Net from "node:net"
import { BrokerError, hydrate, TimeoutError } from "@effect-socketcluster/protocol"
import { Broker, type DataCommand, DataCommand as DataCommands, DataStore } from "@effect-socketcluster/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { hash } from "./Hash.js"
import { type Request, readLines, write } from "./Wire.js"

type Command = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never
type Callback = (error: unknown, value?: unknown) => void

const answerTimeoutMs = 10_000

/** The connection to one broker. */
class Connection {
  private socket: Net.Socket | undefined
  private connected = false
  private nextId = 1
  private delay = 200
  private closed = false
  private readonly waiting = new Map<number, { readonly callback: Callback; readonly timer: NodeJS.Timeout }>()
  private readonly queue: Array<Request> = []
  readonly channels = new Set<string>()

  constructor(
    readonly index: number,
    private readonly path: string,
    private readonly secretKey: string,
    private readonly onPublish: (channel: string, data: unknown) => void,
    private readonly onNotice: (notice: Broker.BrokerNotice) => void,
    private readonly onReady: () => void,
    private readonly onSocketError: (error: Error, failedAttempts: number) => void,
    /** v14's `pubSubBatchDuration`: commands written within this many ms leave as one write. */
    private readonly batchMs: number | undefined
  ) {
    this.open()
  }

  private lostAt = 0
  /** Connection attempts that failed since the last successful one (v14's `connectAttempts`). */
  private failedAttempts = 0

  private open(): void {
    const socket = Net.createConnection(this.path)
    this.socket = socket
    socket.on("connect", () => {
      this.delay = 200
      this.failedAttempts = 0
      const init: Request = { id: this.nextId++, action: "init", secretKey: this.secretKey }
      this.track(init.id, "init", (error) => {
        if (error != null) {
          this.onNotice({ _tag: "ConnectionLost", message: String(Reflect.get(Object(error), "message") ?? error) })
          return
        }
        this.connected = true
        for (const channel of this.channels) this.send({ action: "subscribe", channel }, () => {})
        for (const request of this.queue.splice(0)) write(socket, request)
        if (this.lostAt > 0) {
          this.onNotice({
            _tag: "ConnectionRestored",
            downtimeMs: Date.now() - this.lostAt,
            resubscribed: this.channels.size
          })
          this.lostAt = 0
        }
        this.onReady()
      })
      write(socket, init)
    })
    readLines(
      socket,
      (value) => this.receive(value),
      () => socket.destroy()
    )
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const refused = error.code === "ENOENT" || error.code === "ECONNREFUSED"
      if (refused) this.failedAttempts++
      this.onSocketError(error, refused ? this.failedAttempts : Number.POSITIVE_INFINITY)
    })
    socket.on("close", () => {
      const wasConnected = this.connected
      this.connected = false
      if (this.closed) return
      if (wasConnected) {
        this.lostAt = Date.now()
        this.onNotice({ _tag: "ConnectionLost", message: `Lost the connection to broker ${this.index}` })
      }
      const wait = this.delay + Math.random() * 100
      this.delay = Math.min(this.delay * 1.3, 1000)
      setTimeout(() => this.open(), wait).unref()
    })
  }

  private receive(value: unknown): void {
    if (value === null || typeof value !== "object") return
    const message = value as {
      type?: unknown
      id?: unknown
      channel?: unknown
      data?: unknown
      value?: unknown
      error?: unknown
    }
    if (message.type === "publish" && typeof message.channel === "string") {
      this.onPublish(message.channel, message.data)
      return
    }
    if (message.type !== "response" || typeof message.id !== "number") return
    const entry = this.waiting.get(message.id)
    if (entry === undefined) return
    this.waiting.delete(message.id)
    clearTimeout(entry.timer)
    if (message.error != null) entry.callback(hydrate(message.error))
    else entry.callback(null, message.value)
  }

  private track(id: number, action: string, callback: Callback): void {
    const timer = setTimeout(() => {
      this.waiting.delete(id)
      callback(new TimeoutError({ message: `Broker Error - The ${action} action timed out` }))
    }, answerTimeoutMs)
    this.waiting.set(id, { callback, timer })
  }

  /** Sends a command; `callback` gets the answer (none for `noAck` commands). */
  send(command: Command, callback?: Callback): void {
    const request = { ...command, id: this.nextId++ } as Request
    if (callback !== undefined) {
      const action = command.action === "data" ? command.command.action : command.action
      this.track(request.id, action, callback)
    }
    if (!this.connected || this.socket === undefined) this.queue.push(request)
    else if (this.batchMs === undefined) write(this.socket, request)
    else this.batched(this.socket, request)
  }

  private batch = ""

  /** Adds to the pending batch (every command, so none overtakes another); one write when the timer fires. */
  private batched(socket: Net.Socket, request: Request): void {
    if (this.batch.length === 0) {
      setTimeout(() => {
        const text = this.batch
        this.batch = ""
        if (!socket.destroyed) socket.write(text)
      }, this.batchMs)
    }
    this.batch += `${JSON.stringify(request)}\n`
  }

  get isConnected(): boolean {
    return this.connected
  }

  close(): void {
    this.closed = true
    this.socket?.destroy()
    for (const [id, entry] of this.waiting) {
      clearTimeout(entry.timer)
      this.waiting.delete(id)
      entry.callback(new BrokerError({ message: "The broker client was closed" }))
    }
  }
}

/**
 * v14's `exchange.setMapper(fn)`: `fn(keyChain, method, brokerIds)` picks the broker of a
 * data or `exec` command — a number (taken mod the broker count) or an array of them.
 */
export type Mapper = (key: unknown, method: string, brokerIds: Array<string>) => unknown

/** The broker indexes a mapper's answer names (numbers mod `brokers`; anything else names none). */
export const mappedIndexes = (answer: unknown, brokers: number): Array<number> => {
  const wrap = (n: number) => ((Math.trunc(n) % brokers) + brokers) % brokers
  if (typeof answer === "number" && Number.isFinite(answer)) return [wrap(answer)]
  if (Array.isArray(answer)) return answer.filter((n) => typeof n === "number" && Number.isFinite(n)).map(wrap)
  return []
}

/** Every broker connection of this worker. */
export class BrokerClient {
  readonly connections: ReadonlyArray<Connection>
  /** Set by `exchange.setMapper`: routes data commands (channels and `send` keep v14's hash). */
  mapper: Mapper | undefined
  private readonly handlers = new Set<Broker.PublicationHandler>()
  private readonly noticeListeners = new Set<(notice: Broker.BrokerNotice) => void>()
  private readonly readyWaiters: Array<() => void> = []

  /**
   * `onSocketError(error, failedAttempts)`: a socket error of a broker connection, with the
   * number of failed connection attempts in a row (`Infinity` when it is not a failure to connect).
   */
  constructor(
    paths: ReadonlyArray<string>,
    secretKey: string,
    onSocketError: (error: Error, failedAttempts: number) => void = () => {},
    pubSubBatchDuration?: number
  ) {
    this.connections = paths.map(
      (path, i) =>
        new Connection(
          i,
          path,
          secretKey,
          (channel, data) => {
            for (const handler of this.handlers) handler(channel, data)
          },
          (notice) => {
            for (const listener of this.noticeListeners) listener(notice)
          },
          () => {
            if (this.isReady) for (const resolve of this.readyWaiters.splice(0)) resolve()
          },
          onSocketError,
          pubSubBatchDuration
        )
    )
  }

  get isReady(): boolean {
    return this.connections.every((c) => c.isConnected)
  }

  /** The connection holding a channel or key. */
  of(key: unknown): Connection {
    return this.connections[hash(key, this.connections.length)] as Connection
  }

  /** The broker indexes of a data or `exec` command (the mapper's, else the hash of the chain's first key). */
  dataIndexes(key: unknown, method: string): Array<number> {
    if (this.mapper === undefined) return [hash(key, this.connections.length)]
    const ids = this.connections.map((_, i) => String(i))
    return mappedIndexes(this.mapper(key, method, ids), this.connections.length)
  }

  whenReady(resolve: () => void): void {
    if (this.isReady) resolve()
    else this.readyWaiters.push(resolve)
  }

  close(): void {
    for (const c of this.connections) c.close()
  }

  /** One command as an Effect, its failure mapped by `toError`. */
  call<E>(connection: Connection, command: Command, toError: (cause: unknown) => E): Effect.Effect<unknown, E> {
    return Effect.callback<unknown, E>((resume) => {
      connection.send(command, (error, value) =>
        resume(error == null ? Effect.succeed(value) : Effect.fail(toError(error)))
      )
    })
  }

  /** The `Broker` contract over these connections. */
  broker(): Broker.BrokerShape {
    // A remote error (e.g. a broker middleware's `next(err)`) keeps its own properties,
    // `name` included, as v14 rebuilt it; its tag stays `BrokerError` for Effect code.
    const brokerError = (cause: unknown) => {
      if (cause instanceof BrokerError) return cause
      const error = new BrokerError({ message: String(Reflect.get(Object(cause), "message") ?? cause) })
      if (cause instanceof Error) {
        for (const key of Object.keys(cause)) if (key !== "message") Reflect.set(error, key, Reflect.get(cause, key))
        if (cause.name !== "Error") Reflect.set(error, "name", cause.name)
      }
      return error
    }
    return {
      subscribe: (channel) => {
        const c = this.of(channel)
        c.channels.add(channel)
        return Effect.asVoid(this.call(c, { action: "subscribe", channel }, brokerError)).pipe(
          Effect.tapError(() => Effect.sync(() => c.channels.delete(channel)))
        )
      },
      unsubscribe: (channel) => {
        const c = this.of(channel)
        c.channels.delete(channel)
        return Effect.asVoid(this.call(c, { action: "unsubscribe", channel }, brokerError))
      },
      publish: (channel, data) =>
        Effect.asVoid(this.call(this.of(channel), { action: "publish", channel, data }, brokerError)),
      onPublication: (handler) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            this.handlers.add(handler)
          }),
          () =>
            Effect.sync(() => {
              this.handlers.delete(handler)
            })
        ),
      ready: Effect.callback<void>((resume) => this.whenReady(() => resume(Effect.void))),
      notices: Stream.callback<Broker.BrokerNotice>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            const listener = (notice: Broker.BrokerNotice) => {
              Queue.offerUnsafe(queue, notice)
            }
            this.noticeListeners.add(listener)
            return listener
          }),
          (listener) => Effect.sync(() => this.noticeListeners.delete(listener))
        )
      )
    }
  }

  /** The `DataStore` contract over these connections: each chain lives on the broker of its first key. */
  dataStore(): DataStore.DataStoreShape {
    const dataError = (cause: unknown) =>
      new DataStore.DataStoreError({
        reason: cause instanceof TimeoutError ? "Timeout" : cause instanceof BrokerError ? "Unavailable" : "Remote",
        message: String(Reflect.get(Object(cause), "message") ?? cause),
        cause
      })
    const on = (c: Connection, command: DataCommand.DataCommand) => this.call(c, { action: "data", command }, dataError)
    const holder = (key: DataStore.KeyChain, method: string): Effect.Effect<Connection, DataStore.DataStoreError> => {
      const c = this.connections[this.dataIndexes(key, method)[0] ?? -1]
      return c === undefined
        ? Effect.fail(
            new DataStore.DataStoreError({
              reason: "InvalidArguments",
              message: `The exchange's mapper picked no broker for ${method}`
            })
          )
        : Effect.succeed(c)
    }
    const all = (command: DataCommand.DataCommand) => Effect.forEach(this.connections, (c) => on(c, command))
    return DataCommands.fromRunner((command) => {
      switch (command.action) {
        case "getAll":
          return Effect.map(all(command), (parts) => Object.assign({}, ...parts.map((p) => Object(p))))
        case "removeAll":
          return Effect.asVoid(all(command))
        case "expire":
        case "unexpire": {
          return Effect.gen(function* () {
            const groups = new Map<Connection, Array<DataStore.KeyChain>>()
            for (const key of command.keys) {
              const c = yield* holder(key, command.action)
              groups.set(c, [...(groups.get(c) ?? []), key])
            }
            yield* Effect.forEach(groups, ([c, keys]) => on(c, { ...command, keys }))
          })
        }
        default:
          return Effect.flatMap(holder(command.key, command.action), (c) => on(c, command))
      }
    })
  }
}

/** The worker's `Broker` and `DataStore` over broker processes, as one layer (the client closes with it). */
export const layer = (client: BrokerClient): Layer.Layer<Broker.Broker | DataStore.DataStore> =>
  Layer.succeedContext(
    Context.make(Broker.Broker, client.broker()).pipe(Context.add(DataStore.DataStore, client.dataStore()))
  )
