/**
 * The server side of one SocketCluster connection: its state machine (connecting → open →
 * closed), auth state, channel subscriptions, the path of every inbound packet, and its
 * outbound writer.
 *
 * Inbound: `ws` message → codec decode → `classify` (Schema) → in arrival order, either
 * handled at once (pong, responses, raw) or queued behind the packet being processed, so
 * that asynchronous middleware never reorders a socket's actions.
 * Outbound: every frame goes through `writeFrame`, which coalesces the frames written to
 * one socket within one event-loop turn into one system call (`coalesceWrites`) and
 * applies the slow-consumer policy to publications.
 *
 * Effect code uses the Effect methods (`emit`, `invoke`, `send`, `disconnect`,
 * `setAuthToken`, …); the `…Unsafe` variants are the synchronous core the compat facade
 * builds on.
 */

import type { IncomingHttpHeaders, IncomingMessage } from "node:http"
import type { Socket } from "node:net"
import {
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  BadConnectionError,
  BrokerError,
  type Cid,
  type CodecEngine,
  classify,
  closeFrameReason,
  hydrate,
  type InboundPacket,
  InvalidActionError,
  InvalidArgumentsError,
  InvalidMessageError,
  isIgnoredCloseCode,
  isSendableCloseCode,
  json,
  ResourceLimitError,
  SocketProtocolError,
  socketProtocolErrorMessage,
  TimeoutError
} from "@effect-socketcluster/protocol"
import { Cause, Effect, Exit, type Fiber, Option, type Stream } from "effect"
import type { WebSocket } from "ws"
import type { AuthEngine, SignOptions } from "./AuthEngine.js"
import { isTokenExpired, tokenExpiry } from "./AuthEngine.js"
import { EventHub } from "./EventHub.js"
import type { AuthState, HandshakeStatus, Respond, ServerEvent, SocketEvent } from "./Events.js"
import type { MiddlewareBlocked, MiddlewarePipeline } from "./MiddlewarePipeline.js"
import type { ServerOptions } from "./Options.js"
import { exceedsDepth, tooShortToExceed } from "./PacketDepth.js"
import { decodeRecoverRequest, type RecoverRequest, type RecoveryAck } from "./Recovery.js"
import type { ServerCounters } from "./SCServer.js"
import {
  ClientError,
  type InvokeError,
  invokeFailure,
  type SetAuthTokenError,
  setAuthTokenFailure
} from "./SocketErrors.js"
import * as Tracing from "./Tracing.js"
import * as Dialect from "./WireDialect.js"
import { toWireError } from "./WireError.js"

export type SocketState = "connecting" | "open" | "closed"

/**
 * A text frame already encoded to UTF-8: fan-out encodes a publication once and hands
 * the same bytes to every subscriber, so `ws` does not re-encode the string per socket.
 */
export class EncodedText {
  constructor(readonly bytes: Buffer) {}
}

/**
 * What a socket keeps of its HTTP upgrade request: the parts apps read (url with query,
 * headers, the connection). Not the `IncomingMessage` itself, whose stream state an idle
 * socket would otherwise hold for its whole life.
 */
export interface UpgradeRequest {
  readonly url: string
  readonly method: string
  readonly httpVersion: string
  readonly headers: IncomingHttpHeaders
  readonly socket: Socket
  /** Alias of `socket` (v14 apps read `request.connection.remoteAddress`). */
  readonly connection: Socket
}

/** The `UpgradeRequest` view of a Node upgrade request. */
export const upgradeRequest = (req: IncomingMessage): UpgradeRequest => ({
  url: req.url ?? "/",
  method: req.method ?? "GET",
  httpVersion: req.httpVersion,
  headers: req.headers,
  socket: req.socket,
  connection: req.socket
})

/** What the socket writer takes: a text frame, a binary frame, or pre-encoded text. */
export type Frame = string | Uint8Array | EncodedText

const noChannels: ReadonlySet<string> = new Set()

type SubscribePacket = Extract<InboundPacket, { readonly _tag: "Subscribe" }>
const earlySubscribe = "Cannot subscribe socket to a channel before it has completed the handshake"

const TEXT = { binary: false } as const
const BINARY = { binary: true } as const

/** An Effect-native handler for an inbound event; its success is the ack data, its failure the ack error. */
export type EventHandler = (data: unknown, socket: SCSocket) => Effect.Effect<unknown, unknown>

/** What a socket needs from its server (implemented by `SCServer`). */
export interface SocketHost {
  readonly options: ServerOptions
  readonly pipeline: MiddlewarePipeline
  readonly auth: AuthEngine["Service"]
  /** Traffic counters (metrics). */
  readonly counters: ServerCounters
  codec(): CodecEngine
  runFork<A, E>(effect: Effect.Effect<A, E>): Fiber.Fiber<A, E>
  emitServerEvent(event: ServerEvent): void
  /** The server's events (a socket checks `active` before building an event nobody hears). */
  readonly hub: { readonly active: boolean }
  warn(error: unknown): void
  /** Reports what a throwing event listener threw. */
  readonly listenerThrew: (error: unknown) => void
  /** Reports a bug in user code (a handler's or middleware's defect): logged and warned, never sent. */
  defect(where: string, cause: Cause.Cause<unknown>): void
  findHandler(event: string): EventHandler | undefined
  /** connecting → open bookkeeping. */
  socketOpened(socket: SCSocket): void
  /** Removes the socket from `clients`/`pendingClients`. */
  socketClosed(socket: SCSocket, wasOpen: boolean): void
  /**
   * Records a subscription locally and makes sure the broker carries the channel; with a
   * recovery request, also replays what the socket missed and resolves with the answer's data.
   */
  subscribe(
    socket: SCSocket,
    channel: string,
    recover?: RecoverRequest
  ): Effect.Effect<RecoveryAck | undefined, BrokerError>
  /** Removes a subscription locally at once (deliveries stop now); the broker catches up later. */
  unsubscribe(socket: SCSocket, channel: string): void
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError>
  scheduleUncork(socket: SCSocket): void
  /** Counts a publication dropped for a slow consumer. */
  droppedPublication(socket: SCSocket): void
  /** Counts a socket closed with 4010 for not reading. */
  slowConsumerDisconnected(socket: SCSocket): void
  /** True when a tracer is installed: spans and log annotations are made (see `Tracing`). */
  readonly tracing: boolean
  readonly handshakePermits: { readonly withPermit: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E> }
}

/** Close code for a socket disconnected by the `disconnect` slow-consumer policy. */
export const SLOW_CONSUMER_CLOSE_CODE = 4010

// Names a client may not use for events (v14's local event list): they are ignored.
const localEvents = new Set([
  "connect",
  "disconnect",
  "connectAbort",
  "close",
  "message",
  "error",
  "raw",
  "subscribe",
  "unsubscribe",
  "authenticate",
  "deauthenticate",
  "authStateChange",
  "authTokenSigned",
  "badAuthToken",
  "_connect",
  "_disconnect",
  "_connectAbort",
  "_close"
])

/** True for names the server refuses to emit and ignores from clients. */
export const isLocalEventName = (event: string): boolean => localEvents.has(event)

interface PendingAck {
  readonly event: string
  readonly data: unknown
  readonly callback: (error: unknown, data: unknown) => void
  readonly timer: ReturnType<typeof setTimeout>
  /**
   * Registered by `invoke`: a client's error answer comes wrapped in `ClientError`, and
   * the socket's close fails it at once. (v14 callbacks wait for their timeout.)
   */
  readonly invoke: boolean
}

const hasCid = (cid: Cid | undefined): cid is Cid => cid !== undefined && cid !== 0 && cid !== ""

/**
 * A server-side SocketCluster socket.
 */
export class SCSocket {
  static readonly CONNECTING = "connecting"
  static readonly OPEN = "open"
  static readonly CLOSED = "closed"
  static readonly AUTHENTICATED = "authenticated"
  static readonly UNAUTHENTICATED = "unauthenticated"

  /** Current connection state. */
  state: SocketState = "connecting"
  authState: AuthState = "unauthenticated"
  /** The decoded auth token payload, or null. */
  authToken: unknown = null
  /** The JWT the client holds, or null. */
  signedAuthToken: string | null = null
  // Allocated on first use, like the other per-socket collections: memory per idle
  // socket is a headline figure (most sockets of a big server never use most of them).
  private channelSet: Set<string> | undefined
  /** Per-socket event handlers (take precedence over the server's); allocated on first use. */
  private handlers: Map<string, EventHandler> | undefined
  /** Inbound bytes (text frames counted as UTF-8 length). */
  bytesReceived = 0

  /** The socket's own events (synchronous listeners; `events` is the Stream view). */
  readonly hub: EventHub<SocketEvent>
  /** @internal set by the transport. */
  corked = false

  private cid = 1
  private pendingAcks: Map<number, PendingAck> | undefined
  private pendingInboundRpcs = 0
  private publishesInFlight = 0
  private readonly openedAt = Date.now()
  private lastSeen = this.openedAt
  private nextPing: number
  private handshakeReceived = false
  private busy = false
  private inbox: Array<InboundPacket> | undefined
  private holds = 0
  private held: Array<Frame> | undefined
  private batch: Array<object> | undefined
  private publishOutChain:
    | Array<{
        readonly channel: string
        readonly data: unknown
        readonly frame: () => Frame | undefined
      }>
    | undefined
  private publishOutBusy = false
  private dialect: Dialect.WireDialect

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    /** The HTTP upgrade request (headers, url with query, connection). */
    readonly request: UpgradeRequest,
    private readonly host: SocketHost
  ) {
    this.hub = new EventHub(host.listenerThrew)
    // The first ping comes after a random 50–100 % of pingInterval: sockets that connected
    // together (a reconnect storm) would otherwise be pinged, and pong, in one burst
    // every interval forever.
    this.nextPing = this.openedAt + Math.round(host.options.pingInterval * (0.5 + 0.5 * Math.random()))
    this.dialect = Dialect.initialDialect(host.options.protocolVersion, request.url, host.codec() === json)
  }

  /** The connection's SocketCluster protocol (1: client 14, 2: clients 15–20), or null until detected; never changes once set. */
  get protocolVersion(): Dialect.ProtocolVersion | null {
    return this.dialect.version
  }

  get remoteAddress(): string | undefined {
    return this.request.socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.request.socket.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.request.socket.remoteFamily
  }

  /** Channels this socket is subscribed to, in subscription order. */
  get channels(): ReadonlySet<string> {
    return this.channelSet ?? noChannels
  }

  private addChannel(channel: string): void {
    if (this.channelSet === undefined) this.channelSet = new Set()
    this.channelSet.add(channel)
  }

  private removeChannel(channel: string): boolean {
    return this.channelSet?.delete(channel) ?? false
  }

  getState(): SocketState {
    return this.state
  }
  /** Reads the state afresh (TypeScript narrows `state` across awaits). */
  isClosed(): boolean {
    return this.state === "closed"
  }
  getAuthToken(): unknown {
    return this.authToken
  }
  subscriptions(): ReadonlyArray<string> {
    return Array.from(this.channels)
  }
  isSubscribed(channel: string): boolean {
    return this.channels.has(channel)
  }

  /** Every socket event, as a stream (see `EventHub` for the buffering policy); it completes after `Close`. */
  get events(): Stream.Stream<SocketEvent> {
    return this.hub.stream()
  }

  // ---------------------------------------------------------------------------
  // Lifecycle

  /** @internal called by the transport once the WebSocket is open. */
  start(): void {
    this.ws.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary))
    this.ws.on("close", (code: number, reason: Buffer) => {
      // A client that hangs up after its pong deadline timed out: v14's per-socket timer
      // would already have fired, the sweep only notices at its next tick.
      if (this.pongOverdue(Date.now())) return this.closeUnsafe(4001, undefined, false)
      this.closeUnsafe(
        code === 1005 && this.state !== "closed" ? 1005 : code,
        reason.length > 0 ? reason.toString() : undefined,
        false
      )
    })
    this.ws.on("error", (error: Error) => {
      this.emitError(error)
    })
  }

  /**
   * @internal Called by the server's heartbeat sweep (one fiber per server, not one per
   * socket): sends a due ping and enforces the handshake and pong timeouts.
   */
  heartbeat(now: number): void {
    if (this.state === "closed") return
    const { pingInterval, pingTimeout, pingTimeoutDisabled, handshakeTimeout } = this.host.options
    if (!this.handshakeReceived && now >= this.openedAt + handshakeTimeout) {
      this.disconnectUnsafe(4005)
      return
    }
    if (pingTimeoutDisabled) return
    if (now >= this.lastSeen + pingTimeout) {
      this.closeUnsafe(4001, undefined, true)
      return
    }
    if (now >= this.nextPing) {
      this.nextPing = now + pingInterval
      this.ping()
    }
  }

  // One ping tick (or the probe after the handshake): the ping(s) of the dialect, each a
  // frame of its own, never batched.
  private ping(): void {
    const atTick = this.dialect.atTick
    if (atTick !== undefined) this.setDialect(atTick)
    const dialect = this.dialect
    if (dialect.pingV1) {
      const ping = this.encode("#1")
      if (ping !== undefined) this.writeFrame(ping)
    }
    if (dialect.pingV2) this.writeFrame("")
    if (dialect.afterPing !== undefined) this.setDialect(dialect.afterPing)
  }

  private setDialect(next: Dialect.WireDialect): void {
    const known = this.dialect.version !== null
    this.dialect = next
    if (!known && next.version !== null && this.hub.active) {
      this.hub.emit({ _tag: "ProtocolVersion", version: next.version })
    }
  }

  // A pong of either protocol: the first one fixes an unknown socket's protocol.
  private pong(version: Dialect.ProtocolVersion): void {
    if (this.state === "connecting" && !this.handshakeReceived && this.host.options.strictHandshake) {
      this.closeUnsafe(4009, undefined, true)
      return
    }
    if (this.dialect.version === null) this.setDialect(Dialect.afterPong(this.dialect, version))
    this.checkExpiry()
  }

  private pongOverdue(now: number): boolean {
    const { pingTimeout, pingTimeoutDisabled } = this.host.options
    return !pingTimeoutDisabled && this.state !== "closed" && now >= this.lastSeen + pingTimeout
  }

  /**
   * Closes the socket: the close sequence of v14 (protocol §11.3) runs once.
   * @param closeWs whether to close the WebSocket with `code` (false when it is already closed)
   */
  closeUnsafe(code: number, data: unknown, closeWs: boolean): void {
    if (this.state === "closed") return
    const wasOpen = this.state === "open"
    this.state = "closed"
    this.host.socketClosed(this, wasOpen)
    if (wasOpen) {
      for (const channel of Array.from(this.channels)) {
        this.removeChannel(channel)
        this.host.unsubscribe(this, channel)
        this.hub.emit({ _tag: "Unsubscribe", channel })
        this.host.emitServerEvent({ _tag: "Unsubscription", socket: this, channel })
      }
      this.host.emitServerEvent({ _tag: "Disconnection", socket: this, code, data })
      this.host.emitServerEvent({ _tag: "Closure", socket: this, code, data })
      this.hub.emit({ _tag: "Disconnect", code, data })
    } else {
      for (const channel of Array.from(this.channels)) this.host.unsubscribe(this, channel)
      this.channelSet = undefined
      this.host.emitServerEvent({ _tag: "ConnectionAbort", socket: this, code, data })
      this.host.emitServerEvent({ _tag: "Closure", socket: this, code, data })
      this.hub.emit({ _tag: "ConnectAbort", code, data })
    }
    this.hub.emit({ _tag: "Close", code, data })
    // Only built when somebody listens: a mass disconnect would otherwise pay for an Error
    // (and its stack trace) per socket for nobody.
    if (!isIgnoredCloseCode(code) && (this.hub.active || this.host.hub.active)) {
      this.emitError(new SocketProtocolError({ message: socketProtocolErrorMessage(code, data), code }))
    }
    this.hub.endStreams()
    this.abortInvokes(wasOpen ? "disconnect" : "connectAbort")
    this.inbox = undefined
    this.publishOutChain = undefined
    if (closeWs) {
      const wsCode = isSendableCloseCode(code) ? code : 1000
      try {
        this.ws.close(wsCode, this.dialect.closeReason ? closeFrameReason(data) : undefined)
      } catch {
        this.ws.terminate()
      }
    }
  }

  /** Sends `#disconnect` and closes with `code` (default 1000). */
  disconnectUnsafe(code: unknown = 1000, data?: unknown): void {
    if (this.state === "closed") return
    let closeCode = code
    if (typeof code !== "number") {
      this.emitError(new InvalidArgumentsError({ message: "If specified, the code argument must be a number" }))
      closeCode = 1000
    }
    if (this.dialect.disconnectPacket) {
      const packet: { code: unknown; data?: unknown } = { code: closeCode }
      if (data !== undefined) packet.data = data
      this.sendObject({ event: "#disconnect", data: packet })
    }
    this.flush()
    this.closeUnsafe(closeCode as number, data, true)
  }

  /** Drops the TCP connection at once; the close sequence runs with 1006. */
  terminateUnsafe(): void {
    this.ws.terminate()
  }

  // ---------------------------------------------------------------------------
  // Inbound

  private onMessage(raw: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now()
    this.bytesReceived += raw.length
    this.host.counters.messagesIn++
    this.host.counters.bytesIn += raw.length
    const message: string | Buffer = isBinary ? raw : raw.toString()
    // The answer to the detection probe is the server's own traffic: a v14 server sent no
    // ping right after the handshake, so its apps never saw such a frame in `message`.
    const probeAnswer =
      this.dialect.version === null && !isBinary && raw.length <= 2 && Dialect.rawPong(this.dialect, raw) !== 0
    if (this.hub.active && !probeAnswer) this.hub.emit({ _tag: "Message", message })
    if (this.state === "closed") return
    if (!isBinary && raw.length <= 2) {
      const pong = Dialect.rawPong(this.dialect, raw)
      if (pong !== 0) return this.pong(pong)
    }
    let decoded: unknown
    try {
      decoded = this.host.codec().decode(message)
    } catch (cause) {
      const error =
        cause instanceof Error && cause.name !== "Error"
          ? cause
          : new InvalidMessageError({ message: cause instanceof Error ? cause.message : String(cause) })
      this.emitError(error)
      if (this.state === "connecting" && this.host.options.strictHandshake) this.closeUnsafe(4009, undefined, true)
      return
    }
    if (typeof decoded === "object" && decoded !== null) {
      const limit = this.host.options.maxPacketDepth
      const short = typeof message === "string" && this.host.codec() === json && tooShortToExceed(message, limit)
      if (!short && exceedsDepth(decoded, limit)) return this.refuseTooDeep(decoded, limit)
    }
    const classified = classify(decoded)
    if (Array.isArray(classified)) {
      for (const packet of classified) this.accept(packet as InboundPacket, message)
    } else {
      this.accept(classified as InboundPacket, message)
    }
  }

  // A frame nested deeper than maxPacketDepth is not processed: the socket gets an error
  // event and each request in it (read from the top level only) an error answer.
  private refuseTooDeep(decoded: object, limit: number): void {
    const error = new InvalidMessageError({ message: `Packet nested deeper than ${limit} levels (maxPacketDepth)` })
    this.emitError(error)
    if (this.state === "connecting" && this.host.options.strictHandshake) {
      this.closeUnsafe(4009, undefined, true)
      return
    }
    const requests: ReadonlyArray<unknown> = Array.isArray(decoded) ? decoded : [decoded]
    for (const request of requests) {
      if (typeof request !== "object" || request === null || Array.isArray(request)) continue
      const { event, cid } = request as { readonly event?: unknown; readonly cid?: unknown }
      if (typeof event === "string" && (typeof cid === "number" || typeof cid === "string")) {
        this.respond(cid, error, undefined)
      }
    }
  }

  private accept(packet: InboundPacket, message: string | Buffer): void {
    if (this.state === "closed") return
    if (this.state === "connecting" && packet._tag !== "Handshake") {
      // 14.7 strictHandshake: anything but the handshake while connecting closes with 4009,
      // also after #handshake arrived (B130), except a pong then (protocol-v2 §3.2 step 4).
      if (this.host.options.strictHandshake && !(packet._tag === "Pong" && this.handshakeReceived)) {
        this.closeUnsafe(4009, undefined, true)
        return
      }
      // Without it, a subscribe that arrives before the handshake completed is refused now,
      // not queued behind the handshake (B130, 14.3.1).
      if (packet._tag === "Subscribe")
        return this.refuseSubscribe(packet, new InvalidActionError({ message: earlySubscribe }))
    }
    switch (packet._tag) {
      case "Pong":
        return this.pong(1)
      case "Response":
        return this.onResponse(packet.rid, packet.error, packet.data)
      case "Raw":
        this.hub.emit({ _tag: "Raw", message })
        return
      case "Disconnect": {
        const code = typeof packet.code === "number" ? packet.code : 1005
        this.closeUnsafe(code, packet.data, true)
        return
      }
    }
    if (this.busy) {
      if (this.inbox === undefined) this.inbox = []
      this.inbox.push(packet)
      // Back-pressure instead of an unbounded queue: stop reading from TCP until it drains.
      if (this.inbox.length >= this.host.options.maxQueuedInboundPackets && !this.ws.isPaused) this.ws.pause()
      return
    }
    this.process(packet)
  }

  // Runs one packet. Synchronous outcomes finish here; an asynchronous one marks the
  // socket busy until it completes, and the packets that arrive meanwhile wait in `inbox`.
  private process(packet: InboundPacket): void {
    const effect = this.packetEffect(packet)
    if (effect === undefined) return
    this.busy = true
    const fiber = this.host.runFork(effect)
    fiber.addObserver(() => {
      this.busy = false
      this.drain()
    })
  }

  private drain(): void {
    while (!this.busy && this.inbox !== undefined && this.inbox.length > 0 && this.state !== "closed") {
      this.process(this.inbox.shift()!)
    }
    const queued = this.inbox?.length ?? 0
    if (queued === 0) this.inbox = undefined
    if (this.ws.isPaused && queued <= this.host.options.maxQueuedInboundPackets >> 1) this.ws.resume()
  }

  /** The work for one packet, or undefined when it was handled synchronously. */
  private packetEffect(packet: InboundPacket): Effect.Effect<void> | undefined {
    if (packet._tag === "Handshake") {
      if (this.handshakeReceived) return undefined
      this.handshakeReceived = true
      if (
        !this.host.pipeline.has("handshakeSC") &&
        (packet.authToken === null || packet.authToken === undefined) &&
        this.host.auth.verifyMissingTokens !== true
      ) {
        // Nothing asynchronous to wait for: complete at once, no fiber.
        this.completeHandshake(packet.cid, undefined, false)
        return undefined
      }
      const handshake = this.handshake(packet.cid, packet.authToken)
      return this.host.handshakePermits.withPermit(
        this.host.tracing
          ? Tracing.span(true, "sc.handshake", () => ({ "sc.socket.id": this.id }), handshake)
          : handshake
      )
    }
    // Before the handshake (only with strictHandshake off) the rest is processed as in
    // 14.3.1; `subscribe` refuses by itself with InvalidActionError.
    const expired = this.checkExpiry()
    switch (packet._tag) {
      case "Authenticate":
        return this.authenticate(packet.cid, packet.token)
      case "RemoveAuthToken":
        this.deauthenticateSelf()
        return undefined
      case "Subscribe":
        return this.subscribe(packet, expired)
      case "Unsubscribe":
        this.unsubscribeRequest(packet.cid, packet.channel)
        return undefined
      case "Publish":
        return this.publish(packet.cid, packet.channel, packet.data, expired)
      case "InvalidPacket":
        this.invalidPacket(packet.event, packet.cid, packet.data)
        return undefined
      case "Event":
        return this.event(packet.event, packet.cid, packet.data, expired)
    }
    return undefined
  }

  private invalidPacket(event: string, cid: Cid | undefined, data: unknown): void {
    const channelOf = (d: unknown): unknown =>
      typeof d === "object" && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>).channel : d
    let error: BrokerError
    if (event === "#subscribe") {
      error = new BrokerError({
        message: `Failed to subscribe socket to the ${String(channelOf(data))} channel - Socket ${this.id} provided an invalid channel name`
      })
    } else if (event === "#unsubscribe") {
      error = new BrokerError({
        message: `Failed to unsubscribe socket from the ${String(data)} channel - Socket ${this.id} tried to unsubscribe from an invalid channel name`
      })
    } else {
      error = new BrokerError({
        message: `Socket ${this.id} tried to publish to an invalid ${String(channelOf(data))} channel`
      })
    }
    this.emitError(error)
    this.respond(cid, error, undefined)
  }

  private onResponse(rid: Cid, error: unknown, data: unknown): void {
    if (typeof rid !== "number") return
    const pending = this.pendingAcks?.get(rid)
    if (pending === undefined) return
    this.pendingAcks!.delete(rid)
    clearTimeout(pending.timer)
    if (error === undefined) return pending.callback(null, data)
    const hydrated = hydrate(error)
    pending.callback(pending.invoke ? ClientError.of(pending.event, hydrated) : hydrated, data)
  }

  // ---------------------------------------------------------------------------
  // Handshake

  private handshake(cid: Cid | undefined, offeredToken: unknown): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const host = this.host
      const blocked = yield* host.pipeline.run("handshakeSC", { socket: this }).pipe(Effect.flip, Effect.option)
      if (blocked._tag === "Some") {
        const b = blocked.value
        if (!b.silent && host.options.middlewareEmitWarnings) host.warn(b.error)
        const code = b.statusCode ?? 4008
        if (hasCid(cid)) {
          const dialect = this.dialect
          const error = toWireError(b.error)
          if (dialect.rejectionStatusCode && typeof error === "object" && error !== null) {
            Reflect.set(error, "statusCode", code)
          }
          this.sendObject(dialect.rejectionDataCode ? { rid: cid, error, data: { code } } : { rid: cid, error })
        }
        this.disconnectUnsafe(code)
        return
      }
      if (this.state === "closed") return
      // 14.7: a token set by handshakeSC middleware replaces the one in the packet.
      let authError: unknown
      let authErrorIsBad = false
      let authenticated = false
      if (this.authState === "authenticated") {
        authenticated = true
      } else if (offeredToken !== null && offeredToken !== undefined) {
        const outcome = yield* this.processToken(offeredToken)
        if (outcome.error !== undefined) {
          authError = outcome.error
          authErrorIsBad = outcome.isBad
          if (outcome.isBad) this.deauthenticateUnsafe()
        } else {
          authenticated = true
        }
      } else if (host.auth.verifyMissingTokens === true) {
        // The token is optional: failing to verify none is no authError.
        authenticated = (yield* this.processToken(null)).error === undefined
      }
      this.completeHandshake(cid, authError, authenticated, authErrorIsBad)
    })
  }

  /** connecting → open: the `connect`/`connection` events, auth events, then the answer (protocol §5 steps 9–12). */
  private completeHandshake(
    cid: Cid | undefined,
    authError: unknown,
    authenticated: boolean,
    authErrorIsBad = false
  ): void {
    if (this.state !== "connecting") return
    const host = this.host
    this.state = "open"
    host.socketOpened(this)
    const status: HandshakeStatus =
      authError === undefined
        ? { id: this.id, pingTimeout: host.options.pingTimeout, isAuthenticated: this.authState === "authenticated" }
        : { id: this.id, pingTimeout: host.options.pingTimeout, authError, isAuthenticated: false }
    // One object for the socket's `connect` and the server's `connection`, as in v14; the
    // client gets its own.
    const shared = { ...status }
    if (this.hub.active) this.hub.emit({ _tag: "Connect", status: shared })
    if (host.hub.active) host.emitServerEvent({ _tag: "Connection", socket: this, status: shared })
    if (authenticated && this.authState === "authenticated") this.triggerAuthEvents("unauthenticated")
    if (hasCid(cid) && this.state === "open") {
      const data: Record<string, unknown> = { id: this.id, pingTimeout: host.options.pingTimeout }
      if (authError !== undefined) data.authError = this.wireAuthError(authError, authErrorIsBad)
      data.isAuthenticated = this.authState === "authenticated"
      this.sendObject({ rid: cid, data })
    }
    // The probe: both pings at once, so an unknown socket is detected in one round trip.
    if (this.dialect.version === null && this.state === "open" && !host.options.pingTimeoutDisabled) this.ping()
  }

  // ---------------------------------------------------------------------------
  // Authentication

  /** Verifies a client-supplied token and runs the authenticate middleware (protocol §7.3). */
  private processToken(token: unknown): Effect.Effect<{ readonly error: unknown; readonly isBad: boolean }> {
    return Effect.gen({ self: this }, function* () {
      const verified = yield* Effect.exit(this.host.auth.verifyToken(token, { socketId: this.id }))
      // A missing token authenticates only with a payload (v14's `if (authToken)`).
      if (Exit.isSuccess(verified) && (token !== null || Boolean(verified.value))) {
        this.signedAuthToken = token as string
        this.authToken = verified.value
        this.authState = "authenticated"
        const blocked = yield* this.host.pipeline
          .run("authenticate", { socket: this, authToken: verified.value })
          .pipe(Effect.flip, Effect.option)
        if (blocked._tag === "None") return { error: undefined, isBad: false }
        const b = blocked.value
        if (!b.silent && this.host.options.middlewareEmitWarnings) this.host.warn(b.error)
        this.authToken = null
        this.authState = "unauthenticated"
        if (b.isBadToken) this.emitBadAuthToken(b.error, token)
        return { error: b.error, isBad: b.isBadToken }
      }
      const failure = Exit.isFailure(verified) ? Cause.findErrorOption(verified.cause) : Option.none()
      const error =
        failure._tag === "Some"
          ? failure.value
          : new AuthTokenInvalidError({ message: "Failed to verify the auth token" })
      this.signedAuthToken = null
      this.authToken = null
      this.authState = "unauthenticated"
      const isBad = !(error instanceof AuthTokenNotBeforeError)
      if (token !== null && token !== undefined) {
        this.emitError(error)
        if (isBad) this.emitBadAuthToken(error, token)
      }
      return { error, isBad }
    })
  }

  // Clients 15–20 read `isBadToken` on auth errors; v14 never sent it.
  private wireAuthError(error: unknown, isBad: boolean): unknown {
    const wire = toWireError(error)
    if (this.dialect.isBadToken && typeof wire === "object" && wire !== null) Reflect.set(wire, "isBadToken", isBad)
    return wire
  }

  private emitBadAuthToken(authError: unknown, signedAuthToken: unknown): void {
    const info = { authError, signedAuthToken }
    this.hub.emit({ _tag: "BadAuthToken", info })
    this.host.emitServerEvent({ _tag: "BadSocketAuthToken", socket: this, info })
  }

  private authenticate(cid: Cid | undefined, token: unknown): Effect.Effect<void> {
    return Effect.gen({ self: this }, function* () {
      const oldState = this.authState
      const outcome = yield* this.processToken(token)
      if (outcome.error === undefined) {
        this.triggerAuthEvents(oldState)
        this.respond(cid, undefined, { isAuthenticated: this.authState === "authenticated", authError: null })
        return
      }
      const authError = this.wireAuthError(outcome.error, outcome.isBad)
      if (outcome.isBad) {
        this.deauthenticateUnsafe()
        if (hasCid(cid)) this.sendObject({ rid: cid, error: authError, data: { isAuthenticated: false, authError } })
      } else if (hasCid(cid)) {
        this.sendObject({ rid: cid, data: { isAuthenticated: false, authError } })
      }
    })
  }

  /** Fires the auth events of a transition from `oldState` into the current (authenticated) state. */
  private triggerAuthEvents(oldState: AuthState): void {
    if (oldState !== this.authState) {
      const change = { oldState, newState: this.authState, authToken: this.authToken }
      this.hub.emit({ _tag: "AuthStateChange", change })
      this.host.emitServerEvent({ _tag: "AuthenticationStateChange", socket: this, change })
    }
    this.hub.emit({ _tag: "Authenticate", authToken: this.authToken })
    this.host.emitServerEvent({ _tag: "Authentication", socket: this, authToken: this.authToken })
  }

  /** Clears the token without telling the client (v14 `deauthenticateSelf`). */
  deauthenticateSelf(): void {
    const oldToken = this.authToken
    const oldState = this.authState
    this.authToken = null
    this.signedAuthToken = null
    this.authState = "unauthenticated"
    if (oldState === "authenticated") {
      const change = { oldState, newState: "unauthenticated" as const }
      this.hub.emit({ _tag: "AuthStateChange", change })
      this.host.emitServerEvent({ _tag: "AuthenticationStateChange", socket: this, change })
    }
    this.hub.emit({ _tag: "Deauthenticate", oldAuthToken: oldToken })
    this.host.emitServerEvent({ _tag: "Deauthentication", socket: this, oldAuthToken: oldToken })
  }

  /** Clears the token and tells the client to drop it (`#removeAuthToken`). */
  deauthenticateUnsafe(callback?: (error: unknown) => void): void {
    this.deauthenticateSelf()
    this.emitUnsafe(
      "#removeAuthToken",
      this.dialect.removeAuthTokenWithNull ? null : undefined,
      callback === undefined ? undefined : (err) => callback(err)
    )
  }

  /** v14's lazy expiry check (protocol §7.6): deauthenticates and returns the error when the token expired. */
  private checkExpiry(): AuthTokenExpiredError | undefined {
    if (this.authToken === null || !isTokenExpired(this.authToken, Date.now())) return undefined
    const expiry = tokenExpiry(this.authToken) ?? 0
    this.deauthenticateUnsafe()
    return new AuthTokenExpiredError({ message: "The socket auth token has expired", expiry })
  }

  /**
   * Signs `data` into a token for this client (protocol §7.2). The socket is
   * authenticated at once; the `#setAuthToken` frame goes out before anything written
   * to this socket after this call, even though signing is asynchronous.
   */
  setAuthTokenUnsafe(
    data: unknown,
    options?: SignOptions & { readonly algorithm?: unknown },
    callback?: (error: unknown) => void,
    onWritten?: (error: unknown) => void
  ): void {
    if (this.state === "closed") {
      const error = new InvalidActionError({ message: "Cannot set the auth token of a closed socket" })
      callback?.(error)
      onWritten?.(error)
      return
    }
    const oldState = this.authState
    const token = structuredCloneSafe(data)
    this.authToken = token
    this.authState = "authenticated"
    let signOptions: SignOptions | undefined = options
    if (options !== undefined && "algorithm" in options) {
      this.emitError(
        new InvalidArgumentsError({
          message: "Cannot change auth token algorithm at runtime - It must be specified as a config option on launch"
        })
      )
      const { algorithm: _, ...rest } = options
      signOptions = rest
    }
    this.holds++
    const fiber = this.host.runFork(this.host.auth.signToken(token, signOptions))
    fiber.addObserver((exit) => {
      this.holds--
      if (Exit.isSuccess(exit)) {
        if (this.authToken === token) {
          this.signedAuthToken = exit.value.token
          this.authToken = exit.value.payload
          this.hub.emit({ _tag: "AuthTokenSigned", signedAuthToken: exit.value.token })
        }
        this.emitUnsafe(
          "#setAuthToken",
          { token: exit.value.token },
          callback === undefined ? undefined : (err) => callback(err)
        )
        this.releaseHeld()
        onWritten?.(undefined)
      } else {
        const failure = Cause.findErrorOption(exit.cause)
        const error = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
        this.releaseHeld()
        this.emitError(error)
        this.closeUnsafe(4002, undefined, true)
        callback?.(error)
        onWritten?.(error)
      }
    })
    this.triggerAuthEvents(oldState)
  }

  // ---------------------------------------------------------------------------
  // Pub/sub (client side of it)

  private answerSubscribe(packet: SubscribePacket, error: unknown, data?: unknown): void {
    if (!hasCid(packet.cid)) return
    const obj: Record<string, unknown> = { rid: packet.cid }
    if (error !== undefined) obj.error = toWireError(error)
    else if (data !== undefined) obj.data = data
    if (packet.batch) this.queueBatch(obj)
    else this.sendObject(obj)
  }

  private refuseSubscribe(packet: SubscribePacket, error: InvalidActionError): void {
    this.host.warn(error)
    this.answerSubscribe(packet, error)
  }

  private subscribe(
    packet: SubscribePacket,
    expired: AuthTokenExpiredError | undefined
  ): Effect.Effect<void> | undefined {
    const host = this.host
    const answer = (error: unknown, data?: unknown) => this.answerSubscribe(packet, error, data)
    if (packet.waitForAuth && expired !== undefined) {
      answer(expired)
      return undefined
    }
    const req = {
      socket: this,
      channel: packet.channel,
      waitForAuth: packet.waitForAuth,
      data: packet.data,
      authTokenExpiredError: expired
    }
    const complete = (): Effect.Effect<void> | undefined => {
      const options: Record<string, unknown> = { ...packet.options, channel: packet.channel }
      if (req.data !== undefined || "data" in packet.options) options.data = req.data
      if (this.state !== "open") {
        this.refuseSubscribe(packet, new InvalidActionError({ message: earlySubscribe }))
        return undefined
      }
      const limit = host.options.socketChannelLimit
      if (limit !== undefined && this.channels.size >= limit) {
        const error = new BrokerError({
          message: `Failed to subscribe socket to the ${packet.channel} channel - Socket ${this.id} tried to exceed the channel subscription limit of ${limit}`
        })
        this.emitError(error)
        answer(error)
        return undefined
      }
      if (packet.channel.length > host.options.maxChannelNameLength) {
        const error = new BrokerError({
          message: `Failed to subscribe socket to the channel - Socket ${this.id} provided a channel name longer than ${host.options.maxChannelNameLength} characters`
        })
        this.emitError(error)
        answer(error)
        return undefined
      }
      this.addChannel(packet.channel)
      return host.subscribe(this, packet.channel, decodeRecoverRequest(req.data)).pipe(
        Effect.matchEffect({
          onFailure: (cause) =>
            Effect.sync(() => {
              this.removeChannel(packet.channel)
              host.unsubscribe(this, packet.channel)
              const error = new BrokerError({
                message: `Failed to subscribe socket to the ${packet.channel} channel - ${cause.message}`
              })
              this.emitError(error)
              answer(error)
            }),
          onSuccess: (recovery) =>
            Effect.sync(() => {
              if (!this.channels.has(packet.channel)) return
              this.hub.emit({ _tag: "Subscribe", channel: packet.channel, options })
              host.emitServerEvent({ _tag: "Subscription", socket: this, channel: packet.channel, options })
              answer(undefined, recovery)
            })
        })
      )
    }
    if (!host.pipeline.has("subscribe")) return complete()
    return host.pipeline.run("subscribe", req).pipe(
      Effect.matchEffect({
        onFailure: (b) =>
          Effect.sync(() => {
            this.warnBlocked(b)
            answer(b.error)
          }),
        onSuccess: () => complete() ?? Effect.void
      })
    )
  }

  private unsubscribeRequest(cid: Cid | undefined, channel: string): void {
    if (!this.channels.has(channel)) {
      const error = new BrokerError({
        message: `Failed to unsubscribe socket from the ${channel} channel - Socket ${this.id} tried to unsubscribe from a channel which it is not subscribed to`
      })
      this.emitError(error)
      this.respond(cid, error, undefined)
      return
    }
    this.removeChannel(channel)
    this.host.unsubscribe(this, channel)
    this.hub.emit({ _tag: "Unsubscribe", channel })
    this.host.emitServerEvent({ _tag: "Unsubscription", socket: this, channel })
    this.respond(cid, undefined, undefined)
  }

  private publish(
    cid: Cid | undefined,
    channel: string,
    data: unknown,
    expired: AuthTokenExpiredError | undefined
  ): Effect.Effect<void> | undefined {
    const host = this.host
    if (!host.options.allowClientPublish) {
      const error = new InvalidActionError({ message: "Client publish feature is disabled" })
      host.warn(error)
      this.respond(cid, error, undefined)
      return undefined
    }
    if (channel.length > host.options.maxChannelNameLength) {
      const error = new BrokerError({
        message: `Socket ${this.id} tried to publish to a channel name longer than ${host.options.maxChannelNameLength} characters`
      })
      host.warn(error)
      this.respond(cid, error, undefined)
      return undefined
    }
    const req = { socket: this, channel, data, ackData: undefined as unknown, authTokenExpiredError: expired }
    const doPublish = Effect.suspend(() => host.publish(channel, req.data)).pipe(
      Effect.matchEffect({
        onFailure: (error) =>
          Effect.sync(() => {
            host.warn(error)
            this.respond(cid, error, req.ackData)
          }),
        onSuccess: () => Effect.sync(() => this.respond(cid, undefined, req.ackData))
      })
    )
    // Handing the message to the broker is what must happen in arrival order; waiting for
    // the broker's confirmation need not hold up this socket's next packets (a remote broker
    // would otherwise cap one socket at one publish per round trip). `runFork` starts the
    // fiber synchronously, so brokers receive publishes in order. Past
    // `maxPendingInboundRpcs` unconfirmed publishes the socket waits again (back-pressure).
    const start = (): Effect.Effect<void> | undefined => {
      if (this.publishesInFlight >= host.options.maxPendingInboundRpcs) return doPublish
      this.publishesInFlight++
      host.runFork(doPublish).addObserver(() => {
        this.publishesInFlight--
      })
      return undefined
    }
    if (!host.pipeline.has("publishIn")) return start()
    return host.pipeline.run("publishIn", req).pipe(
      Effect.matchEffect({
        onFailure: (b) =>
          Effect.sync(() => {
            this.warnBlocked(b)
            this.respond(cid, b.error, req.ackData)
          }),
        onSuccess: () => start() ?? Effect.void
      })
    )
  }

  /** Removes the socket from `channel` (or every channel) and sends `#kickOut`; no unsubscribe events (v14). */
  kickOutUnsafe(channel?: string, message?: unknown): void {
    const channels = channel === undefined ? Array.from(this.channels) : [channel]
    for (const ch of channels) {
      this.removeChannel(ch)
      this.host.unsubscribe(this, ch)
      this.sendObject({ event: "#kickOut", data: { message, channel: ch } })
    }
  }

  /**
   * @internal Delivers a publication. `frame` is the shared, already-encoded
   * `#publish` frame; with publishOut middleware each socket runs its chain first, in
   * publication order.
   */
  deliver(channel: string, data: unknown, frame: () => Frame | undefined): void {
    if (this.state === "closed") return
    if (!this.host.pipeline.has("publishOut")) {
      this.writePublication(frame())
      return
    }
    if (this.publishOutChain === undefined) this.publishOutChain = []
    this.publishOutChain.push({ channel, data, frame })
    if (!this.publishOutBusy) this.runPublishOut()
  }

  private runPublishOut(): void {
    const item = this.publishOutChain?.shift()
    if (item === undefined || this.state === "closed") {
      this.publishOutChain = undefined
      this.publishOutBusy = false
      return
    }
    this.publishOutBusy = true
    const req = { socket: this, channel: item.channel, data: item.data }
    const fiber = this.host.runFork(this.host.pipeline.run("publishOut", req))
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) {
        if (this.isSubscribed(item.channel)) {
          this.writePublication(
            req.data === item.data
              ? item.frame()
              : this.encode({ event: "#publish", data: { channel: item.channel, data: req.data } })
          )
        }
      } else {
        const failure = Cause.findErrorOption(exit.cause)
        if (failure._tag === "Some") this.warnBlocked(failure.value)
      }
      this.runPublishOut()
    })
  }

  private writePublication(frame: Frame | undefined): void {
    if (frame === undefined) return
    if (this.holds > 0 || this.ws.readyState !== 1) return this.writeFrame(frame)
    const buffered = this.ws.bufferedAmount
    if (buffered > this.host.options.outboundHighWaterMark) {
      if (this.host.options.slowConsumerPolicy === "disconnect") {
        // Over maxOutboundBuffer even the #disconnect frame does not fit: drop the connection (counted there).
        if (buffered > this.host.options.maxOutboundBuffer) return this.outboundOverflow()
        this.host.slowConsumerDisconnected(this)
        this.disconnectUnsafe(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: outbound buffer over limit")
      } else {
        this.host.droppedPublication(this)
      }
      return
    }
    // Under the high-water mark, hence under maxOutboundBuffer: straight to the wire.
    this.transmit(frame)
  }

  // ---------------------------------------------------------------------------
  // Events (RPC)

  private event(
    event: string,
    cid: Cid | undefined,
    data: unknown,
    expired: AuthTokenExpiredError | undefined
  ): Effect.Effect<void> | undefined {
    if (localEvents.has(event)) return undefined
    if (event.startsWith("#")) {
      // Other `#` events skip the emit middleware (v14, for both protocols: spec
      // protocol-v2.md §3.5); a listener or handler may answer them (socketcluster-server 14.7.2).
      this.dispatch(event, cid, data)
      return undefined
    }
    if (hasCid(cid) && this.pendingInboundRpcs >= this.host.options.maxPendingInboundRpcs) {
      this.respond(
        cid,
        new ResourceLimitError({
          message: `Too many pending requests (limit ${this.host.options.maxPendingInboundRpcs})`
        }),
        undefined
      )
      return undefined
    }
    if (!this.host.pipeline.has("emit")) {
      this.dispatch(event, cid, data)
      return undefined
    }
    const req = { socket: this, event, data, authTokenExpiredError: expired }
    return this.host.pipeline.run("emit", req).pipe(
      Effect.matchEffect({
        onFailure: (b) =>
          Effect.sync(() => {
            this.warnBlocked(b)
            this.respond(cid, b.error, undefined)
          }),
        onSuccess: () => Effect.sync(() => this.dispatch(event, cid, req.data))
      })
    )
  }

  // Hands an event to its listeners and handler. Handlers run concurrently (one
  // fiber each) so a slow handler does not hold up the socket's later packets.
  private dispatch(event: string, cid: Cid | undefined, data: unknown): void {
    let answered = false
    const respond: Respond = (error, responseData) => {
      if (!hasCid(cid)) return
      if (answered) {
        this.emitError(new InvalidActionError({ message: `Response ${String(cid)} has already been sent` }))
        return
      }
      answered = true
      this.respond(cid, error === null ? undefined : error, responseData)
    }
    if (this.hub.active) this.hub.emit({ _tag: "Event", event, data, respond })
    const handler = this.handlers?.get(event) ?? this.host.findHandler(event)
    if (handler === undefined) return
    if (hasCid(cid)) this.pendingInboundRpcs++
    const run = Effect.suspend(() => handler(data, this))
    const fiber = this.host.runFork(
      this.host.tracing
        ? Tracing.span(true, "sc.procedure", () => ({ "sc.socket.id": this.id, "sc.event": event }), run)
        : run
    )
    fiber.addObserver((exit) => {
      if (hasCid(cid)) this.pendingInboundRpcs--
      if (Exit.isSuccess(exit)) return respond(null, exit.value)
      const failure = Cause.findErrorOption(exit.cause)
      if (failure._tag === "Some") return respond(failure.value)
      if (Cause.hasInterruptsOnly(exit.cause)) return
      this.host.defect(`the ${event} handler`, exit.cause)
      respond(new InvalidActionError({ message: `The ${event} handler failed` }))
    })
  }

  private warnBlocked(b: MiddlewareBlocked): void {
    if (!b.silent && this.host.options.middlewareEmitWarnings) this.host.warn(b.error)
  }

  // ---------------------------------------------------------------------------
  // Outbound

  private respond(cid: Cid | undefined, error: unknown, data: unknown): void {
    if (!hasCid(cid)) return
    const obj: Record<string, unknown> = { rid: cid }
    if (error !== undefined && error !== null) obj.error = toWireError(error)
    if (data !== undefined) obj.data = data
    this.sendObject(obj)
  }

  /**
   * Emits `event` to the client. With a callback a cid is sent and the callback gets the
   * client's answer, or a `TimeoutError` after `ackTimeout`.
   */
  emitUnsafe(
    event: string,
    data: unknown,
    callback?: (error: unknown, data: unknown) => void,
    invoke = false
  ): number | undefined {
    if (localEvents.has(event)) {
      const error = new InvalidActionError({
        message: `The "${event}" event is reserved and cannot be emitted on a server socket`
      })
      if (event !== "error") this.emitError(error)
      callback?.(error, undefined)
      return undefined
    }
    const packet: { event: string; data?: unknown; cid?: number } = { event }
    if (data !== undefined) packet.data = data
    if (callback !== undefined) {
      if (this.pendingAcks === undefined) this.pendingAcks = new Map()
      const pendingAcks = this.pendingAcks
      if (pendingAcks.size >= this.host.options.maxPendingOutboundAcks) {
        callback(
          new ResourceLimitError({
            message: `Too many pending acks (limit ${this.host.options.maxPendingOutboundAcks})`
          }),
          undefined
        )
        return undefined
      }
      const cid = this.cid++
      packet.cid = cid
      const timer = setTimeout(() => {
        pendingAcks.delete(cid)
        this.host.counters.ackTimeouts++
        callback(new TimeoutError({ message: `Event response for '${event}' timed out` }), packet)
      }, this.host.options.ackTimeout)
      pendingAcks.set(cid, { event, data, callback, timer, invoke })
    }
    this.sendObject(packet)
    return packet.cid
  }

  /** Forgets a pending ack (an interrupted `invoke`): its slot and timer are freed. */
  private cancelAck(cid: number): void {
    const pending = this.pendingAcks?.get(cid)
    if (pending === undefined) return
    clearTimeout(pending.timer)
    this.pendingAcks!.delete(cid)
  }

  // A closed socket answers nothing: every pending `invoke` fails now rather than at its timeout.
  private abortInvokes(type: "disconnect" | "connectAbort"): void {
    const pendingAcks = this.pendingAcks
    if (pendingAcks === undefined) return
    for (const [cid, pending] of pendingAcks) {
      if (!pending.invoke) continue
      clearTimeout(pending.timer)
      pendingAcks.delete(cid)
      pending.callback(
        new BadConnectionError({ message: `Event '${pending.event}' was aborted due to a bad connection`, type }),
        undefined
      )
    }
  }

  /** Writes `data` as is (no codec): v14 `send`. */
  sendUnsafe(data: string | Uint8Array): void {
    this.writeFrame(data)
  }

  private encode(obj: unknown): string | Uint8Array | undefined {
    try {
      return this.host.codec().encode(obj)
    } catch (error) {
      this.emitError(error)
      return undefined
    }
  }

  /** Encodes and writes one packet; an encode error is reported on the socket and nothing is sent. */
  sendObject(obj: unknown): void {
    const frame = this.encode(obj)
    if (frame !== undefined) this.writeFrame(frame)
  }

  private queueBatch(obj: object): void {
    if (this.batch === undefined) {
      this.batch = []
      const flush = () => {
        const batch = this.batch
        this.batch = undefined
        if (batch !== undefined && batch.length > 0) this.sendObject(batch)
      }
      const delay = this.host.options.pubSubBatchDuration
      if (delay === null || delay === 0) setImmediate(flush)
      else setTimeout(flush, delay)
    }
    this.batch.push(obj)
  }

  /** Writes one frame, holding it while a `#setAuthToken` is being signed. */
  writeFrame(frame: Frame): void {
    if (this.holds > 0) {
      if (this.held === undefined) this.held = []
      this.held.push(frame)
      return
    }
    const ws = this.ws
    if (ws.readyState !== 1) return
    if (ws.bufferedAmount > this.host.options.maxOutboundBuffer) return this.outboundOverflow()
    this.transmit(frame)
  }

  // The write itself: cork on the first frame of this event-loop turn (coalescing), count, send.
  private transmit(frame: Frame): void {
    const ws = this.ws
    if (this.host.options.coalesceWrites && !this.corked) {
      const raw = (ws as unknown as { readonly _socket?: { cork(): void } })._socket
      if (raw !== undefined) {
        raw.cork()
        this.corked = true
        this.host.scheduleUncork(this)
      }
    }
    const counters = this.host.counters
    counters.messagesOut++
    if (typeof frame === "string") {
      counters.bytesOut += Buffer.byteLength(frame)
      ws.send(frame, TEXT)
    } else if (frame instanceof EncodedText) {
      counters.bytesOut += frame.bytes.length
      ws.send(frame.bytes, TEXT)
    } else {
      counters.bytesOut += frame.byteLength
      ws.send(frame, BINARY)
    }
  }

  // The peer stopped reading and even frames that cannot be dropped (answers, emits) no
  // longer fit: close at once (4010) and drop the connection, because a close frame queued
  // behind the full buffer would keep it alive until ws's 30 s close timeout.
  private outboundOverflow(): void {
    if (this.state === "closed") return
    this.host.slowConsumerDisconnected(this)
    this.closeUnsafe(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: outbound buffer over maxOutboundBuffer", false)
    this.ws.terminate()
  }

  /** @internal flushes corked writes. */
  flush(): void {
    if (!this.corked) return
    this.corked = false
    const raw = (this.ws as unknown as { readonly _socket?: { uncork(): void } })._socket
    raw?.uncork()
  }

  private releaseHeld(): void {
    if (this.holds > 0) return
    const held = this.held
    this.held = undefined
    if (held !== undefined) for (const frame of held) this.writeFrame(frame)
  }

  /** @internal reports an error on the socket (socket `error` + server `warning`). */
  emitError(error: unknown): void {
    this.hub.emit({ _tag: "Error", error })
    this.host.warn(error)
  }

  // ---------------------------------------------------------------------------
  // Effect API

  /** Emits an event without waiting for an answer. */
  emit(event: string, data?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.emitUnsafe(event, data))
  }

  /**
   * Emits an event and waits for the client's answer: `ClientError` when the client
   * answers with an error, `TimeoutError` after `ackTimeout`, `BadConnectionError` at once
   * when the socket closes first. Interrupting it frees its ack slot and timer.
   */
  invoke(event: string, data?: unknown): Effect.Effect<unknown, InvokeError> {
    return Effect.callback<unknown, InvokeError>((resume) => {
      const cid = this.emitUnsafe(
        event,
        data,
        (error, response) => {
          resume(error === null || error === undefined ? Effect.succeed(response) : invokeFailure(error))
        },
        true
      )
      if (cid !== undefined) return Effect.sync(() => this.cancelAck(cid))
    })
  }

  /** Writes a raw frame (no codec). */
  send(data: string | Uint8Array): Effect.Effect<void> {
    return Effect.sync(() => this.sendUnsafe(data))
  }

  /** Sends `#disconnect` and closes with `code` (default 1000). */
  disconnect(code?: number, data?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.disconnectUnsafe(code, data))
  }

  /**
   * Signs `data` into a token for this client; completes once `#setAuthToken` is written.
   * Interrupting it does not undo it: the socket is authenticated at once and the token
   * still goes out once signed.
   */
  setAuthToken(data: unknown, options?: SignOptions): Effect.Effect<void, SetAuthTokenError> {
    return Effect.callback<void, SetAuthTokenError>((resume) => {
      this.setAuthTokenUnsafe(data, options, undefined, (error) => {
        resume(error === undefined ? Effect.void : setAuthTokenFailure(error))
      })
    })
  }

  /** Clears the token and tells the client to drop it. */
  get deauthenticate(): Effect.Effect<void> {
    return Effect.sync(() => this.deauthenticateUnsafe())
  }

  /** Removes the socket from `channel` (or all) and tells the client with `#kickOut`. */
  kickOut(channel?: string, message?: unknown): Effect.Effect<void> {
    return Effect.sync(() => this.kickOutUnsafe(channel, message))
  }

  /** Registers an Effect handler for `event` on this socket only. */
  handle(event: string, handler: EventHandler): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.handlers === undefined) this.handlers = new Map()
      this.handlers.set(event, handler)
    })
  }
}

// v14 deep-clones the token payload; structuredClone refuses functions, so fall back to the value.
const structuredCloneSafe = (value: unknown): unknown => {
  try {
    return structuredClone(value)
  } catch {
    return value
  }
}
