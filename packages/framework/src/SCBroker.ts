/**
 * `SCBroker` (`require('socketcluster/scbroker')`): the base class of a broker process.
 * Each broker holds the data and channel subscriptions that hash to it and serves the
 * workers over a Unix domain socket (spec framework.md §4). One per process.
 *
 * @example
 * ```js
 * const SCBroker = require("socketcluster/scbroker")
 * class Broker extends SCBroker {
 *   run() {
 *     this.on("message", (data, respond) => respond(null, { echo: data }))
 *   }
 * }
 * new Broker()
 * ```
 */
import { EventEmitter } from "node:events"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { BrokerError, dehydrate, InvalidActionError, InvalidArgumentsError } from "@effect-socketcluster/protocol"
import { DataCommand, Expiries, KeyChainMap } from "@effect-socketcluster/server"
import { prefixQueryError, runQuery } from "./Exec.js"
import { errorToWire, type IpcCallback, inheritedOptions, isMessage, MasterLink, responder } from "./Ipc.js"
import { type Request, type Response, readLines, write } from "./Wire.js"

type Middleware = (req: Record<string, unknown>, next: (error?: unknown) => void) => void

/** One worker's connection to this broker. */
export interface BrokerConnection {
  readonly id: string
  readonly socket: Net.Socket
  initialized: boolean
}

let instance: SCBroker | undefined

export class SCBroker extends EventEmitter {
  static create(options?: Record<string, unknown>): SCBroker {
    return new SCBroker(options)
  }

  readonly type = "broker"
  readonly MIDDLEWARE_SUBSCRIBE = "subscribe"
  readonly MIDDLEWARE_PUBLISH_IN = "publishIn"
  readonly id: number
  readonly debugPort: number | undefined
  readonly options: Record<string, unknown>
  readonly instanceId: unknown
  readonly secretKey: unknown
  readonly ipcAckTimeout: number
  readonly socketPath: string
  /** All data of this broker (key chains; see `KeyChainMap`). */
  readonly dataMap = new KeyChainMap.KeyChainMap()
  /** Expiry times of this broker's key chains. */
  readonly dataExpirer = new Expiries.Expiries()
  /** `{[connectionId]: {[channel]: connection}}` — one entry per worker connection. */
  readonly subscriptions: Record<string, Record<string, BrokerConnection>> = {}
  private readonly middleware: Record<string, Array<Middleware>> = { subscribe: [], publishIn: [] }
  private readonly connections = new Map<string, BrokerConnection>()
  private readonly master: MasterLink
  private server: Net.Server | undefined
  private nextConnectionId = 0

  constructor(ctorOptions: Record<string, unknown> = {}) {
    super()
    if (instance !== undefined) {
      throw new BrokerError({ message: "Attempted to instantiate a broker which has already been instantiated" })
    }
    instance = this
    const options = { ...inheritedOptions(process.env.brokerInitOptions ?? process.argv[2]), ...ctorOptions }
    this.options = options
    this.id = Number(options.id ?? 0)
    this.debugPort = typeof options.debugPort === "number" ? options.debugPort : undefined
    this.instanceId = options.instanceId
    this.secretKey = options.secretKey
    this.ipcAckTimeout = typeof options.ipcAckTimeout === "number" ? options.ipcAckTimeout : 10000
    this.socketPath = String(options.socketPath ?? "")
    this.master = new MasterLink(this.ipcAckTimeout, "brokerMessage", { brokerId: this.id })
    process.on("message", (message: unknown) => this.onMasterMessage(message))
    process.on("uncaughtException", (error) => this.crash(error))
    process.on("SIGTERM", () => this.terminate())
    process.on("disconnect", () => this.terminate())
    const accuracy = typeof options.expiryAccuracy === "number" ? options.expiryAccuracy : 1000
    setInterval(() => DataCommand.sweep(this.dataMap, this.dataExpirer, Date.now()), accuracy).unref()
    // After the subclass constructor: `run` is the subclass's.
    queueMicrotask(() => {
      Promise.resolve()
        .then(() => this.run())
        .then(() => this.listen())
        .catch((error: unknown) => this.crash(error))
    })
  }

  /** Lifecycle hook: runs before the broker accepts workers (may return a Promise). */
  run(): unknown {
    return undefined
  }

  /** → master `brokerMessage(brokerId, data, respond)`; `callback(err, data)`. */
  sendToMaster(data: unknown, callback?: IpcCallback): void {
    this.master.send(data, callback)
  }

  /** Delivers to every worker connection subscribed to `channel` on this broker (no `publish` event). */
  publish(channel: string, data: unknown): void {
    const message: Response = { type: "publish", channel, data }
    for (const subs of Object.values(this.subscriptions)) {
      const connection = subs[channel]
      if (connection !== undefined) write(connection.socket, message)
    }
  }

  /** Runs `query` (a function or its source) against `dataMap` (or the value at `baseKey`). Arbitrary JavaScript. */
  exec(query: unknown, baseKey?: unknown): unknown {
    const target = baseKey === undefined ? this.dataMap : this.dataMap.get(baseKey as string)
    return runQuery(String(query), target, this.dataExpirer, this.subscriptions)
  }

  addMiddleware(type: string, fn: Middleware): void {
    const list = this.middleware[type]
    if (list === undefined) throw new InvalidArgumentsError({ message: `Middleware type "${type}" is not supported` })
    list.push(fn)
  }

  removeMiddleware(type: string, fn: Middleware): void {
    const list = this.middleware[type]
    if (list === undefined) return
    const i = list.indexOf(fn)
    if (i >= 0) list.splice(i, 1)
  }

  private listen(): void {
    if (this.socketPath.length > 0 && process.platform !== "win32") Fs.rmSync(this.socketPath, { force: true })
    const server = Net.createServer((socket) => this.accept(socket))
    this.server = server
    server.on("error", (error) => this.crash(error))
    server.listen(this.socketPath, () => process.send?.({ type: "brokerReady", brokerId: this.id, pid: process.pid }))
  }

  private accept(socket: Net.Socket): void {
    const connection: BrokerConnection = { id: String(this.nextConnectionId++), socket, initialized: false }
    this.connections.set(connection.id, connection)
    socket.on("error", () => socket.destroy())
    socket.on("close", () => this.drop(connection))
    readLines(
      socket,
      (value) => this.handle(connection, value as Request),
      () => socket.destroy()
    )
  }

  private drop(connection: BrokerConnection): void {
    this.connections.delete(connection.id)
    const subs = this.subscriptions[connection.id]
    delete this.subscriptions[connection.id]
    if (subs === undefined) return
    for (const channel of Object.keys(subs)) if (!this.anySubscribed(channel)) this.emit("unsubscribe", channel)
  }

  private anySubscribed(channel: string): boolean {
    for (const subs of Object.values(this.subscriptions)) if (subs[channel] !== undefined) return true
    return false
  }

  private answer(connection: BrokerConnection, id: number, error: unknown, value?: unknown): void {
    const response: Response =
      error == null
        ? value === undefined
          ? { type: "response", id }
          : { type: "response", id, value }
        : { type: "response", id, error: dehydrate(error) }
    write(connection.socket, response)
  }

  private handle(connection: BrokerConnection, request: Request): void {
    if (request === null || typeof request !== "object" || typeof request.id !== "number") return
    if (request.action === "init") {
      if (this.secretKey == null || request.secretKey === this.secretKey) {
        connection.initialized = true
        this.answer(connection, request.id, null, { id: this.id, pid: process.pid })
      } else
        this.answer(connection, request.id, new BrokerError({ message: "Invalid password was supplied to the broker" }))
      return
    }
    if (!connection.initialized) {
      this.answer(connection, request.id, new BrokerError({ message: "Cannot process command before init handshake" }))
      return
    }
    switch (request.action) {
      case "subscribe":
        return this.runMiddleware("subscribe", { socket: connection, channel: request.channel }, (error) => {
          if (error != null) return this.answer(connection, request.id, error)
          const had = this.anySubscribed(request.channel)
          const subs = this.subscriptions[connection.id] ?? {}
          this.subscriptions[connection.id] = subs
          subs[request.channel] = connection
          if (!had) this.emit("subscribe", request.channel)
          this.answer(connection, request.id, null)
        })
      case "unsubscribe": {
        const subs = this.subscriptions[connection.id]
        if (subs?.[request.channel] !== undefined) {
          delete subs[request.channel]
          if (!this.anySubscribed(request.channel)) this.emit("unsubscribe", request.channel)
        }
        return this.answer(connection, request.id, null)
      }
      case "publish": {
        const command = { value: request.data }
        return this.runMiddleware("publishIn", { socket: connection, channel: request.channel, command }, (error) => {
          if (error != null) return this.answer(connection, request.id, error)
          this.publish(request.channel, command.value)
          this.emit("publish", request.channel, command.value)
          this.answer(connection, request.id, null, command.value)
        })
      }
      case "data": {
        const invalid = DataCommand.validate(request.command)
        if (invalid !== undefined) return this.answer(connection, request.id, invalid)
        return this.answer(
          connection,
          request.id,
          null,
          DataCommand.apply(this.dataMap, this.dataExpirer, Date.now(), request.command)
        )
      }
      case "exec": {
        let result: unknown
        let failure: unknown
        try {
          result = this.exec(request.source)
        } catch (error) {
          failure = prefixQueryError(error) ?? "Exception at exec(): undefined"
        }
        if (request.noAck === true) return
        return this.answer(connection, request.id, failure, failure === undefined ? result : undefined)
      }
      case "send":
        // v14: a broker without a `message` listener never answers (the worker times out).
        if (this.listenerCount("message") === 0) return
        return void this.emit(
          "message",
          request.data,
          responder(request.id, (r) => this.answer(connection, request.id, r.error ?? null, r.data))
        )
      default:
        return this.answer(
          connection,
          (request as Request).id,
          new InvalidActionError({ message: "Unknown broker action" })
        )
    }
  }

  private runMiddleware(type: string, req: Record<string, unknown>, done: (error?: unknown) => void): void {
    const list = (this.middleware[type] ?? []).slice()
    let i = 0
    const next = (error?: unknown): void => {
      if (error != null) return done(error)
      const fn = list[i++]
      if (fn === undefined) return done()
      let called = false
      try {
        fn(req, (e) => {
          if (called) {
            this.emit(
              "warning",
              new InvalidActionError({ message: `Callback for ${type} middleware was already called` })
            )
            return
          }
          called = true
          next(e)
        })
      } catch (thrown) {
        if (!called) {
          called = true
          next(thrown)
        }
      }
    }
    next()
  }

  private onMasterMessage(message: unknown): void {
    if (isMessage(message)) this.master.receive(message, (data, respond) => this.emit("masterMessage", data, respond))
  }

  private crash(error: unknown): void {
    const wire = errorToWire(error)
    if (wire !== null && typeof wire === "object" && Reflect.get(wire, "name") === "Error")
      Reflect.set(wire, "name", "BrokerError")
    process.send?.({ type: "error", error: wire, pid: process.pid })
    process.exit(1)
  }

  private terminating = false
  private terminate(): void {
    if (this.terminating) return
    this.terminating = true
    const timeout = typeof this.options.processTermTimeout === "number" ? this.options.processTermTimeout : 10000
    setTimeout(() => process.exit(), timeout).unref()
    for (const connection of this.connections.values()) connection.socket.destroy()
    if (this.server === undefined) process.exit()
    else this.server.close(() => process.exit())
  }
}
