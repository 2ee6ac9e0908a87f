/**
 * The running server behind the `SCServer` service: its state (sockets, counters, handlers,
 * middleware, codec) and the host every `ServerSocket` talks to. `SCServer` builds it.
 */

import type * as Http from "node:http"
import type { Duplex } from "node:stream"
import type { BrokerError, CodecEngine, InvalidArgumentsError } from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type * as Stream from "effect/Stream"
import type { AuthEngine } from "./AuthEngine.js"
import type { BrokerShape } from "./Broker.js"
import { ChannelRegistry } from "./ChannelRegistry.js"
import type { DataStoreShape } from "./DataStore.js"
import { EventHub } from "./EventHub.js"
import { relay, type ServerEvent, type SocketEvent } from "./Events.js"
import { Exchange } from "./Exchange.js"
import { isFinished } from "./Finished.js"
import { type Middleware, type MiddlewareType, withMiddlewareType } from "./Middleware.js"
import { MiddlewarePipeline } from "./MiddlewarePipeline.js"
import type { ServerOptions } from "./Options.js"
import type { OwnedWebSocket, OwnedWebSocketServer } from "./OwnedWebSocket.js"
import type { RecoverRequest, RecoveryAck } from "./Recovery.js"
import { type EventHandler, upgradeRequest } from "./SCSocket.js"
import { DuplicateHandlerError } from "./ServerErrors.js"
import { ServerSocket } from "./ServerSocket.js"
import { type ServerCounters, type SocketHost, zeroCounters } from "./SocketCore.js"
import { generateId } from "./SocketId.js"
import * as Tracing from "./Tracing.js"
import { UpgradeAdmission } from "./UpgradeAdmission.js"

/**
 * The running server. Its state is readable synchronously (as in v14) and its actions
 * are Effects.
 */
export class SCServerCore implements SocketHost {
  readonly pipeline: MiddlewarePipeline
  readonly exchange: Exchange
  readonly hub: EventHub<ServerEvent> = new EventHub((error) => this.listenerThrew(error))
  readonly counters: ServerCounters = zeroCounters()
  /** Sockets that completed the handshake, by id. */
  readonly clients = new Map<string, ServerSocket>()
  /** Sockets still in the handshake, by id. */
  readonly pendingClients = new Map<string, ServerSocket>()
  readonly secure: boolean
  /** Overridable id generator (v14 `generateId`). */
  generateId: () => string = generateId
  readonly registry: ChannelRegistry
  readonly handshakePermits: { readonly withPermit: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> }

  private currentCodec: CodecEngine
  private readonly handlers = new Map<string, EventHandler>()
  private uncorkQueue: Array<ServerSocket> = []
  private uncorkScheduled = false
  private readonly admission: UpgradeAdmission
  private ready = false

  constructor(
    readonly options: ServerOptions,
    readonly auth: AuthEngine["Service"],
    readonly broker: BrokerShape,
    codec: CodecEngine,
    private readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>,
    readonly wss: OwnedWebSocketServer,
    /** The Node HTTP server whose upgrades this server handles; undefined when routed by an Effect HTTP app. */
    readonly httpServer: Http.Server | undefined,
    handshakeSemaphore: Semaphore.Semaphore,
    data: DataStoreShape,
    /** A tracer is installed: handshakes, middleware, procedures and publishes get spans (see `Tracing`). */
    readonly tracing = false,
    /** The port of the Effect HTTP server upgrades come through (no `httpServer` of its own). */
    private readonly appPort: number | undefined = undefined
  ) {
    this.currentCodec = codec
    this.secure = httpServer !== undefined && "setSecureContext" in httpServer
    this.admission = new UpgradeAdmission(this)
    this.pipeline = new MiddlewarePipeline(
      (type, cause) => this.defect(`${type} middleware`, cause),
      (blocked) => {
        if (this.options.middlewareEmitWarnings) this.warn(blocked.error)
      },
      tracing
    )
    this.registry = new ChannelRegistry(
      broker,
      () => this.currentCodec,
      this.fork,
      (error) => this.warn(error)
    )
    this.exchange = new Exchange({
      publish: (channel, data) => this.publish(channel, data),
      addInterest: (channel) => this.registry.addInterest(channel),
      removeInterest: (channel) => this.registry.removeInterest(channel),
      watch: (channel, watcher) => this.registry.watch(channel, watcher),
      data
    })
    this.handshakePermits = { withPermit: (effect) => Semaphore.withPermits(handshakeSemaphore, 1)(effect) }
  }

  /** `true` after `Ready`, `false` after `close`. */
  get isReady(): boolean {
    return this.ready
  }
  /** The port the HTTP server is bound to (undefined while it is not listening, or when the app's server is unknown). */
  get sourcePort(): number | undefined {
    const address = this.httpServer?.address()
    return address !== null && typeof address === "object" ? address.port : this.appPort
  }
  /** The address the HTTP server is bound to (undefined while it is not listening, or when routed by an Effect HTTP app). */
  get host(): string | undefined {
    const address = this.httpServer?.address()
    return address !== null && typeof address === "object" ? address.address : undefined
  }
  get clientsCount(): number {
    return this.clients.size
  }
  get pendingClientsCount(): number {
    return this.pendingClients.size
  }
  get ackTimeout(): number {
    return this.options.ackTimeout
  }

  /**
   * Every server event as a stream (sliding buffer per consumer; see `EventHub`). A
   * stream started while the server is ready begins with `Ready`; every stream completes
   * when the server's scope closes.
   */
  get events(): Stream.Stream<ServerEvent> {
    return this.hub.stream(this.readyNow)
  }
  private readonly readyNow = (): ReadonlyArray<ServerEvent> => (this.ready ? readyEvents : [])

  /** The normalised endpoint path, e.g. `/socketcluster/`. */
  getPath(): string {
    return this.options.path
  }

  // SocketHost --------------------------------------------------------------------

  codec(): CodecEngine {
    return this.currentCodec
  }
  runFork<A, E>(effect: Effect.Effect<A, E>) {
    return this.fork(effect)
  }
  relay(socket: ServerSocket, event: SocketEvent): void {
    relay(this.hub, socket, event)
  }
  warn(error: unknown): void {
    this.hub.emit({ _tag: "Warning", error })
  }
  private reportingListener = false
  /** A server or socket event listener threw: logged and warned (once: a throwing `Warning` listener does not loop). */
  readonly listenerThrew = (error: unknown): void => {
    this.fork(Effect.logError("An event listener threw", Cause.die(error)))
    if (this.reportingListener) return
    this.reportingListener = true
    try {
      this.warn(error)
    } finally {
      this.reportingListener = false
    }
  }
  defect(where: string, cause: Cause.Cause<unknown>): void {
    this.warn(Cause.squash(cause))
    this.fork(Effect.logError(`Defect in ${where}`, cause))
  }
  findHandler(event: string): EventHandler | undefined {
    return this.handlers.get(event)
  }
  socketOpened(socket: ServerSocket): void {
    this.pendingClients.delete(socket.id)
    this.clients.set(socket.id, socket)
  }
  socketClosed(socket: ServerSocket, wasOpen: boolean): void {
    if (wasOpen) this.clients.delete(socket.id)
    else this.pendingClients.delete(socket.id)
  }
  subscribe(
    socket: ServerSocket,
    channel: string,
    recover?: RecoverRequest
  ): Effect.Effect<RecoveryAck | undefined, BrokerError> {
    if (recover !== undefined) return this.registry.addRecoveringSocket(socket, channel, recover)
    const added = this.registry.addSocketNow(socket, channel)
    if (!isFinished(added)) return Effect.as(added, undefined)
    return Exit.isSuccess(added) ? Exit.succeed(undefined) : Exit.failCause(added.cause)
  }
  channelsOf(socket: ServerSocket): ReadonlySet<string> {
    return this.registry.channelsOf(socket)
  }
  unsubscribe(socket: ServerSocket, channel: string): void {
    this.registry.removeSocket(socket, channel)
  }
  publishNow(channel: string, data: unknown): boolean {
    if (this.broker.immediate === undefined || this.tracing) return false
    this.broker.immediate.publish(channel, data)
    return true
  }
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError> {
    const publish = this.broker.publish(channel, data)
    return this.tracing ? Tracing.span(true, "sc.publish", () => ({ "sc.channel": channel }), publish) : publish
  }
  droppedPublication(): void {
    this.counters.droppedPublications++
  }
  slowConsumerDisconnected(): void {
    this.counters.slowConsumerDisconnects++
  }
  scheduleUncork(socket: ServerSocket): void {
    this.uncorkQueue.push(socket)
    if (this.uncorkScheduled) return
    this.uncorkScheduled = true
    // After the current event-loop turn's microtasks: every frame written in this turn goes out in one write.
    setImmediate(this.uncorkAll)
  }
  private readonly uncorkAll = (): void => {
    this.uncorkScheduled = false
    const queue = this.uncorkQueue
    this.uncorkQueue = []
    for (const socket of queue) socket.flush()
  }

  /**
   * Pings, pong timeouts and handshake timeouts of every socket, in one fiber: a sweep
   * every `tick` ms costs a few comparisons per socket, where a timer per socket would
   * cost a fiber and a timer each (memory per idle socket is a headline figure).
   */
  readonly heartbeat: Effect.Effect<never> = Effect.suspend(() => {
    const { pingInterval, pingTimeout, handshakeTimeout } = this.options
    const tick = Math.max(5, Math.min(250, pingInterval / 4, pingTimeout / 10, handshakeTimeout / 4))
    const sweep = Effect.sync(() => {
      const now = Date.now()
      for (const socket of this.pendingClients.values()) socket.heartbeat(now)
      for (const socket of this.clients.values()) socket.heartbeat(now)
    })
    return Effect.forever(Effect.andThen(Effect.sleep(tick), sweep))
  })

  // Public API ----------------------------------------------------------------------

  /** Registers a server-wide Effect handler for inbound `event`s (a socket's own handler wins). */
  handle(event: string, handler: EventHandler): Effect.Effect<void> {
    return Effect.sync(() => {
      this.handlers.set(event, handler)
    })
  }

  /**
   * Registers a server-wide handler for `event` for as long as the scope lives; fails with
   * `DuplicateHandlerError` when the event has one. (`handle` is the unscoped quick form:
   * it replaces.) `Procedures.layer` and `Procedures.handler` build on it.
   */
  register(event: string, handler: EventHandler): Effect.Effect<void, DuplicateHandlerError, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        if (this.handlers.has(event)) return Effect.fail(DuplicateHandlerError.of(event))
        this.handlers.set(event, handler)
        return Effect.void
      }),
      () =>
        Effect.sync(() => {
          if (this.handlers.get(event) === handler) this.handlers.delete(event)
        })
    )
  }

  /** Appends a middleware to the chain of `type` (fails with `InvalidArgumentsError` for an unknown type). */
  addMiddleware<T extends MiddlewareType>(
    type: T,
    middleware: Middleware<T>
  ): Effect.Effect<void, InvalidArgumentsError> {
    return withMiddlewareType(type, () => this.pipeline.add(type, middleware))
  }

  /** Removes every occurrence of `middleware` from the chain of `type`. */
  removeMiddleware<T extends MiddlewareType>(
    type: T,
    middleware: Middleware<T>
  ): Effect.Effect<void, InvalidArgumentsError> {
    return withMiddlewareType(type, () => this.pipeline.remove(type, middleware))
  }

  /** Replaces the codec for every later encode/decode, open sockets included. */
  setCodecEngine(codec: CodecEngine): Effect.Effect<void> {
    return Effect.sync(() => {
      this.currentCodec = codec
    })
  }

  /** @internal Called once the broker is ready: the server is ready (`Ready`). */
  announceReady(): void {
    this.ready = true
    this.hub.emit({ _tag: "Ready" })
  }

  /** Stops accepting upgrades and closes every socket with `code` (default 1001, going away). */
  close(code = 1001): Effect.Effect<void> {
    return Effect.sync(() => this.closeUnsafe(code))
  }

  /** @internal */
  closeUnsafe(code: number): void {
    this.admission.stop()
    this.ready = false
    for (const socket of [...this.pendingClients.values(), ...this.clients.values()]) {
      socket.disconnectUnsafe(code)
    }
  }

  /** Stops accepting new upgrades only; open sockets keep working (v14 `close`). */
  stopAccepting(): void {
    this.admission.stop()
    this.ready = false
  }

  // Transport -----------------------------------------------------------------------

  /** Handles an HTTP upgrade request (`'upgrade'` event of a Node HTTP server). */
  get onUpgrade(): (req: Http.IncomingMessage, socket: Duplex, head: Buffer) => void {
    return this.admission.onUpgrade
  }

  /**
   * @internal Takes an upgrade that is already routed to this server (by the `upgrade`
   * listener's path check, or by an `HttpRouter` route): capacity, origin, handshakeWS.
   */
  admit(req: Http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.admission.admit(req, socket, head)
  }

  connectionCount(): number {
    return this.clients.size + this.pendingClients.size
  }

  connected(ws: OwnedWebSocket, req: Http.IncomingMessage): void {
    const socket = new ServerSocket(this.generateId(), ws, upgradeRequest(req), this)
    this.pendingClients.set(socket.id, socket)
    this.counters.handshakes++
    socket.start()
    this.hub.emit({ _tag: "Handshake", socket })
  }
}

const readyEvents: ReadonlyArray<ServerEvent> = [{ _tag: "Ready" }]
