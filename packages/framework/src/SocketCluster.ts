/**
 * `SocketCluster` (`require('socketcluster')`): the master. It forks the broker processes,
 * then the worker cluster (which forks the workers sharing the port), relays messages,
 * reports every child's errors as `fail` events, relaunches what exits, and restarts the
 * workers on SIGUSR2 one at a time (spec framework.md §1–§2). One per process.
 *
 * @example
 * ```js
 * const SocketCluster = require("socketcluster")
 * const socketCluster = new SocketCluster({
 *   workers: 2,
 *   brokers: 1,
 *   port: 8000,
 *   workerController: require.resolve("./worker.js")
 * })
 * socketCluster.on("ready", () => console.log("serving"))
 * ```
 */
import { type ChildProcess, fork } from "node:child_process"
import { createHash } from "node:crypto"
import { EventEmitter } from "node:events"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { BrokerError, hydrate, InvalidActionError, UnknownError } from "@effect-socketcluster/protocol"
import { childExecArgv, inspectPort } from "./Inspect.js"
import { Ipc, type IpcCallback, type IpcResponse, isMessage, responder } from "./Ipc.js"
import { merge, type Options, validate } from "./Options.js"

let instance: SocketCluster | undefined

/** A default controller of this package (compiled `.js` next to this module, else the `.ts` source). */
const ownController = (name: string): string => {
  const js = fileURLToPath(new URL(`./controllers/${name}.js`, import.meta.url))
  return Fs.existsSync(js) ? js : fileURLToPath(new URL(`./controllers/${name}.ts`, import.meta.url))
}

export interface Origin {
  readonly type: "Master" | "Worker" | "WorkerCluster" | "Broker" | "BrokerEngine"
  readonly pid: number | undefined
}

const asError = (value: unknown): Error => {
  const hydrated = hydrate(value)
  if (hydrated instanceof Error) {
    if (value !== null && typeof value === "object" && typeof Reflect.get(value, "stack") === "string") {
      hydrated.stack = String(Reflect.get(value, "stack"))
    }
    return hydrated
  }
  if (typeof hydrated === "function") return new UnknownError({ message: `[function ${hydrated.name}]` })
  return new UnknownError({ message: hydrated === undefined ? "undefined" : JSON.stringify(hydrated) })
}

const exitError = (message: string, code: number | null, signal: NodeJS.Signals | null): Error =>
  Object.assign(
    new Error(signal ? `${message} with code ${code} and signal ${signal}` : `${message} with code ${code}`),
    {
      name: "ProcessExitError",
      code,
      signal
    }
  )

export class SocketCluster extends EventEmitter {
  static create(options: Options): SocketCluster {
    return new SocketCluster(options)
  }

  readonly EVENT_FAIL = "fail"
  readonly EVENT_WARNING = "warning"
  readonly EVENT_INFO = "info"
  readonly EVENT_READY = "ready"
  readonly EVENT_WORKER_START = "workerStart"
  readonly EVENT_WORKER_EXIT = "workerExit"
  readonly EVENT_BROKER_START = "brokerStart"
  readonly EVENT_BROKER_EXIT = "brokerExit"
  readonly EVENT_WORKER_CLUSTER_START = "workerClusterStart"
  readonly EVENT_WORKER_CLUSTER_READY = "workerClusterReady"
  readonly EVENT_WORKER_CLUSTER_EXIT = "workerClusterExit"

  readonly options: Options
  readonly appDirPath: string
  workerCluster: ChildProcess | null = null
  isWorkerClusterReady = false
  private readonly brokers: Array<ChildProcess | undefined> = []
  private readonly brokerStarted = new Set<number>()
  private brokerPaths: Array<string> = []
  private readonly ipc: Ipc
  private readonly workerQueue: Array<() => void> = []
  private readyEmitted = false
  private workerClusterLaunched = false
  private destroying = false
  private readonly destroyCallbacks: Array<() => void> = []
  private readonly onSignal = () => this.handleSigusr2()

  constructor(options: Options) {
    super()
    if (instance !== undefined) {
      throw new InvalidActionError({
        message: "The SocketCluster master object is a singleton; it can only be instantiated once per process"
      })
    }
    instance = this
    this.options = merge(options)
    this.appDirPath = Path.dirname(process.argv[1] ?? process.cwd())
    if (typeof options.run === "function") this.run = options.run as () => void
    this.ipc = new Ipc(Number(this.options.ipcAckTimeout ?? 10000))
    queueMicrotask(() => {
      try {
        this.init()
      } catch (error) {
        this.emitFail(error, { type: "Master", pid: process.pid })
      }
    })
  }

  /** Hook called once after `ready`. */
  run(): void {}

  log(message: string, time: number = Date.now()): void {
    console.log(`${time} - ${message}`)
  }

  emitFail(error: unknown, origin: Origin): void {
    const e = asError(error)
    Object.assign(e, { origin, time: Date.now() })
    if (Number(this.options.logLevel) >= 1) console.error(e.stack ?? e.message)
    this.emit("fail", e)
  }

  emitWarning(warning: unknown, origin: Origin): void {
    const e = asError(warning)
    Object.assign(e, { origin, time: Date.now() })
    if (Number(this.options.logLevel) >= 2) console.warn(e.stack ?? e.message)
    this.emit("warning", e)
  }

  private init(): void {
    validate(this.options)
    const o = this.options
    const resolvePath = (p: unknown) => (p == null ? null : Path.resolve(String(p)))
    const appName = String(o.appName)
    const dirHash = createHash("md5").update(this.appDirPath).digest("hex").slice(0, 10)
    const socketDir =
      o.socketRoot == null
        ? Path.join(Os.tmpdir(), "socketcluster", `${appName.slice(0, 13)}_${dirHash}`)
        : String(o.socketRoot)
    Fs.rmSync(socketDir, { recursive: true, force: true })
    Fs.mkdirSync(socketDir, { recursive: true })
    const brokerCount = Number(o.brokers)
    this.brokerPaths = Array.from({ length: brokerCount }, (_, i) => Path.join(socketDir, `b${i}`))
    const paths = {
      appDirPath: this.appDirPath,
      statusURL: "/~status",
      appWorkerControllerPath: resolvePath(o.workerController),
      appWorkerClusterControllerPath: resolvePath(o.workerClusterController) ?? ownController("workercluster"),
      wsEnginePath: o.wsEngine,
      appBrokerControllerPath: resolvePath(o.brokerController) ?? ownController("broker")
    }
    o.paths = paths
    for (let id = 0; id < brokerCount; id++) this.launchBroker(id)
  }

  /** The options as the children get them (JSON: functions dropped). */
  private childOptions(extra: Options): string {
    return JSON.stringify({ ...this.options, ...extra })
  }

  private launchBroker(id: number): void {
    const socketPath = this.brokerPaths[id] as string
    const paths = this.options.paths as Record<string, string>
    const basePort = inspectPort(process.argv.slice(2), "brokers", Number(this.options.defaultBrokerDebugPort))
    const debugPort = basePort === undefined ? undefined : basePort + id
    const text = this.childOptions({
      id,
      socketPath,
      brokers: this.brokerPaths.length,
      expiryAccuracy: 1000,
      debugPort: debugPort ?? null
    })
    const child = fork(paths.appBrokerControllerPath as string, [text], {
      env: { ...process.env, brokerInitOptions: text },
      execArgv: childExecArgv(process.execArgv, debugPort)
    })
    this.brokers[id] = child
    const respawn = this.brokerStarted.has(id)
    child.on("message", (message: unknown) => {
      if (!isMessage(message)) return
      if (message.type === "brokerReady") {
        this.brokerStarted.add(id)
        this.emit("brokerStart", { id, pid: child.pid, respawn })
        if (!this.workerClusterLaunched && this.brokerStarted.size === this.brokerPaths.length) {
          this.workerClusterLaunched = true
          this.launchWorkerCluster()
        }
      } else if (message.type === "brokerMessage") {
        this.emit(
          "brokerMessage",
          id,
          message.data,
          responder(message.cid, (r) => child.send(r))
        )
      } else if (message.type === "response") this.ipc.settle(message as IpcResponse)
      else if (message.type === "error") this.emitFail(message.error, { type: "Broker", pid: child.pid })
    })
    child.on("exit", (code, signal) => {
      if (this.brokers[id] === child) this.brokers[id] = undefined
      this.emitFail(exitError(`Broker server at socket path ${socketPath} exited`, code, signal), {
        type: "BrokerEngine",
        pid: child.pid
      })
      this.emit("brokerExit", { id, pid: child.pid, code, signal })
      if (this.destroying) this.checkDestroyed()
      else this.launchBroker(id)
    })
  }

  private launchWorkerCluster(): void {
    const paths = this.options.paths as Record<string, string>
    const text = this.childOptions({
      sourcePort: this.options.port,
      workerCount: this.options.workers,
      brokers: this.brokerPaths
    })
    const debugPort = inspectPort(process.argv.slice(2), "workers", Number(this.options.defaultWorkerDebugPort))
    const child = fork(paths.appWorkerClusterControllerPath as string, [], {
      env: { ...process.env, workerInitOptions: text },
      execArgv: childExecArgv(process.execArgv, debugPort)
    })
    this.workerCluster = child
    this.emit("workerClusterStart", { pid: child.pid, childProcess: child })
    child.on("message", (message: unknown) => {
      if (!isMessage(message)) return
      switch (message.type) {
        case "workerStart":
          return void this.emit("workerStart", { id: message.id, pid: message.pid, respawn: message.respawn })
        case "workerExit":
          return void this.emit("workerExit", {
            id: message.id,
            pid: message.pid,
            code: message.code,
            signal: message.signal
          })
        case "workerClusterReady":
          return this.onWorkerClusterReady(child)
        case "workerMessage": {
          const workerId = message.workerId
          return void this.emit(
            "workerMessage",
            workerId,
            message.data,
            responder(message.cid, (r) => child.send(r), { workerId })
          )
        }
        case "response":
          return this.ipc.settle(message as IpcResponse)
        case "error":
          return this.emitFail(message.error, {
            type: message.origin === "Worker" ? "Worker" : "WorkerCluster",
            pid: typeof message.pid === "number" ? message.pid : child.pid
          })
        case "warning":
          return this.emitWarning(message.error, {
            type: "Worker",
            pid: typeof message.pid === "number" ? message.pid : undefined
          })
      }
    })
    child.on("exit", (code, signal) => {
      this.isWorkerClusterReady = false
      this.workerCluster = null
      this.workerQueue.length = 0
      this.emit("workerClusterExit", { pid: child.pid, code, signal, childProcess: child })
      if (code !== 0 && code !== null) {
        this.emitFail(exitError("WorkerCluster exited", code, signal), { type: "WorkerCluster", pid: child.pid })
      }
      if (this.destroying) this.checkDestroyed()
      else this.launchWorkerCluster()
    })
  }

  private onWorkerClusterReady(child: ChildProcess): void {
    this.isWorkerClusterReady = true
    if (!this.readyEmitted) {
      this.readyEmitted = true
      if (this.options.rebootOnSignal !== false) process.on("SIGUSR2", this.onSignal)
      this.emit("ready")
      this.run()
    }
    this.emit("workerClusterReady", { pid: child.pid, childProcess: child })
    for (const send of this.workerQueue.splice(0)) send()
  }

  /** → worker `masterMessage(data, respond)`; `callback(err, data, workerId)`. Queued until the workers are ready. */
  sendToWorker(workerId: number, data: unknown, callback?: IpcCallback): void {
    const send = () => {
      const cid = this.ipc.expect(callback, [workerId])
      this.workerCluster?.send({ type: "masterMessage", workerId, data, cid })
    }
    if (this.isWorkerClusterReady) send()
    else this.workerQueue.push(send)
  }

  /** → broker `masterMessage(data, respond)`; `callback(err, data, brokerId)`. */
  sendToBroker(brokerId: number, data: unknown, callback?: IpcCallback): void {
    if (this.brokerPaths.length === 0) {
      throw new InvalidActionError({ message: "Cannot send a message to a broker until the master instance is ready" })
    }
    const broker = this.brokers[brokerId]
    if (broker === undefined) {
      const error = new BrokerError({ message: `Broker with id ${brokerId} does not exist` })
      this.emitFail(error, { type: "Master", pid: process.pid })
      callback?.(error, undefined, brokerId)
      return
    }
    const cid = this.ipc.expect(callback, [brokerId])
    broker.send({ type: "masterMessage", data, cid })
  }

  /** Terminates every worker (`immediate`: at once; else gracefully within `processTermTimeout`); they respawn. */
  killWorkers(options: { immediate?: boolean; killClusterMaster?: boolean } = {}): void {
    this.workerCluster?.send({
      type: "terminate",
      immediate: options.immediate === true,
      killClusterMaster: options.killClusterMaster === true
    })
  }

  /** SIGTERM to every broker; they are relaunched (their data is lost). */
  killBrokers(): void {
    for (const broker of this.brokers) broker?.kill("SIGTERM")
  }

  private handleSigusr2(): void {
    const immediate = this.options.environment === "dev"
    const how = immediate ? "immediately" : "gracefully within processTermTimeout limit"
    const warning = Object.assign(new Error(`Master received SIGUSR2 signal - Shutting down all workers ${how}`), {
      name: "ProcessExitError",
      code: null,
      signal: "SIGUSR2"
    })
    this.emitWarning(warning, { type: "Master", pid: process.pid })
    this.workerCluster?.send({ type: "rollingRestart", immediate })
    if (this.options.killMasterOnSignal === true) process.exit()
  }

  /** Stops everything (no relaunch); `callback` once the worker cluster and every broker exited. */
  destroy(callback?: () => void): void {
    if (callback !== undefined) this.destroyCallbacks.push(callback)
    if (this.destroying) return
    this.destroying = true
    this.killWorkers({ killClusterMaster: true, immediate: false })
    this.killBrokers()
    this.checkDestroyed()
  }

  private checkDestroyed(): void {
    if (this.workerCluster !== null || this.brokers.some((b) => b !== undefined)) return
    setTimeout(() => {
      if (instance === this) instance = undefined
      process.off("SIGUSR2", this.onSignal)
      this.removeAllListeners()
      for (const cb of this.destroyCallbacks.splice(0)) cb()
    }, 0)
  }
}
