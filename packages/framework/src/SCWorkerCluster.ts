/**
 * `SCWorkerCluster` (`require('socketcluster/scworkercluster')`): the process between the
 * master and the workers. It forks the workers with Node's `cluster` (so they share the
 * port), relays messages both ways, relaunches workers that exit, and restarts them all
 * at once (`killWorkers`) or one at a time (SIGUSR2 on the master). One per process.
 */
import Cluster, { type Worker } from "node:cluster"
import { EventEmitter } from "node:events"
import { InvalidActionError } from "@effect-socketcluster/protocol"
import { errorToWire, inheritedOptions, isMessage } from "./Ipc.js"

let instance: SCWorkerCluster | undefined

type MasterMessage = { readonly type: string; readonly [key: string]: unknown }

export class SCWorkerCluster extends EventEmitter {
  static create(options?: Record<string, unknown>): SCWorkerCluster {
    return new SCWorkerCluster(options)
  }

  /** The live workers, by id. */
  readonly workers: Array<Worker | undefined> = []
  readonly options: Record<string, unknown>
  private readonly ready = new Set<number>()
  private readonly launched = new Set<number>()
  private terminating = false
  private allReadyReported = false

  constructor(ctorOptions: Record<string, unknown> = {}) {
    super()
    if (instance !== undefined) {
      throw new InvalidActionError({
        message: "Attempted to instantiate a worker cluster which has already been instantiated"
      })
    }
    instance = this
    this.options = { ...inheritedOptions(process.env.workerInitOptions), ...ctorOptions }
    if (typeof ctorOptions.run === "function") this.run = ctorOptions.run as () => unknown
    process.on("message", (message: unknown) => {
      if (isMessage(message)) this.onMasterMessage(message)
    })
    process.on("disconnect", () => this.shutdown(true))
    process.on("uncaughtException", (error) => {
      this.toMaster({ type: "error", error: errorToWire(error), origin: "WorkerCluster", pid: process.pid })
      process.exit(1)
    })
    queueMicrotask(() => this.boot())
  }

  /** Hook called after the workers are forked, before they are ready. */
  run(): unknown {
    return undefined
  }

  private get count(): number {
    return Number(this.options.workerCount ?? 1)
  }

  private toMaster(message: Record<string, unknown>): void {
    if (process.connected) process.send?.(message)
  }

  private boot(): void {
    const paths = (this.options.paths ?? {}) as Record<string, unknown>
    const policy = this.options.schedulingPolicy
    if (policy === "rr" || policy === Cluster.SCHED_RR) Cluster.schedulingPolicy = Cluster.SCHED_RR
    else if (policy === "none" || policy === Cluster.SCHED_NONE) Cluster.schedulingPolicy = Cluster.SCHED_NONE
    Cluster.setupPrimary({ exec: String(paths.appWorkerControllerPath), execArgv: process.execArgv })
    for (let id = 0; id < this.count; id++) this.launch(id)
    void Promise.resolve(this.run())
  }

  private launch(id: number): void {
    const respawn = this.launched.has(id)
    this.launched.add(id)
    const worker = Cluster.fork({ workerInitOptions: JSON.stringify({ ...this.options, id }) })
    this.workers[id] = worker
    worker.on("message", (message: unknown) => {
      if (!isMessage(message)) return
      if (message.type === "workerReady") {
        this.ready.add(id)
        this.toMaster({ type: "workerStart", id, pid: worker.process.pid, respawn })
        this.emit("workerReady", id)
        if (this.ready.size === this.count && !this.allReadyReported) {
          this.allReadyReported = true
          this.toMaster({ type: "workerClusterReady", pid: process.pid })
        }
      } else if (message.type === "error" || message.type === "warning") {
        this.toMaster({ ...message, origin: "Worker", workerId: id })
      } else this.toMaster({ ...message, workerId: id })
    })
    worker.on("exit", (code, signal) => {
      if (this.workers[id] === worker) this.workers[id] = undefined
      this.ready.delete(id)
      this.allReadyReported = this.ready.size === this.count
      if (!this.terminating) this.toMaster({ type: "workerExit", id, pid: worker.process.pid, code, signal })
      this.emit("workerExit", id)
      if (!this.terminating && this.options.rebootWorkerOnCrash !== false) this.launch(id)
      else if (this.terminating && this.workers.every((w) => w === undefined)) process.exit()
    })
  }

  private onMasterMessage(message: MasterMessage): void {
    if (message.type === "masterMessage" || message.type === "response") {
      const id = Number(message.workerId)
      const worker = this.workers[id]
      if (worker?.isConnected()) worker.send(message)
      else if (message.type === "masterMessage") {
        const error = new InvalidActionError({
          message: `Cannot send message to worker with id ${id} because the worker does not exist`
        })
        this.toMaster({ type: "error", error: errorToWire(error), origin: "WorkerCluster", pid: process.pid })
        if (typeof message.cid === "number") {
          this.toMaster({ type: "response", rid: message.cid, workerId: id, error: errorToWire(error), data: null })
        }
      }
    } else if (message.type === "terminate") {
      if (message.killClusterMaster === true) this.shutdown(message.immediate === true)
      else this.terminateWorkers(message.immediate === true)
    } else if (message.type === "rollingRestart") void this.rollingRestart(message.immediate === true)
  }

  private forceKilling = false

  /**
   * Tells every worker to terminate; those that have not exited after `forceKillTimeout`
   * get `forceKillSignal` and a `ProcessExitError` is reported (v14).
   */
  private terminateWorkers(immediate: boolean): void {
    const pending = new Map<number, Worker>()
    this.workers.forEach((worker, id) => {
      if (worker === undefined) return
      pending.set(id, worker)
      worker.once("exit", () => pending.delete(id))
      worker.send({ type: "terminate", immediate })
    })
    if (this.forceKilling) return
    this.forceKilling = true
    const timeout = Number(this.options.forceKillTimeout ?? 15000)
    const signal = String(this.options.forceKillSignal ?? "SIGHUP") as NodeJS.Signals
    setTimeout(() => {
      this.forceKilling = false
      for (const [id, worker] of pending) {
        const pid = worker.process.pid
        worker.process.kill(signal)
        const error = Object.assign(
          new Error(
            `No exit signal was received by worker with id ${id} (PID: ${pid}) before forceKillTimeout of ${timeout} ms was reached - As a result, kill signal ${signal} was sent to worker`
          ),
          { name: "ProcessExitError" }
        )
        this.toMaster({ type: "error", error: errorToWire(error), origin: "WorkerCluster", pid: process.pid })
      }
    }, timeout).unref()
  }

  private rolling = false

  /** Restarts the workers one at a time: the next goes only when the previous one's replacement is ready. */
  private async rollingRestart(immediate: boolean): Promise<void> {
    if (this.rolling) return
    this.rolling = true
    for (let id = 0; id < this.count; id++) {
      const worker = this.workers[id]
      if (worker === undefined) continue
      const replaced = new Promise<void>((resolve) => {
        const onReady = (readyId: number) => {
          if (readyId !== id) return
          this.off("workerReady", onReady)
          resolve()
        }
        this.on("workerReady", onReady)
      })
      worker.send({ type: "terminate", immediate })
      await replaced
    }
    this.rolling = false
  }

  private shutdown(immediate: boolean): void {
    if (this.terminating) return
    this.terminating = true
    setTimeout(() => process.exit(), Number(this.options.processTermTimeout ?? 10000)).unref()
    const live = this.workers.filter((w): w is Worker => w !== undefined)
    if (live.length === 0) process.exit()
    for (const worker of live) {
      if (worker.isConnected()) worker.send({ type: "terminate", immediate })
      else worker.kill()
    }
  }
}
