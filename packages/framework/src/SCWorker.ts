/**
 * `SCWorker` (`require('socketcluster/scworker')`): the base class of a worker process.
 * It connects to every broker process, builds the HTTP server and the SCServer attached
 * to it (the compat facade, with the brokers as its `Broker` and `DataStore`), calls
 * `run()`, then listens on the shared port (spec framework.md §3). One per process.
 *
 * @example
 * ```js
 * const SCWorker = require("socketcluster/scworker")
 * class Worker extends SCWorker {
 *   run() {
 *     this.scServer.on("connection", (socket) => {
 *       socket.on("count", (_, respond) => this.exchange.add("hits", Date.now(), respond))
 *     })
 *   }
 * }
 * new Worker()
 * ```
 */
import { EventEmitter } from "node:events"
import * as Http from "node:http"
import * as Https from "node:https"
import { BrokerRedis, DataStoreRedis } from "@effect-socketcluster/broker-redis"
import { attach, type SCServer } from "@effect-socketcluster/compat"
import {
  HTTPServerError,
  InvalidActionError,
  InvalidArgumentsError,
  ResourceLimitError
} from "@effect-socketcluster/protocol"
import * as Layer from "effect/Layer"
import * as BrokerClientModule from "./BrokerClient.js"
import { ClusterExchange } from "./ClusterExchange.js"
import { errorToWire, type IpcCallback, inheritedOptions, isMessage, MasterLink } from "./Ipc.js"
import { RateWindow } from "./Status.js"

type StartMiddleware = (options: Record<string, unknown>, next: (error?: unknown) => void) => void

/** Options the worker hands to the SCServer (spec server-api §2). */
const serverKeys = [
  "path",
  "origins",
  "handshakeTimeout",
  "ackTimeout",
  "pingInterval",
  "pingTimeout",
  "pingTimeoutDisabled",
  "allowClientPublish",
  "socketChannelLimit",
  "maxPayload",
  "perMessageDeflate",
  "appName",
  "authKey",
  "authPrivateKey",
  "authPublicKey",
  "authAlgorithm",
  "authVerifyAlgorithms",
  "authDefaultExpiry",
  "authSignAsync",
  "authVerifyAsync",
  "pubSubBatchDuration",
  "middlewareEmitWarnings",
  "authEngine",
  "codecEngine"
]

let instance: SCWorker | undefined

export class SCWorker extends EventEmitter {
  static create(options?: Record<string, unknown>): SCWorker {
    return new SCWorker(options)
  }

  readonly EVENT_ERROR = "error"
  readonly EVENT_WARNING = "warning"
  readonly EVENT_EXIT = "exit"
  readonly EVENT_READY = "ready"
  readonly EVENT_CONNECTION = "connection"
  readonly MIDDLEWARE_START = "start"
  readonly type = "worker"
  readonly id: number
  readonly isLeader: boolean
  readonly options: Record<string, unknown>
  /** Set before `run()` is called. */
  scServer!: SCServer
  httpServer!: Http.Server
  exchange!: ClusterExchange
  brokerEngineClient!: BrokerClientModule.BrokerClient
  isTerminating = false
  private readonly startMiddleware: Array<StartMiddleware> = []
  private readonly master: MasterLink
  private readonly httpRate: RateWindow
  private readonly wsRate: RateWindow

  constructor(ctorOptions: Record<string, unknown> = {}) {
    super()
    if (instance !== undefined) {
      throw new InvalidActionError({ message: "Attempted to instantiate a worker which has already been instantiated" })
    }
    instance = this
    this.options = { ...inheritedOptions(process.env.workerInitOptions), ...ctorOptions }
    this.id = Number(this.options.id ?? 0)
    this.isLeader = this.id === 0
    this.master = new MasterLink(Number(this.options.ipcAckTimeout ?? 10000), "workerMessage", { workerId: this.id })
    const statusInterval = Number(this.options.workerStatusInterval ?? 10000)
    this.httpRate = new RateWindow(statusInterval)
    this.wsRate = new RateWindow(statusInterval)
    if (this.options.propagateErrors !== false) {
      this.on("error", (error: unknown) => this.reportError(error))
      this.on("warning", (warning: unknown) => {
        if (this.options.propagateWarnings !== false)
          process.send?.({ type: "warning", error: errorToWire(warning), pid: process.pid })
      })
      this.on("exit", () => process.exit())
    }
    process.on("message", (message: unknown) => this.onClusterMessage(message))
    process.on("uncaughtException", (error) => this.emitError(error))
    const threshold = this.options.killWorkerMemoryThreshold
    if (typeof threshold === "number") {
      setInterval(() => {
        if (process.memoryUsage().heapUsed <= threshold) return
        this.emitWarning(new ResourceLimitError({ message: `Worker ${this.id} exceeded its memory threshold` }))
        process.exit()
      }, statusInterval).unref()
    }
    queueMicrotask(() => {
      this.boot().catch((error: unknown) => this.emitError(error))
    })
  }

  /** Lifecycle hook: `scServer`, `httpServer` and `exchange` are ready; traffic starts after it resolves. */
  run(): unknown {
    return undefined
  }

  /** Builds the HTTP(S) server (overridable; may return a Promise). */
  createHTTPServer(): Http.Server | Promise<Http.Server> {
    if (this.options.protocol === "https") {
      // An https.Server offers the http.Server API the SCServer and the apps use (request, upgrade, listen).
      return Https.createServer((this.options.protocolOptions ?? {}) as Https.ServerOptions) as unknown as Http.Server
    }
    return Http.createServer()
  }

  getSCServer(): SCServer {
    return this.scServer
  }

  getHTTPServer(): Http.Server {
    return this.httpServer
  }

  getSocketPath(): string {
    return String(this.scServer.options.path ?? "/socketcluster/")
  }

  getStatus(): { clientCount: number; httpRPM: number; wsRPM: number } {
    return { clientCount: this.scServer.clientsCount, httpRPM: this.httpRate.perMinute, wsRPM: this.wsRate.perMinute }
  }

  /** → master `workerMessage(workerId, data, respond)`; `callback(err, data)`. */
  sendToMaster(data: unknown, callback?: IpcCallback): void {
    this.master.send(data, callback)
  }

  addMiddleware(type: string, fn: StartMiddleware): void {
    if (type !== this.MIDDLEWARE_START) {
      throw new InvalidArgumentsError({ message: `Middleware type "${type}" is not supported` })
    }
    this.startMiddleware.push(fn)
  }

  removeMiddleware(type: string, fn: StartMiddleware): void {
    if (type !== this.MIDDLEWARE_START) return
    const i = this.startMiddleware.indexOf(fn)
    if (i >= 0) this.startMiddleware.splice(i, 1)
  }

  emitError(error: unknown): void {
    const e = typeof error === "string" ? new HTTPServerError({ message: error }) : error
    if (this.listenerCount("error") === 0) this.reportError(e)
    else this.emit("error", e)
  }

  emitWarning(warning: unknown): void {
    this.emit("warning", warning)
  }

  /** Stops accepting, closes the sockets and the HTTP server. */
  close(callback?: (error?: unknown) => void): void {
    void this.scServer.dispose().then(() => {
      if (this.httpServer.listening) this.httpServer.close(() => callback?.())
      else callback?.()
    })
  }

  private reportError(error: unknown): void {
    process.send?.({ type: "error", error: errorToWire(error), pid: process.pid })
    if (this.options.crashWorkerOnError !== false) setImmediate(() => process.exit(1))
  }

  private async boot(): Promise<void> {
    const brokers = Array.isArray(this.options.brokers) ? this.options.brokers.map(String) : []
    // v14: failed connections to a broker are warnings until `brokerConnectRetryErrorThreshold`
    // attempts in a row (default 20), then errors.
    const threshold = Number(this.options.brokerConnectRetryErrorThreshold ?? 20)
    const client = new BrokerClientModule.BrokerClient(
      brokers,
      String(this.options.secretKey ?? ""),
      (error, failed) => (failed <= threshold ? this.emitWarning(error) : this.emitError(error)),
      typeof this.options.pubSubBatchDuration === "number" ? this.options.pubSubBatchDuration : undefined
    )
    this.brokerEngineClient = client
    const httpServer = await this.createHTTPServer()
    this.httpServer = httpServer
    const tag = (req: Http.IncomingMessage) => {
      this.httpRate.hit()
      const forwarded = req.headers["x-forwarded-for"]
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim()
      Object.assign(req, {
        exchange: this.exchange,
        forwardedForAddress: first,
        remoteAddress: req.socket.remoteAddress,
        remoteFamily: req.socket.remoteFamily,
        remotePort: req.socket.remotePort
      })
    }
    httpServer.prependListener("request", tag)
    httpServer.prependListener("upgrade", tag)
    httpServer.on("error", (error) => this.emitError(error))
    const serverOptions: Record<string, unknown> = {}
    for (const key of serverKeys) {
      const value = this.options[key]
      if (value !== null && value !== undefined) serverOptions[key] = value
    }
    // With `redisUrl`, pub/sub and data go through Redis (workers on many hosts share them);
    // `exec` and `send` still go to this host's broker processes.
    const redisUrl = typeof this.options.redisUrl === "string" ? this.options.redisUrl : undefined
    const redisPrefix = typeof this.options.redisPrefix === "string" ? this.options.redisPrefix : "sc:"
    const exchangeLayer =
      redisUrl === undefined
        ? BrokerClientModule.layer(client)
        : Layer.mergeAll(
            BrokerRedis.layer({ url: redisUrl, prefix: redisPrefix }),
            DataStoreRedis.layer({ url: redisUrl, prefix: redisPrefix })
          )
    this.scServer = attach(httpServer, {
      ...serverOptions,
      brokerEngine: exchangeLayer,
      exchangeFactory: (host) => {
        this.exchange = new ClusterExchange(host, client, redisUrl === undefined)
        return this.exchange
      }
    })
    Object.assign(httpServer, { exchange: this.exchange })
    this.scServer.on("error", (error: unknown) => this.emitError(error))
    this.scServer.on("warning", (warning: unknown) => this.emitWarning(warning))
    this.scServer.on("connection", (socket: unknown) => {
      this.wsRate.hit()
      this.emit("connection", socket)
    })
    if (!this.scServer.isReady) await new Promise<void>((resolve) => this.scServer.once("ready", () => resolve()))
    this.emit("ready")
    await this.run()
    for (const fn of this.startMiddleware.slice()) {
      await new Promise<void>((resolve, reject) =>
        fn(this.options, (error) => (error == null ? resolve() : reject(error)))
      )
    }
    const port = Number(this.options.sourcePort ?? this.options.port ?? 8000)
    const host = typeof this.options.host === "string" ? this.options.host : undefined
    const backlog = typeof this.options.tcpSynBacklog === "number" ? this.options.tcpSynBacklog : undefined
    await new Promise<void>((resolve) => httpServer.listen(port, host, backlog, () => resolve()))
    process.send?.({ type: "workerReady", workerId: this.id, pid: process.pid })
  }

  private onClusterMessage(message: unknown): void {
    if (!isMessage(message)) return
    if (this.master.receive(message, (data, respond) => this.emit("masterMessage", data, respond))) return
    if (message.type === "terminate") this.terminate(message.immediate === true)
  }

  private terminate(immediate: boolean): void {
    if (immediate) process.exit()
    if (this.isTerminating) return
    this.isTerminating = true
    setTimeout(() => process.exit(), Number(this.options.processTermTimeout ?? 10000)).unref()
    if (this.scServer === undefined) process.exit()
    this.close(() => process.exit())
  }
}
